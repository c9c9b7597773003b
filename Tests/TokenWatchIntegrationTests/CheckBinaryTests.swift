import Foundation
import GraphSimulator
import Testing

@testable import TokenWatchStore

/// `tokenwatch check` as cron runs it: the built binary against the simulator, for what only
/// a separate process can show — the run lock, a SIGKILL in the middle of a run, exit codes.
@Suite("check (binary)", .serialized)
struct CheckBinaryTests {
    let harness: PipelineHarness
    let env: [String: String]

    init() async throws {
        harness = try await PipelineHarness()
        env = harness.binaryEnvironment()
    }

    func check(_ arguments: [String] = [], extra: [String: String] = [:]) async throws -> TokenWatchBinary.Result {
        try await TokenWatchBinary.run(["check"] + arguments, environment: env.merging(extra) { $1 })
    }

    /// A setting's range lives on the setting: the same value is a usage error (64) as a flag
    /// and a configuration error (78) from the environment, and neither asks Graph anything.
    @Test func aBadFlagValueIsUsageAndTheSameValueFromTheEnvironmentIsConfiguration() async throws {
        try await harness.seed([("1001", .valid)])
        let flag = try await check(["--concurrency", "300"])
        let environment = try await check(extra: ["TOKENWATCH_CONCURRENCY": "300"])
        let batch = try await check(["--batch-size", "0"])
        let requests = harness.simulator.stats.httpRequests
        await harness.stop()
        #expect(flag.status == 64, "\(flag.all)")
        #expect(flag.stderr.contains("--concurrency: 300 is out of range: must be between 1 and 256"))
        #expect(environment.status == 78, "\(environment.all)")
        #expect(environment.stderr.contains("TOKENWATCH_CONCURRENCY from the environment: 300 is out of range"))
        #expect(batch.status == 64, "\(batch.all)")
        #expect(requests == 0)
    }

    /// A monitor watching nothing must not look like a healthy one: cron mails the warning.
    @Test func aCheckOfNoPagesSaysSoEvenUnderQuiet() async throws {
        let result = try await check(["-q", "--no-email"])
        await harness.stop()
        #expect(result.status == 0, "\(result.all)")
        #expect(result.stderr.contains("no pages are watched: import them with `tokenwatch pages import FILE`"))
    }

    @Test func aCompleteRunExitsZeroWithASummaryAndNoSecrets() async throws {
        try await harness.seed([("1001", .valid), ("1002", .passwordChanged)])
        let result = try await check(["--metrics-file", harness.directory.file("m.prom")])
        await harness.stop()
        #expect(result.status == 0, "\(result.all)")
        #expect(result.stdout.contains("checked 2 pages: 1 valid, 1 invalid (1 new), 0 undecided; 0 unchecked"))
        #expect(!result.all.contains(PipelineHarness.appSecret))
        #expect(!result.all.contains("simtok_"))
        #expect(harness.mailFiles.count == 1)
        #expect(FileManager.default.fileExists(atPath: harness.directory.file("m.prom")))
    }

    @Test func dryRunPrintsVerdictsAndWritesNothing() async throws {
        try await harness.seed([("2001", .valid), ("2002", .loggedOut)])
        let result = try await check(["--dry-run"])
        await harness.stop()
        #expect(result.status == 0, "\(result.all)")
        #expect(result.stdout.contains("Invalid (was Unknown)"))
        #expect(result.stdout.contains("logged out"))
        #expect(try await harness.status("2002") == .unknown)
        #expect(harness.mailFiles.isEmpty)
        #expect(!FileManager.default.fileExists(atPath: harness.configuration.reportsDirectory))
        #expect(try await harness.workspace.database.lastRun() == nil)
    }

    @Test func aSecondConcurrentRunExits75AtOnceNamingTheHolder() async throws {
        try await harness.seed((1...20).map { ("\(3000 + $0)", TokenBehaviour.valid) })
        harness.simulator.setFault(.latency(milliseconds: 400))
        async let first = check(["--batch-size", "2", "--concurrency", "1"])
        // Wait until the first run is talking to Graph, so it holds the lock.
        for _ in 0..<200 where harness.simulator.stats.httpRequests == 0 {
            try await Task.sleep(for: .milliseconds(25))
        }
        let second = try await check()
        let firstResult = try await first
        await harness.stop()
        #expect(second.status == 75, "\(second.all)")
        #expect(second.all.contains("pid "))
        #expect(firstResult.status == 0, "\(firstResult.all)")
    }

