import Foundation
import GraphSimulator
import Testing

@testable import TokenWatchModel
@testable import TokenWatchStore

/// Issue #11, item 9: configuration that cannot work is caught when it is loaded — exit 78
/// naming the key, before any request — and output that cannot be written is 73.
@Suite("Configuration caught at load (binary)", .serialized)
struct ConfigurationHardeningTests {
    let harness: PipelineHarness

    init() async throws {
        harness = try await PipelineHarness()
        try await harness.seed([("91001", .valid)])
    }

    func check(_ extra: [String: String], _ arguments: [String] = []) async throws -> TokenWatchBinary.Result {
        try await TokenWatchBinary.run(["check"] + arguments, environment: harness.binaryEnvironment(extra))
    }

    @Test func settingsThatCannotWorkAre78NamingTheKeyBeforeAnyRequest() async throws {
        let cases: [(String, String, String)] = [
            ("TOKENWATCH_MAIL_FROM", "ops@platform.example\r\nBcc: all@example.com", "TOKENWATCH_MAIL_FROM"),
            ("TOKENWATCH_TEMPLATES_DIR", "/nonexistent/templates", "TOKENWATCH_TEMPLATES_DIR"),
            ("TOKENWATCH_SMTP_URL", "smtp://127.0.0.1:0", "TOKENWATCH_SMTP_URL"),
            ("TOKENWATCH_GRAPH_URL", harness.simulator.baseURL + "/v25.0", "TOKENWATCH_GRAPH_VERSION"),
            ("TOKENWATCH_CA_FILE", "/nonexistent/ca.pem", "TOKENWATCH_CA_FILE"),
        ]
        for (key, value, named) in cases {
            let result = try await check([key: value])
            #expect(result.status == 78, "\(key): \(result.all)")
            #expect(result.stderr.contains(key) && result.stderr.contains(named), "\(key): \(result.stderr)")
            #expect(!result.stderr.contains("\r\nBcc"), "the value is not echoed raw")
        }
        let requests = harness.simulator.stats.httpRequests
        await harness.stop()
        #expect(requests == 0)
    }

    @Test func anUnwritableMetricsFileIs73AndTheVerdictsAreKept() async throws {
        let result = try await check([:], ["--metrics-file", "/nonexistent/directory/tokenwatch.prom"])
        await harness.stop()
        #expect(result.status == 73, "\(result.all)")
        #expect(result.all.contains("/nonexistent/directory/tokenwatch.prom"))
        #expect(try await harness.status("91001") == .valid)
        #expect(try await harness.workspace.database.lastRun()?.exitCode == 73)
    }

    @Test func aMissingKeyFileSaysRestoreItAndAReadableOneIsWarnedAbout() async throws {
        let keyFile = harness.configuration.keyFile
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: keyFile)
        let readable = try await TokenWatchBinary.run(["pages", "list"], environment: harness.binaryEnvironment())
        #expect(readable.status == 0, "\(readable.all)")
        #expect(readable.stderr.contains("the token key file \(keyFile) can be read by its group and others"))

        try FileManager.default.moveItem(atPath: keyFile, toPath: keyFile + ".moved")
        let missing = try await check([:])
        let initAgain = try await TokenWatchBinary.run(["init"], environment: harness.binaryEnvironment())
        await harness.stop()
        #expect(missing.status == 78, "\(missing.all)")
        #expect(missing.stderr.contains("the key file \(keyFile) is missing: restore it from backup"))
        // init does not make a new key for a database whose tokens need the old one.
        #expect(initAgain.status == 78, "\(initAgain.all)")
        #expect(!FileManager.default.fileExists(atPath: keyFile))
    }

    @Test func controlCharactersInImportedNamesAre65NamingTheLine() async throws {
        let csv = harness.directory.file("names.csv")
        try Data(
            """
            company,page_id,page_name,access_token
            Acme,91002,Fine Name,\(GraphSimulator.token(.valid, page: "91002"))
            Acme,91003,"Cut\u{0}Short",\(GraphSimulator.token(.valid, page: "91003"))
            "Tab\tCo",91004,Other,\(GraphSimulator.token(.valid, page: "91004"))

            """.utf8
        ).write(to: URL(fileURLWithPath: csv))
        let result = try await TokenWatchBinary.run(["pages", "import", csv], environment: harness.binaryEnvironment())
        await harness.stop()
        #expect(result.status == 65, "\(result.all)")
        #expect(result.stderr.contains("line 3: page_name contains a control character"), "\(result.stderr)")
        #expect(result.stderr.contains("line 4: company contains a control character"), "\(result.stderr)")
        // All or nothing: the good line was not imported either.
        #expect(try await harness.page("91002") == nil)
    }

    @Test func anOwnerAddressWithALineBreakIsRefused() async throws {
        let result = try await TokenWatchBinary.run(
            ["owners", "add", "--company", "Acme", "boss@acme.example\r\nBcc: all@example.com"],
            environment: harness.binaryEnvironment())
        let owners = try await harness.workspace.database.owners(company: "Acme")
        await harness.stop()
        #expect(result.status == 64, "\(result.all)")
        #expect(!owners.contains { $0.email.contains("Bcc") })
    }
}
