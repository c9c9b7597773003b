import ArgumentParser
import TokenWatch

struct InitCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "init", abstract: "Create or migrate the database and the token key.",
        discussion: "The token key file is created 0600 when missing; run twice, init changes nothing.")

    @OptionGroup var global: GlobalOptions

    func run() async throws {
        try await execute {
            let logger = global.makeLogger()
            let configuration = try global.loadConfiguration(logger: logger)
            let result = try await Workspace.initialise(configuration)
            writeOutput(
                result.createdDatabase
                    ? "created database \(configuration.databasePath)"
                    : "database \(configuration.databasePath) is up to date")
            writeOutput(
                result.createdKey
                    ? "created token key \(configuration.keyFile) (mode 0600; back it up)"
                    : "token key \(configuration.keyFile) kept")
            writeOutput("migrations: \(result.migrations.count) applied")
            return .ok
        }
    }
}
