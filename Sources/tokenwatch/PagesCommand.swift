import ArgumentParser
import Foundation
import TokenWatch
import TokenWatchMail
import TokenWatchModel
import TokenWatchReports
import TokenWatchStore

struct PagesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pages", abstract: "Import, connect, list, inspect and disconnect Pages.",
        subcommands: [Import.self, Connect.self, List.self, Log.self, Disconnect.self])

    struct Import: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Add or update pages from a CSV file; all rows or none.",
            discussion: """
                The file is comma-separated UTF-8 with the header
                  company,page_id,page_name,access_token
                in any column order. Any bad row fails the whole import (exit 65)
                and every problem is listed with its line.
                """
        )
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The CSV file, or - for standard input.") var file: String

        func run() async throws {
            try await execute {
                let configuration = try global.loadConfiguration(logger: global.makeLogger())
                let workspace = try await Workspace.open(configuration)
                let source = file == "-" ? "stdin" : file
                let summary = try await Self.importStreaming(file, source: source, into: workspace)
                writeOutput(
                    "imported \(source): \(summary.added.count) added, \(summary.reconnected.count) reconnected, \(summary.renewed.count) renewed, \(summary.renamed.count) renamed, \(summary.unchanged.count) unchanged"
                )
                return .ok
            }
        }

        /// Streams `file` (or stdin for `-`) into the import: read a chunk at a time inside
        /// its transaction, never whole. A progress line only for a person at a terminal.
        static func importStreaming(_ file: String, source: String, into workspace: Workspace) async throws
            -> UpsertSummary
        {
            // A file that cannot be opened is named with the operating system's reason.
            let descriptor: Int32 = file == "-" ? STDIN_FILENO : try InputFile.open(file, what: "import file")
            defer { if descriptor != STDIN_FILENO { _ = close(descriptor) } }
            let console = ConsoleOutput.standardError
            var progress: (@Sendable (Int) -> Void)?
            if console.isTerminal {
                progress = { rows in console.showStatus("importing \(source): \(rows) rows read") }
            }
            defer { if console.isTerminal { console.clearStatus() } }
            return try await workspace.importPages(
                from: .fileDescriptor(descriptor), source: source, actor: Workspace.cliActor(), now: Date(),
                progress: progress)
        }
    }

    struct Connect: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Connect a page, or every page a user token grants.",
            discussion: """
                The Page token is read from stdin or --token-file, never from the
                command line, where other users and shell history would see it.

                With --user-token-stdin this is the server side of "Log in with
                Facebook": every Page the login granted is connected or renewed,
                and pages of the company not granted again are named: Meta
                invalidates the token of a page deselected in a new login.
                """)
        @OptionGroup var global: GlobalOptions
        @Option(help: "The company the page belongs to.") var company: String
        @Option(name: .customLong("page-id"), help: "The Facebook Page ID.") var pageID: String?
        @Option(help: "The Page's name.") var name: String?
        @Option(name: .customLong("token-file"), help: "Read the Page token from this file instead of stdin.")
        var tokenFile: String?
        @Flag(
            name: .customLong("user-token-stdin"),
            help: "Read a user token from stdin and connect every page it grants.")
        var userTokenStdin = false
        @Flag(
            name: .customLong("disconnect-missing"),
            help: "With --user-token-stdin: disconnect the company's pages not granted again.")
        var disconnectMissing = false
        @Flag(
            name: .customLong("create-company"),
            help: "Create the company even though a known one has a similar name.")
        var createCompany = false
        /// Refused: a token on the command line is seen by other users (ps) and shell history.
        @Option(name: .customLong("token"), help: .hidden) var tokenOnCommandLine: String?

        func validate() throws {
            if tokenOnCommandLine != nil {
                throw ValidationError("tokens are read from stdin or --token-file, never from the command line")
            }
            if userTokenStdin {
                if pageID != nil || name != nil || tokenFile != nil {
                    throw ValidationError(
                        "--user-token-stdin connects every granted page: leave out --page-id, --name and --token-file")
                }
            } else {
                if pageID == nil || name == nil {
                    throw ValidationError("give --page-id and --name (or --user-token-stdin)")
                }
                if disconnectMissing { throw ValidationError("--disconnect-missing goes with --user-token-stdin") }
            }
        }

        func run() async throws {
            try await execute {
                let logger = global.makeLogger()
                let configuration = try global.loadConfiguration(logger: logger)
                let workspace = try await Workspace.open(configuration)
                if !createCompany {
                    try await workspace.refuseNearMiss(
                        company, createHint: "To connect a page of a new company of that name, pass --create-company.")
                }
                let token: Secret
                if let tokenFile {
                    let data = try InputFile.read(tokenFile, what: "token file")
                    token = Secret(
                        String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))
                } else {
                    let data = await readStandardInput(
                        prompt: userTokenStdin
                            ? "Paste the user access token from \"Log in with Facebook\", then press Enter and Ctrl-D:"
                            : "Paste the Page access token, then press Enter and Ctrl-D:")
                    token = Secret(
                        String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))
                }
                let actor = Workspace.cliActor()
                if userTokenStdin {
                    let services = try Services(configuration: configuration, logger: logger)
                    let result = try await workspace.connectFromLogin(
                        company: company, userToken: token, graph: try services.graph(),
                        disconnectMissing: disconnectMissing,
                        actor: actor, now: Date())
                    let s = result.summary
                    writeOutput(
                        "connected from login: \(s.added.count) added, \(s.reconnected.count) reconnected, \(s.renewed.count) renewed, \(s.renamed.count) renamed, \(s.unchanged.count) unchanged"
                    )
                    for page in result.notGranted {
                        if result.disconnected.contains(page.pageID) {
                            writeOutput(
                                "disconnected \(page.pageID) (\(TerminalText.sanitise(page.name))): not granted again in this login"
                            )
                        } else {
                            writeError(
                                "warning: page \(page.pageID) (\(TerminalText.sanitise(page.name))) of \(TerminalText.sanitise(company)) was not granted again in this login; if it was deselected, Meta has invalidated its token"
                            )
                        }
                    }
                    return .ok
                }
                let summary = try await workspace.connect(
                    company: company, pageID: pageID ?? "", name: name ?? "", token: token, actor: actor, now: Date())
                let what =
                    !summary.added.isEmpty
                    ? "connected"
                    : !summary.reconnected.isEmpty
                        ? "reconnected"
                        : !summary.renewed.isEmpty ? "renewed" : !summary.renamed.isEmpty ? "renamed" : "unchanged"
                writeOutput("\(what) page \(pageID ?? "")")
                return .ok
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List pages with their status.")
        @OptionGroup var global: GlobalOptions
        @Option(help: "Only pages with this status: unknown, valid, invalid, disconnected.")
        var status: PageStatus?
        @Option(help: "Only this company's pages.") var company: String?
        @Flag(
            name: .customLong("unconfirmed"),
            help: "Only pages the last check could not confirm.")
        var unconfirmed = false
        @Option(help: "table, json or csv.") var format: ListFormat = .table

        func run() async throws {
            try await execute {
                let configuration = try global.loadConfiguration(logger: global.makeLogger())
                let workspace = try await Workspace.open(configuration, mode: .readOnly)
                defer { workspace.database.close() }
                if let company { try await workspace.requireCompany(company) }
                var pages = try await workspace.database.pages(status: status, company: company)
                if unconfirmed { pages = pages.filter(\.isUnconfirmed) }
                // An empty installation says what to do next; an empty filter shows its empty table.
                if pages.isEmpty, format == .table, try await workspace.database.pages().isEmpty {
                    writeOutput(
                        "No pages yet: import them with tokenwatch pages import FILE or connect one with tokenwatch pages connect"
                    )
                    return .ok
                }
                switch format {
                case .table: writeOutput(PageOutput.table(pages))
                case .json: writeOutput(PageOutput.json(pages))
                case .csv:
                    FileHandle.standardOutput.write(
                        Data(CSVReport.render(ReportInput(generatedAt: Date(), pages: pages)).utf8))
                }
                return .ok
            }
        }
    }

    struct Log: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "A page's permissions now and every movement on it.")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The Facebook Page ID.") var pageID: String
        @Option(help: "table or json.") var format: LogFormatChoice = .table

        func run() async throws {
            try await execute {
                let configuration = try global.loadConfiguration(logger: global.makeLogger())
                let workspace = try await Workspace.open(configuration, mode: .readOnly)
                defer { workspace.database.close() }
                let (page, events) = try await workspace.database.pageLog(pageID: pageID)
                writeOutput(
                    format == .json
                        ? PageOutput.logJSON(page, events: events) : PageOutput.logTable(page, events: events))
                return .ok
            }
        }
    }

    struct Disconnect: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Stop checking a page and erase its token.",
            discussion: """
                Reconnecting needs a new token. The Messenger chatbot of a
                disconnected page loses all incoming traffic.
                """)
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The Facebook Page ID.") var pageID: String
        @Option(help: "Why, for the page's log.") var reason: String?

        func run() async throws {
            try await execute {
                let configuration = try global.loadConfiguration(logger: global.makeLogger())
                let workspace = try await Workspace.open(configuration)
                let changed = try await workspace.database.disconnect(
                    pageID: pageID, reason: reason, actor: Workspace.cliActor(), now: Date())
                writeOutput(changed ? "disconnected page \(pageID)" : "page \(pageID) was already disconnected")
                return .ok
            }
        }
    }
}

extension PageStatus: ExpressibleByArgument {
    /// `Invalid`, `INVALID` and `invalid` are one status.
    public init?(argument: String) { self.init(rawValue: argument.lowercased()) }
}

enum ListFormat: String, ExpressibleByArgument, CaseIterable {
    case table, json, csv
    init?(argument: String) { self.init(rawValue: argument.lowercased()) }
}
enum LogFormatChoice: String, ExpressibleByArgument, CaseIterable {
    case table, json
    init?(argument: String) { self.init(rawValue: argument.lowercased()) }
}
