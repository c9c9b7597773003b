import Foundation
import GraphSimulator
import Testing

@testable import TokenWatch
@testable import TokenWatchMail
@testable import TokenWatchModel
@testable import TokenWatchStore
@testable import TokenWatchTemplates

/// `DigestDispatcher` itself against a real SMTP server (aiosmtpd on loopback), on the outbox
/// a real check filled (SQLite, or PostgreSQL with TOKENWATCH_TEST_STORE=postgres).
@Suite("Digest dispatcher over SMTP")
struct DigestDispatcherTests {
    static let ops = "ops@platform.example"

    /// A harness mailing `smtpURL`, with `configure` applied on top.
    func harness(smtpURL: String, configure: @escaping (inout Configuration) -> Void = { _ in }) async throws
        -> PipelineHarness
    {
        try await PipelineHarness { configuration in
            configuration.smtpURL = smtpURL
            configure(&configuration)
        }
    }

    /// Dispatches the outbox once, as `notify` would, through the configured transport.
    func dispatch(_ harness: PipelineHarness, ignoreBackoff: Bool = true) async throws -> DispatchOutcome {
        let transport = try Services(configuration: harness.configuration, logger: harness.logger).mailTransport()
        let dispatcher = try harness.workspace.digestDispatcher(
            templates: try TemplateSet(), transport: transport, actor: "test",
            sender: "test:\(UInt32.random(in: 0...UInt32.max))", logger: harness.logger)
        return try await dispatcher.dispatch(now: { Date() }, ignoreBackoff: ignoreBackoff)
    }

    /// A forward the server refuses does not count as sent to the team: the second Owner's rows
    /// about the page are forwarded again (and refused again), never marked forwarded unsent.
    @Test func aRefusedForwardDoesNotCountAsSentToThePlatformTeam() async throws {
        let sink = try await SMTPTestServer.start(reject: [Self.ops])
        let harness = try await harness(smtpURL: sink.url) { $0.opsEmail = Self.ops }
        try await harness.seed(
            [("61001", .otherApp), ("61002", .passwordChanged)], owners: ["ann@acme.example", "bob@acme.example"])
        _ = try await harness.check(email: false)
        let outcome = try await dispatch(harness)
        await harness.stop()

        // Each Owner's digest (61002) went out; each Owner's forward (61001) was refused for good.
        #expect(try sink.messagesPerRecipient() == ["ann@acme.example": 1, "bob@acme.example": 1])
        await sink.stop()
        #expect(outcome.sent == 2 && outcome.failed == 2 && outcome.gaveUp == 2, "\(outcome)")
        #expect(outcome.notified["61001"] == nil, "\(outcome.notified)")
        #expect(try await harness.notifiedOwners("61001").isEmpty)
        let counts = try await harness.workspace.database.outboxCounts()
        #expect(counts.sent == 2 && counts.failed == 2 && counts.pending == 0, "\(counts)")
    }
}