    @Test func aRunKilledMidwayLeavesAConsistentDatabaseAndTheNextFinishes() async throws {
        let pages = (1...60).map { ("\(4000 + $0)", $0 % 3 == 0 ? TokenBehaviour.passwordChanged : .valid) }
        try await harness.seed(pages, owners: ["a@acme.example", "b@acme.example"])
        harness.simulator.setFault(.latency(milliseconds: 150))
        let process = Process()
        process.executableURL = URL(fileURLWithPath: TokenWatchBinary.path)
        process.arguments = ["check", "--batch-size", "3", "--concurrency", "1", "-q"]
        process.environment = TokenWatchBinary.environment(env)
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        let exit = ProcessExit()
        process.terminationHandler = { _ in exit.markExited() }
        try process.run()
        // Kill it once some batches are committed and more are in flight.
        for _ in 0..<400 where harness.simulator.stats.batchRequests < 5 {
            try await Task.sleep(for: .milliseconds(25))
        }
        kill(process.processIdentifier, SIGKILL)
        await exit.wait()
        #expect(process.terminationReason == .uncaughtSignal)
        let decidedBefore = try await harness.workspace.database.pages().count { $0.status != .unknown }
        #expect(decidedBefore > 0 && decidedBefore < 60)

        harness.simulator.clearFaults()
        let rerun = try await check()
        await harness.stop()
        #expect(rerun.status == 0, "\(rerun.all)")
        let integrity = try await harness.workspace.database.integrityCheck()
        #expect(integrity == "ok")
        let all = try await harness.workspace.database.pages()
        #expect(all.count { $0.status == .invalid } == 20)
        #expect(all.count { $0.status == .valid } == 40)
        for page in all where page.status == .invalid {
            let (_, events) = try await harness.workspace.database.pageLog(pageID: page.pageID)
            #expect(events.count { $0.kind == .becameInvalid } == 1, "page \(page.pageID)")
            #expect(events.count { $0.kind == .ownerNotified } == 2, "page \(page.pageID)")
        }
        // One outbox row per Owner per newly invalid page, all sent; two digests in all.
        #expect(try await harness.workspace.database.outboxCounts().sent == 40)
        #expect(harness.mailFiles.count == 2 || harness.mailFiles.count == 4)
    }

    @Test func noMailTransportIsAConfigurationErrorUnlessNoEmail() async throws {
        try await harness.seed([("5001", .valid)])
        let refused = try await check(extra: ["TOKENWATCH_SMTP_URL": ""])
        #expect(refused.status == 78)
        #expect(refused.stderr.contains("TOKENWATCH_SMTP_URL"))
        let quiet = try await check(["--no-email"], extra: ["TOKENWATCH_SMTP_URL": ""])
        await harness.stop()
        #expect(quiet.status == 0, "\(quiet.all)")
    }

    @Test func anUnwritableReportsDirectoryExits73AndKeepsTheVerdicts() async throws {
        try await harness.seed([("6001", .passwordChanged)])
        let blocker = harness.directory.file("not-a-dir")
        try Data("x".utf8).write(to: URL(fileURLWithPath: blocker))
        let result = try await check(extra: ["TOKENWATCH_REPORTS_DIR": blocker + "/reports"])
        await harness.stop()
        #expect(result.status == 73, "\(result.all)")
        #expect(try await harness.status("6001") == .invalid)
    }

    @Test func pageChecksOnlyThosePages() async throws {
        try await harness.seed([("7001", .valid), ("7002", .passwordChanged), ("7003", .valid)])
        let result = try await check(["--page", "7002", "--page", "7003"])
        await harness.stop()
        #expect(result.status == 0, "\(result.all)")
        #expect(result.stdout.contains("checked 2 pages"))
        #expect(try await harness.status("7001") == .unknown)
        #expect(try await harness.status("7002") == .invalid)
        #expect(harness.simulator.stats.debugTokenItems == 2)
        let unknownPage = try await check(["--page", "9999"])
        #expect(unknownPage.status != 0)
        #expect(unknownPage.stderr.contains("9999"))
    }

    @Test func aBrokenTemplateIsAConfigurationErrorBeforeAnyNetworkCall() async throws {
        try await harness.seed([("8001", .valid)])
        let templates = harness.directory.file("templates")
        try FileManager.default.createDirectory(atPath: templates, withIntermediateDirectories: true)
        try Data("Subject for {{#pages}}\n{{page_name}}\n".utf8)
            .write(to: URL(fileURLWithPath: templates + "/digest.subject.mustache"))
        let result = try await check(extra: ["TOKENWATCH_TEMPLATES_DIR": templates])
        await harness.stop()
        #expect(result.status == 78, "\(result.all)")
        #expect(result.stderr.contains("digest.subject.mustache"))
        #expect(harness.simulator.stats.httpRequests == 0)
        #expect(try await harness.status("8001") == .unknown)
    }

    @Test func keepReportsPrunesOldPairsButNeverTheLatest() async throws {
        try await harness.seed([("8101", .valid)])
        let reports = harness.configuration.reportsDirectory
        try FileManager.default.createDirectory(atPath: reports, withIntermediateDirectories: true)
        for name in ["token-report-20200101T000000Z.html", "token-report-20200101T000000Z.csv"] {
            try Data("old".utf8).write(to: URL(fileURLWithPath: reports + "/" + name))
        }
        let result = try await check(["--keep-reports", "30"])
        await harness.stop()
        #expect(result.status == 0, "\(result.all)")
        let files = try FileManager.default.contentsOfDirectory(atPath: reports)
        #expect(!files.contains("token-report-20200101T000000Z.html"))
        #expect(files.contains("latest.html"))
        // The new report's HTML, CSV, xlsx and its summary (token-report-<ts>.json); the index
        // lists what is kept.
        #expect(files.filter { $0.hasPrefix("token-report-") }.count == 4, "\(files)")
        #expect(files.contains("index.html"))
        let index = try String(contentsOfFile: reports + "/index.html", encoding: .utf8)
        #expect(!index.contains("20200101T000000Z"), "the pruned report is not listed")
    }
}
