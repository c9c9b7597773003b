import Foundation
import GraphSimulator
import Testing
import TokenWatchTestSupport

@testable import TokenWatchModel
@testable import TokenWatchStore

/// Issue #11 item 4 through the built binary: Graph quoting the app token, Page tokens and
/// the user token back in its messages, and an SMTP server quoting the client's AUTH blob in
/// its 535. After each run, stdout, stderr, the database and its `-wal`, the reports (HTML,
/// CSV), the metrics file, `pages list`, `pages log` and the mail are searched for every
/// secret in every form (as is, base64, percent-encoded, AUTH blobs): none may appear, while
/// Graph's code (and a `[redacted]` where the secret stood) still does.
@Suite("Secrets echoed by Graph and SMTP never leave the binary", .serialized)
struct SecretEchoBinaryTests {
    /// Page ID → token: one Facebook-shaped, one removed only because the run knows it.
    static let pageTokens = [
        "1001": "EAAGm0PX4ZCpsBAKZBZC0ZCZBZCx7d3ZAfWkQ1001",
        "1002": GraphSimulator.token(.valid, page: "1002", suffix: "known-to-the-run"),
    ]
    static let appToken = "\(PipelineHarness.appID)|\(PipelineHarness.appSecret)"
    static let graphSecrets = [PipelineHarness.appSecret, appToken] + pageTokens.values.sorted()

    /// What the binary printed, by command, for the final search. Only the test's own task
    /// touches it.
    final class Outputs {
        var texts: [String: String] = [:]
    }

    /// A harness with the two pages stored for Acme (their tokens registered valid) and an Owner.
    func harness() async throws -> PipelineHarness {
        let harness = try await PipelineHarness()
        for (page, token) in Self.pageTokens { harness.simulator.register(token: token, as: .valid, page: page) }
        _ = try await harness.workspace.database.addOwners(company: "Acme", emails: ["owner@acme.example"], now: Date())
        _ = try await harness.workspace.database.upsertPages(
            Self.pageTokens.sorted { $0.key < $1.key }.map {
                PageUpsert(
                    company: "Acme", pageID: $0.key, pageName: "Page \($0.key)", token: Secret($0.value), source: "t")
            }, cipher: harness.workspace.cipher, actor: "test", now: Date())
        return harness
    }

    /// Runs the binary and keeps what it printed under `label`.
    @discardableResult
    func run(
        _ arguments: [String], _ env: [String: String], stdin: String? = nil, into outputs: Outputs,
        label: String? = nil
    ) async throws -> TokenWatchBinary.Result {
        let result = try await TokenWatchBinary.run(arguments, environment: env, stdin: stdin)
        let name = label ?? arguments.joined(separator: " ")
        outputs.texts["\(name) (stdout)"] = result.stdout
        outputs.texts["\(name) (stderr)"] = result.stderr
        return result
    }

    /// `pages list` in every format, `pages log` of each page in both, and `report`: every way
    /// the stored text comes back out, into `outputs` and the reports directory.
    func readBack(_ env: [String: String], pages: [String], into outputs: Outputs) async throws {
        for format in ["table", "json", "csv"] {
            let list = try await run(["pages", "list", "--format", format], env, into: outputs)
            #expect(list.status == 0, "\(list.all)")
        }
        for page in pages {
            for format in ["table", "json"] {
                let log = try await run(["pages", "log", page, "--format", format], env, into: outputs)
                #expect(log.status == 0, "\(log.all)")
            }
        }
        let report = try await run(["report", "-v"], env, into: outputs)
        #expect(report.status == 0, "\(report.all)")
    }

    /// Searches the outputs and every file of the installation (and the files `more`) for
    /// every form of `secrets` and `extraForms`; also shows which files were read.
    func expectNoLeak(
        _ harness: PipelineHarness, _ outputs: Outputs, secrets: [String], extraForms: [String] = [],
        more: [String] = [], metrics: Bool = true, sourceLocation: SourceLocation = #_sourceLocation
    ) async {
        let search = SecretSearch(secrets: secrets, extraForms: extraForms)
        #expect(search.findings(in: outputs.texts).isEmpty, sourceLocation: sourceLocation)
        // PostgreSQL keeps no file here: its whole content is dumped into one to be searched.
        if TestStore.isPostgres {
            #expect(
                await Self.dumpDatabase(harness.configuration.databasePath, to: harness.directory.file("db-dump.sql")),
                sourceLocation: sourceLocation)
        }
        let (found, searched) = search.findings(under: harness.directory.path)
        #expect(found.isEmpty, "searched \(searched)", sourceLocation: sourceLocation)
        // The database and its write-ahead log (the harness keeps a connection open, so the
        // binary's writes are still in the -wal), the reports and the metrics were all read.
        for file in TestStore.isPostgres ? ["db-dump.sql"] : ["tw.sqlite3", "tw.sqlite3-wal"] {
            #expect(searched.contains(file), "searched \(searched)", sourceLocation: sourceLocation)
        }
        #expect(searched.contains("reports/latest.html"), "searched \(searched)", sourceLocation: sourceLocation)
        #expect(searched.contains("reports/latest.csv"), "searched \(searched)", sourceLocation: sourceLocation)
        if metrics { #expect(searched.contains("m.prom"), "searched \(searched)", sourceLocation: sourceLocation) }
        #expect(search.findings(inFiles: more).isEmpty, sourceLocation: sourceLocation)
    }

