import Foundation
import GraphSimulator
import Testing

@testable import TokenWatchModel

/// Names come from Graph (`/me/accounts`), i.e. from any admin of a Page, and from import
/// files: none of their control characters may reach the operator's terminal through any
/// human-readable output of the built binary — tables, headers, the summary, log lines,
/// warnings. JSON keeps the exact value, escaped.
@Suite("Terminal safety (binary)")
struct TerminalSafetyTests {
    static let evilName = "Evil\u{1b}[2J\u{7}Name"
    static let evilCompany = "Bad\u{1b}]0;pwned\u{7}Co"
    /// An 8-bit CSI, a carriage return that would overwrite the line, a bidi override.
    static let sneakyName = "Sneaky\u{9b}31m\rFake\u{202e}eman"
    static let loginToken = "EAAuserLoginTokenTerminal1"

    let harness: PipelineHarness
    let env: [String: String]

    init() async throws {
        harness = try await PipelineHarness()
        env = [
            "TOKENWATCH_DB": harness.configuration.databasePath, "TOKENWATCH_KEY_FILE": harness.configuration.keyFile,
            "TOKENWATCH_REPORTS_DIR": harness.configuration.reportsDirectory,
            "TOKENWATCH_GRAPH_URL": harness.simulator.baseURL,
            "TOKENWATCH_APP_ID": PipelineHarness.appID,
            "TOKENWATCH_APP_SECRET": PipelineHarness.appSecret,
        ]
    }

    func tw(_ arguments: String..., stdin: String? = nil) async throws -> TokenWatchBinary.Result {
        try await TokenWatchBinary.run(arguments, environment: env, stdin: stdin)
    }

    /// No byte or scalar that a terminal would act on: only printable text and line breaks.
    func expectSafe(
        _ result: TokenWatchBinary.Result, _ what: String, sourceLocation: SourceLocation = #_sourceLocation
    ) {
        for (stream, text) in [("stdout", result.stdout), ("stderr", result.stderr)] {
            let unsafe = text.unicodeScalars.filter { $0 != "\n" && TerminalText.isUnsafe($0) }
            #expect(
                unsafe.isEmpty, "\(what) \(stream) carries \(unsafe.map { String($0.value, radix: 16) }): \(text)",
                sourceLocation: sourceLocation)
            #expect(!text.utf8.contains(0x1B) && !text.utf8.contains(0x07), sourceLocation: sourceLocation)
        }
    }

    @Test func outsideNamesNeverReachTheTerminalRaw() async throws {
        // The connect flow: names as Graph's me/accounts gives them.
        harness.simulator.registerUser(
            token: Self.loginToken,
            pages: [
                SimulatedPage(id: "6601", name: Self.evilName, accessToken: GraphSimulator.token(.valid, page: "6601")),
                SimulatedPage(
                    id: "6602", name: Self.sneakyName, accessToken: GraphSimulator.token(.passwordChanged, page: "6602")
                ),
            ])
        let connect = try await tw(
            "pages", "connect", "--company", Self.evilCompany, "--user-token-stdin", stdin: Self.loginToken)
        #expect(connect.status == 0, "\(connect.all)")
        expectSafe(connect, "pages connect")
        // A second login that drops 6602 warns with its name.
        harness.simulator.registerUser(
            token: Self.loginToken + "2",
            pages: [
                SimulatedPage(id: "6601", name: Self.evilName, accessToken: GraphSimulator.token(.valid, page: "6601"))
            ])
        let warned = try await tw(
            "pages", "connect", "--company", Self.evilCompany, "--user-token-stdin", stdin: Self.loginToken + "2")
        #expect(warned.stderr.contains("Sneaky?31m?Fake?eman"), "\(warned.all)")
        expectSafe(warned, "pages connect warning")

        // The import flow.
        let csv = harness.directory.file("pages.csv")
        try Data(
            "company,page_id,page_name,access_token\nImported,6603,\"Csv\u{1b}[1;1HName\u{7f}\",\(GraphSimulator.token(.valid, page: "6603"))\n"
                .utf8
        ).write(to: URL(fileURLWithPath: csv))
        // An operator's file is held to plain-text names: refused, naming the line (issue #11
        // item 9), and the refusal itself prints nothing raw.
        let imported = try await tw("pages", "import", csv)
        #expect(imported.status == 65, "\(imported.all)")
        #expect(imported.stderr.contains("line 2: page_name contains a control character"), "\(imported.all)")
        expectSafe(imported, "pages import")

        let list = try await tw("pages", "list")
        #expect(list.status == 0, "\(list.all)")
        #expect(list.stdout.contains("Evil?[2J?Name"), "\(list.stdout)")
        #expect(list.stdout.contains("Bad?]0;pwned?Co"), "\(list.stdout)")
        #expect(!list.stdout.contains("6603"), "\(list.stdout)")
        expectSafe(list, "pages list")

        // JSON keeps the exact value, with every control escaped.
        let json = try await tw("pages", "list", "--format", "json")
        expectSafe(json, "pages list --format json")
        let pages = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [[String: Any]])
        #expect(Set(pages.compactMap { $0["page_name"] as? String }).isSuperset(of: [Self.evilName, Self.sneakyName]))

        let log = try await tw("pages", "log", "6601")
        #expect(log.status == 0, "\(log.all)")
        #expect(log.stdout.hasPrefix("Evil?[2J?Name (page 6601, company Bad?]0;pwned?Co)"), "\(log.stdout)")
        expectSafe(log, "pages log")
        expectSafe(try await tw("pages", "log", "6602", "--format", "json"), "pages log --format json")

        let dryRun = try await tw("check", "--dry-run")
        #expect(dryRun.status == 0, "\(dryRun.all)")
        #expect(dryRun.stdout.contains("Sneaky?31m?Fake?eman"), "\(dryRun.stdout)")
        expectSafe(dryRun, "check --dry-run")

        // A real run logs the page that became invalid, by name, and prints the summary.
        let check = try await tw("check", "--no-email", "-v")
        await harness.stop()
        #expect(check.status == 0, "\(check.all)")
        #expect(check.stderr.contains("page became invalid"), "\(check.stderr)")
        #expect(check.stdout.contains("1 invalid (1 new)"), "\(check.stdout)")
        expectSafe(check, "check")
    }
}
