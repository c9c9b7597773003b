import ArgumentParser
import TokenWatchMail
import TokenWatchModel
import TokenWatchStore

@main
struct TokenWatchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tokenwatch",
        abstract: "Watches the Facebook Page access tokens behind Messenger bots.",
        discussion: """
            Checks every stored Page token against the Graph API, records each
            page's status and log, writes timestamped HTML, CSV and xlsx reports,
            and emails each company's Owners when pages become invalid.
            Run `tokenwatch demo` to see it work on sample data.

            Exit codes:
            \(ExitStatus.allCases.map(\.helpLine).joined(separator: "\n"))
            """,
        version: TokenWatchVersion.current,
        subcommands: [
            InitCommand.self, PagesCommand.self, OwnersCommand.self, CheckCommand.self, ReportCommand.self,
            FinishCommand.self, NotifyCommand.self, TemplatesCommand.self, DemoCommand.self,
        ]
    )
}