    /// `pg_dump` of the database at `url` into `path`; false when it failed.
    static func dumpDatabase(_ url: String, to path: String) async -> Bool {
        let dump = try? await ExternalProgram.run(["pg_dump", "--data-only", "--inserts", "--file", path, url])
        return dump?.status == 0
    }

    @Test func aWholeRequest190QuotingTheAppTokenExits78WithoutTheSecret() async throws {
        let harness = try await harness()
        let env = harness.binaryEnvironment()
        let outputs = Outputs()
        harness.simulator.setFault(.echoingRejection)
        let check = try await run(
            ["check", "-v", "--metrics-file", harness.directory.file("m.prom")], env, into: outputs)
        let dryRun = try await run(["check", "--dry-run", "-v"], env, into: outputs)
        harness.simulator.clearFaults()
        #expect(check.status == 78, "\(check.all)")
        #expect(check.stderr.contains("code 190"), "\(check.stderr)")
        #expect(check.stderr.contains("Malformed access token [redacted]"), "\(check.stderr)")
        #expect(dryRun.status == 78, "\(dryRun.all)")
        let run = try #require(try await harness.workspace.database.lastRun())
        #expect(run.message?.contains("Malformed access token [redacted]") == true, "\(run.message ?? "-")")
        #expect(FileManager.default.fileExists(atPath: harness.directory.file("m.prom")))

        try await readBack(env, pages: ["1001", "1002"], into: outputs)
        await harness.stop()
        await expectNoLeak(harness, outputs, secrets: Self.graphSecrets)
    }

    @Test func transientErrorsQuotingPageTokensNeverReachTheStoreTheReportsOrTheConsole() async throws {
        let harness = try await harness()
        let env = harness.binaryEnvironment()
        let outputs = Outputs()

        // The whole batch fails with a transient code 1 quoting the app token and both Page tokens.
        harness.simulator.setFault(.echoingOutage)
        let outage = try await run(
            ["check", "-v", "--metrics-file", harness.directory.file("m.prom")], env, into: outputs,
            label: "check (outage)")
        harness.simulator.clearFaults()
        #expect(outage.status == 75, "\(outage.all)")
        let lastError = try #require(try await harness.page("1001")?.lastCheckError)
        #expect(lastError.contains("code 1"), "\(lastError)")
        #expect(lastError.contains("An unknown error occurred while processing [redacted]"), "\(lastError)")
        let listed = try await run(["pages", "list", "--format", "json"], env, into: outputs, label: "list (outage)")
        #expect(listed.stdout.contains("[redacted]"), "\(listed.stdout)")

        // Each item fails with a transient code 2 quoting its own token.
        harness.simulator.setFault(.echoingTransientItems)
        let items = try await run(
            ["check", "-v", "--metrics-file", harness.directory.file("m.prom")], env, into: outputs,
            label: "check (items)")
        harness.simulator.clearFaults()
        #expect(items.status == 75, "\(items.all)")
        #expect(try await harness.page("1002")?.lastCheckError?.contains("code 2") == true)

        try await readBack(env, pages: ["1001", "1002"], into: outputs)
        await harness.stop()
        await expectNoLeak(harness, outputs, secrets: Self.graphSecrets)
    }

    @Test func invalidTokensWhoseDataErrorQuotesThemAreReportedAndMailedWithoutThem() async throws {
        let harness = try await harness()
        let env = harness.binaryEnvironment()
        let outputs = Outputs()
        harness.simulator.setFault(.echoingInvalidItems)
        let dryRun = try await run(["check", "--dry-run", "-v"], env, into: outputs)
        let check = try await run(
            ["check", "-v", "--metrics-file", harness.directory.file("m.prom")], env, into: outputs)
        harness.simulator.clearFaults()
        #expect(dryRun.status == 0, "\(dryRun.all)")
        #expect(check.status == 0, "\(check.all)")
        #expect(try await harness.status("1001") == .invalid)
        #expect(try await harness.page("1001")?.errorCode == 190)
        #expect(harness.mailFiles.count == 1)

        try await readBack(env, pages: ["1001", "1002"], into: outputs)
        await harness.stop()
        await expectNoLeak(harness, outputs, secrets: Self.graphSecrets)
    }

