import Foundation
import GraphSimulator
import Testing

/// The run lock through the built binary: `ln -s victim.conf tokenwatch.sqlite3.lock` must not
/// let `check` truncate the victim or create a dangling link's target; anything at the lock path
/// but a plain file is a configuration error (78) naming the path, before any Graph request.
@Suite(
    "Run lock file (binary)",
    .enabled(
        if: TestStore.isSQLite,
        "the lock file is the SQLite store's run lock; PostgresStoreTests test the advisory lock"))
struct RunLockBinaryTests {
    let harness: PipelineHarness
    let env: [String: String]
    var lockPath: String { harness.configuration.databasePath + ".lock" }

    init() async throws {
        harness = try await PipelineHarness()
        try await harness.seed([("5501", .valid)])
        env = [
            "TOKENWATCH_DB": harness.configuration.databasePath, "TOKENWATCH_KEY_FILE": harness.configuration.keyFile,
            "TOKENWATCH_REPORTS_DIR": harness.configuration.reportsDirectory,
            "TOKENWATCH_GRAPH_URL": harness.simulator.baseURL,
            "TOKENWATCH_APP_ID": PipelineHarness.appID,
            "TOKENWATCH_APP_SECRET": PipelineHarness.appSecret,
            "TOKENWATCH_SMTP_URL": harness.configuration.smtpURL ?? "",
            "TOKENWATCH_MAIL_FROM": "tokenwatch@platform.example",
        ]
    }

    func check() async throws -> TokenWatchBinary.Result {
        let result = try await TokenWatchBinary.run(["check"], environment: env)
        await harness.stop()
        return result
    }

    func expectRefused(_ result: TokenWatchBinary.Result, sourceLocation: SourceLocation = #_sourceLocation)
        async throws
    {
        #expect(result.status == 78, "\(result.all)", sourceLocation: sourceLocation)
        #expect(result.stderr.contains(lockPath), "\(result.all)", sourceLocation: sourceLocation)
        #expect(harness.simulator.stats.httpRequests == 0, sourceLocation: sourceLocation)
        #expect(try await harness.status("5501") == .unknown, sourceLocation: sourceLocation)
    }

    @Test func aSymlinkToAVictimIsRefusedAndTheVictimUnchanged() async throws {
        let victim = harness.directory.file("victim.conf")
        let original = Data("DATABASE_URL=postgres://keep/me\nOTHER=1\n".utf8)
        try original.write(to: URL(fileURLWithPath: victim))
        try FileManager.default.createSymbolicLink(atPath: lockPath, withDestinationPath: victim)
        let result = try await check()
        try await expectRefused(result)
        #expect(result.stderr.contains("symbolic link"))
        #expect(try Data(contentsOf: URL(fileURLWithPath: victim)) == original)
    }

    @Test func aDanglingSymlinkIsRefusedAndItsTargetNotCreated() async throws {
        let target = harness.directory.file("would-be-created")
        try FileManager.default.createSymbolicLink(atPath: lockPath, withDestinationPath: target)
        let result = try await check()
        try await expectRefused(result)
        #expect(!FileManager.default.fileExists(atPath: target))
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: lockPath) == target)
    }

    @Test func aFIFOAtTheLockPathIsRefusedWithoutBlocking() async throws {
        #expect(mkfifo(lockPath, 0o644) == 0)
        let result = try await check()
        try await expectRefused(result)
        #expect(result.stderr.contains("FIFO"))
    }

    @Test func aDirectoryAtTheLockPathIsRefused() async throws {
        try FileManager.default.createDirectory(atPath: lockPath, withIntermediateDirectories: false)
        let result = try await check()
        try await expectRefused(result)
        #expect(result.stderr.contains("directory"))
    }
}
