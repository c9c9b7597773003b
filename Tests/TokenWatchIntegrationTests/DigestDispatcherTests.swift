import Foundation
import GraphSimulator
import Synchronization
import Testing

@testable import TokenWatch
@testable import TokenWatchHTTP
@testable import TokenWatchMail
@testable import TokenWatchModel
@testable import TokenWatchStore
@testable import TokenWatchTemplates

/// `DigestDispatcher` itself against a real SMTP server (aiosmtpd on loopback), on the outbox
/// a real check filled (SQLite, or PostgreSQL with TOKENWATCH_TEST_STORE=postgres): several
/// connections at once send each digest once, the first goes alone, a stop lets the messages in
/// flight finish, and the platform team gets one mail per page. Every assertion counts
/// messages, sessions and rows; the sink's slow 250 only makes the senders overlap.
@Suite("Digest dispatcher over SMTP")
struct DigestDispatcherTests {
    static let ops = "ops@platform.example"
    /// How long the sink holds its final 250 to DATA: long enough that every worker is
    /// mid-message while the others start, far below TOKENWATCH_HTTP_TIMEOUT (5 s).
    static let slowAcceptMilliseconds = 400

    /// A harness mailing `smtpURL` over `connections` connections, with `configure` on top.
    func harness(
        smtpURL: String, connections: Int = 4, configure: @escaping (inout Configuration) -> Void = { _ in }
    ) async throws -> PipelineHarness {
        try await PipelineHarness { configuration in
            configuration.smtpURL = smtpURL
            configuration.smtpConnections = connections
            configure(&configuration)
        }
    }

    /// `count` Owners, each of a company of their own with one invalid page, decided by a check
    /// without email so that their notifications wait, pending. Returns page ID → Owner.
    func seedOwners(_ harness: PipelineHarness, count: Int, firstPage: Int) async throws -> [String: String] {
        var owners: [String: String] = [:]
        for index in 0..<count {
            let pageID = String(firstPage + index)
            let owner = "owner\(index)@company\(index).example"
            try await harness.seed([(pageID, .passwordChanged)], company: "Company \(index)", owners: [owner])
            owners[pageID] = owner
        }
        _ = try await harness.check(email: false)
        #expect(try await harness.workspace.database.outboxCounts().pending == count)
        return owners
    }

    /// Dispatches the outbox once, as `notify` would (no backoff), through the configured
    /// transport as `wrap` returns it. SMTP borrows loops from a pool of this test's own (as
    /// many as the process-wide one), so that the only bound on connections is the dispatcher's.
    func dispatch(
        _ harness: PipelineHarness, wrap: (any MailTransport) -> any MailTransport = { $0 },
        shouldStop: @escaping @Sendable () -> Bool = { false }
    ) async throws -> DispatchOutcome {
        let loops = CurlEventLoopPool(maximum: CurlEventLoopPool.smtp.maximum)
        do {
            let transport = try Services(configuration: harness.configuration, logger: harness.logger, smtpLoops: loops)
                .mailTransport()
            let dispatcher = try harness.workspace.digestDispatcher(
                templates: try TemplateSet(), transport: wrap(transport), actor: "test",
                sender: "test:\(UInt32.random(in: 0...UInt32.max))", logger: harness.logger)
            let outcome = try await dispatcher.dispatch(now: { Date() }, ignoreBackoff: true, shouldStop: shouldStop)
            await loops.shutdown()
            return outcome
        } catch {
            await loops.shutdown()
            throw error
        }
    }