    @Test func aLoginWhoseAnswersAndRefusalsQuoteTheUserTokenNeverShowsIt() async throws {
        let harness = try await harness()
        let env = harness.binaryEnvironment()
        let outputs = Outputs()
        let userToken = "user-token-not-facebook-shaped-42"
        let pageToken = "EAAGpageTokenOfTheLoginPage0000000001"
        harness.simulator.registerUser(
            token: userToken,
            pages: [SimulatedPage(id: "3001", name: "Login page \(userToken)", accessToken: pageToken)])
        let connect = ["pages", "connect", "--company", "Acme", "--user-token-stdin", "-v"]

        let granted = try await run(connect, env, stdin: userToken + "\n", into: outputs, label: "connect")
        #expect(granted.status == 0, "\(granted.all)")
        #expect(try await harness.page("3001")?.pageName == "Login page [redacted]")

        harness.simulator.setFault(.echoingRejection)
        let refused = try await run(connect, env, stdin: userToken, into: outputs, label: "connect (190)")
        harness.simulator.clearFaults()
        #expect(refused.status == 65, "\(refused.all)")
        #expect(refused.stderr.contains("code 190"), "\(refused.stderr)")
        #expect(refused.stderr.contains("Malformed access token [redacted]"), "\(refused.stderr)")

        harness.simulator.setFault(.echoingOutage)
        let outage = try await run(connect, env, stdin: userToken, into: outputs, label: "connect (outage)")
        harness.simulator.clearFaults()
        #expect(outage.status != 0, "\(outage.all)")
        #expect(outage.stderr.contains("[redacted]"), "\(outage.stderr)")

        // A check with the login's Page token, then everything read back.
        let check = try await run(["check", "-v", "--no-email"], env, into: outputs)
        #expect(check.status == 0, "\(check.all)")
        try await readBack(env, pages: ["1001", "3001"], into: outputs)
        await harness.stop()
        await expectNoLeak(harness, outputs, secrets: Self.graphSecrets + [userToken, pageToken], metrics: false)
    }

    @Test(arguments: ["PLAIN", "LOGIN"])
    func anSMTPServerQuotingTheAuthBlobIn535LeavesNoCredentialAnywhere(mechanism: String) async throws {
        let user = "mailer"
        let password = "smtp-pass-9c8b7a"
        let sink = try await SMTPTestServer.start(echoAuth: true, authMechanisms: [mechanism])
        let harness = try await harness()
        let env = harness.binaryEnvironment(
            smtpURL: sink.url, ["TOKENWATCH_SMTP_USER": user, "TOKENWATCH_SMTP_PASSWORD": password])
        let outputs = Outputs()
        harness.simulator.register(token: Self.pageTokens["1001"] ?? "", as: .passwordChanged, page: "1001")

        let check = try await run(
            ["check", "-v", "--metrics-file", harness.directory.file("m.prom")], env, into: outputs)
        #expect(check.status == 75, "\(check.all)")
        #expect(check.stderr.contains("535 5.7.8 Authentication failed for [redacted]"), "\(check.stderr)")
        let lastError = try #require(try await harness.workspace.database.lastOutboxError())
        #expect(lastError.contains("535 5.7.8 Authentication failed for [redacted]"), "\(lastError)")
        let log = try await run(["pages", "log", "1001"], env, into: outputs, label: "log (after 535)")
        #expect(log.stdout.contains("[redacted]"), "\(log.stdout)")
        _ = try await run(["notify", "-v"], env, into: outputs)

        try await readBack(env, pages: ["1001", "1002"], into: outputs)
        #expect(try sink.receivedMessages().isEmpty)
        let sinkFiles = try FileManager.default.contentsOfDirectory(atPath: sink.directory.path)
            .filter { $0 != "sink.log" }  // the server's own log, not anything TokenWatch wrote
        await harness.stop()
        let stored = sinkFiles.map { sink.directory.appendingPathComponent($0).path }
        let blobs =
            SecretSearch.forms(of: "\0\(user)\0\(password)") + SecretSearch.forms(of: "\(user)\0\(user)\0\(password)")
            + SecretSearch.forms(of: user).filter { $0 != user }
        await expectNoLeak(harness, outputs, secrets: Self.graphSecrets + [password], extraForms: blobs, more: stored)
        await sink.stop()
    }
}
