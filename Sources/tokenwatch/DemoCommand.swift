import ArgumentParser
import Foundation
import TokenWatch
import TokenWatchDemo
import TokenWatchStore

struct DemoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Check sample pages against a simulated Graph API.",
        discussion: """
            Writes a report and .eml digests in its own directory (a new
            temporary one unless --dir is given) and ignores TOKENWATCH_*
            settings. Every part is the production code path: libcurl, the
            verdict rules, SQLite, the report writer and the digest mailer; only
            the Graph API is simulated, in-process on a loopback port.
            """)

    @Option(help: "Work in this directory instead of a new temporary one.") var dir: String?
    @Flag(name: .shortAndLong, help: "Log debug detail.") var verbose = false
    @Flag(name: .shortAndLong, help: "Log warnings and errors only.") var quiet = false

    func run() async throws {
        try await execute {
            ConsoleLogging.bootstrap(format: .text, level: ConsoleLogging.level(verbose: verbose, quiet: quiet))
            let result = try await Demo(logger: .init(label: "tokenwatch.demo")).run(directory: dir)
            let check = result.check
            writeOutput("")
            writeOutput(check.outcome.summary)
            writeOutput("")
            writeOutput("database:  \(result.configuration.databasePath)")
            if let files = check.reportFiles {
                writeOutput("report:    \(files.html)")
                writeOutput("           \(files.csv)")
                if !files.xlsx.isEmpty { writeOutput("           \(files.xlsx)") }
            }
            writeOutput("mail:      \(result.mailDirectory)/ (one .eml per Owner digest)")
            writeOutput("metrics:   \(result.metricsFile)")
            writeOutput("")
            writeOutput("Look around: tokenwatch pages list --db \(result.configuration.databasePath)")
            writeOutput("(from a checkout: swift run tokenwatch pages list --db \(result.configuration.databasePath))")
            // The demo shows a partial run on purpose (a flaky page, a company without Owners):
            // it succeeded when it produced its report.
            return check.reportFiles == nil ? ExitStatus(check.outcome.status) : .ok
        }
    }
}
