import ArgumentParser
import TokenWatch

struct InitCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "init", abstract: "Create or migrate the database, and create the token key (0600) if missing.")

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