    /// Every Owner of `owners` (page ID → Owner) got exactly one digest, nothing else arrived,
    /// and each page logs exactly one `owner_notified`, for its Owner.
    func expectEachDigestOnce(
        _ owners: [String: String], _ sink: SMTPTestServer, _ harness: PipelineHarness,
        sourceLocation: SourceLocation = #_sourceLocation
    ) async throws {
        #expect(
            try sink.messagesPerRecipient() == Dictionary(uniqueKeysWithValues: owners.values.map { ($0, 1) }),
            sourceLocation: sourceLocation)
        #expect(try sink.receivedMessages().count == owners.count, sourceLocation: sourceLocation)
        for (pageID, owner) in owners {
            #expect(
                try await harness.notifiedOwners(pageID) == [owner], "page \(pageID)", sourceLocation: sourceLocation)
        }
        let counts = try await harness.workspace.database.outboxCounts()
        #expect(counts.sent == owners.count && counts.pending == 0, "\(counts)", sourceLocation: sourceLocation)
    }

    @Test func fourConnectionsSendEachDigestOnceAndNeverMoreThanFourAtOnce() async throws {
        let sink = try await SMTPTestServer.start(delayDataMilliseconds: Self.slowAcceptMilliseconds)
        let harness = try await harness(smtpURL: sink.url, connections: 4)
        let owners = try await seedOwners(harness, count: 12, firstPage: 81_000)
        let outcome = try await dispatch(harness)
        await harness.stop()

        #expect(outcome.sent == 12 && outcome.failed == 0 && outcome.stoppedEarly == nil, "\(outcome)")
        #expect(outcome.notified == owners.mapValues { [$0] })
        // Several messages were on the server at once, never more than four, each over a
        // connection of its own.
        let seen = try sink.concurrency()
        #expect(seen.peakHeld > 1, "the digests went out one at a time: \(seen)")
        #expect(seen.peakHeld <= 4 && seen.peak <= 4, "\(seen)")
        #expect(seen.peak >= seen.peakHeld, "\(seen)")
        try await expectEachDigestOnce(owners, sink, harness)
        await sink.stop()
    }

    @Test func oneConnectionSendsOneDigestAtATime() async throws {
        let sink = try await SMTPTestServer.start(delayDataMilliseconds: Self.slowAcceptMilliseconds)
        let harness = try await harness(smtpURL: sink.url, connections: 1)
        let owners = try await seedOwners(harness, count: 4, firstPage: 82_000)
        let outcome = try await dispatch(harness)
        await harness.stop()

        #expect(outcome.sent == 4 && outcome.failed == 0 && outcome.stoppedEarly == nil, "\(outcome)")
        let seen = try sink.concurrency()
        #expect(seen.peak == 1 && seen.peakHeld == 1, "\(seen)")
        try await expectEachDigestOnce(owners, sink, harness)
        await sink.stop()
    }

    /// The first digest goes alone: with the server down, four connections still fail one
    /// digest and stop, leaving the rest pending for the next run.
    @Test func aServerThatIsDownFailsOneDigestNotOnePerConnection() async throws {
        let closed = try SilentListener.closedPort()
        let harness = try await harness(smtpURL: "smtp://127.0.0.1:\(closed)", connections: 4)
        _ = try await seedOwners(harness, count: 8, firstPage: 83_000)
        let outcome = try await dispatch(harness)
        await harness.stop()

        #expect(outcome.failed == 1 && outcome.sent == 0 && outcome.gaveUp == 0, "\(outcome)")
        #expect(outcome.stoppedEarly?.contains("the mail server could not be reached") == true, "\(outcome)")
        let counts = try await harness.workspace.database.outboxCounts()
        #expect(counts.pending == 8 && counts.sent == 0 && counts.failed == 0, "\(counts)")
        // The one attempt is on record, with why it failed.
        #expect(try await harness.workspace.database.lastOutboxError() != nil)
    }

    /// A refusal lets an Owner's rows go at once (no backoff for `notify`), yet no other worker
    /// tries that Owner again in the same dispatch: eight Owners, eight attempts.
    @Test func eachOwnerIsTriedOncePerDispatchWhateverTheWorker() async throws {
        let sink = try await SMTPTestServer.start(refuseRCPT: 3, delayDataMilliseconds: 100)
        let harness = try await harness(smtpURL: sink.url, connections: 4)
        let owners = try await seedOwners(harness, count: 8, firstPage: 84_000)
        let outcome = try await dispatch(harness)
        await harness.stop()

        #expect(outcome.failed == 3 && outcome.sent == 5 && outcome.stoppedEarly == nil, "\(outcome)")
        let delivered = try sink.messagesPerRecipient()
        #expect(delivered.count == 5 && delivered.values.allSatisfy { $0 == 1 }, "\(delivered)")
        #expect(Set(delivered.keys).isSubset(of: Set(owners.values)))
        let counts = try await harness.workspace.database.outboxCounts()
        #expect(counts.sent == 5 && counts.pending == 3, "\(counts)")
        await sink.stop()
    }

    /// A stop request (SIGTERM) while four digests are on the wire: those finish and are
    /// recorded as sent, no other starts, and the rest stay pending.
    @Test func aStopLetsTheDigestsInFlightFinishAndStartsNoOther() async throws {
        let sink = try await SMTPTestServer.start(delayDataMilliseconds: Self.slowAcceptMilliseconds)
        let harness = try await harness(smtpURL: sink.url, connections: 4)
        _ = try await seedOwners(harness, count: 12, firstPage: 85_000)
        // The stop arrives as the third message starts: the probe and two more are under way.
        let counter = SendCounter(stopAt: 3)
        let outcome = try await dispatch(
            harness, wrap: { CountingTransport(inner: $0, counter: counter) }, shouldStop: { counter.stopRequested })
        await harness.stop()

        #expect(outcome.stoppedEarly == "stopped by a signal", "\(outcome)")
        #expect(outcome.failed == 0)
        // No worker starts a digest after the stop: at most the three, plus one for each other
        // worker that had already passed its check and was claiming.
        #expect(outcome.sent >= 3 && outcome.sent <= 3 + 3, "\(outcome)")
        // Whatever went out is recorded as sent, and nothing else.
        #expect(try sink.receivedMessages().count == outcome.sent)
        #expect(counter.started == outcome.sent)
        let counts = try await harness.workspace.database.outboxCounts()
        #expect(counts.sent == outcome.sent && counts.pending == 12 - outcome.sent, "\(counts)")
        await sink.stop()
    }

    /// Four Owners of one company carry the same page, invalid for a cause only the platform can
    /// fix; with four connections their digests go out at once, and the team gets one mail.
    @Test func thePlatformTeamGetsOneMailPerPageFromFourConnections() async throws {
        let sink = try await SMTPTestServer.start(delayDataMilliseconds: Self.slowAcceptMilliseconds)
        let harness = try await harness(smtpURL: sink.url, connections: 4) { $0.opsEmail = Self.ops }
        // The first Owner in address order is the probe; the four Acme Owners come after it,
        // one per worker.
        try await harness.seed([("86000", .passwordChanged)], company: "Aardvark", owners: ["aa@aardvark.example"])
        let acme = ["ann@acme.example", "bob@acme.example", "cat@acme.example", "dan@acme.example"]
        try await harness.seed([("86001", .otherApp), ("86002", .revoked)], company: "Acme", owners: acme)
        _ = try await harness.check(email: false)
        let outcome = try await dispatch(harness)
        await harness.stop()

        let delivered = try sink.messagesPerRecipient()
        await sink.stop()
        #expect(delivered[Self.ops] == 1, "\(delivered)")
        #expect(
            delivered == Dictionary(uniqueKeysWithValues: (acme + ["aa@aardvark.example", Self.ops]).map { ($0, 1) }))
        #expect(outcome.sent == 6 && outcome.failed == 0, "\(outcome)")
        // Each Owner's row about the page is marked forwarded once; the team is named for each.
        #expect(outcome.notified["86001"] == Array(repeating: Self.ops, count: 4))
        let forwarded = try await harness.workspace.database.pageLog(pageID: "86001").1
            .filter { $0.kind == .ownerNotified }.compactMap(\.detail)
        #expect(
            forwarded.count == 4 && forwarded.allSatisfy { $0.contains("sent to the platform team") }, "\(forwarded)")
        #expect(try await harness.notifiedOwners("86002").sorted() == acme)
        let counts = try await harness.workspace.database.outboxCounts()
        #expect(counts.sent == 9 && counts.pending == 0, "\(counts)")
    }

    /// A forward the server refuses does not count as sent to the team: the second Owner's rows
    /// about the page are forwarded again (and refused again), never marked forwarded unsent.
    @Test(arguments: [1, 4])
    func aRefusedForwardDoesNotCountAsSentToThePlatformTeam(connections: Int) async throws {
        let sink = try await SMTPTestServer.start(reject: [Self.ops])
        let harness = try await harness(smtpURL: sink.url, connections: connections) { $0.opsEmail = Self.ops }
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

/// Counts the messages handed to a transport and asks to stop once `stopAt` have started: a
/// SIGTERM arriving while digests are on the wire.
final class SendCounter: Sendable {
    private let count = Mutex(0)
    let stopAt: Int

    init(stopAt: Int) { self.stopAt = stopAt }

    /// Messages handed over so far.
    var started: Int { count.withLock { $0 } }
    var stopRequested: Bool { started >= stopAt }

    func countOne() { count.withLock { $0 += 1 } }
}

/// Passes messages on to `inner`, counting each as it starts.
struct CountingTransport: MailTransport {
    let inner: any MailTransport
    let counter: SendCounter

    func send(_ message: MailMessage) async throws -> String {
        counter.countOne()
        return try await inner.send(message)
    }
}
