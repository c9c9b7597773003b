import Foundation
import Logging
import Synchronization
import Testing
import TokenWatchTestSupport

@testable import TokenWatchCheck
@testable import TokenWatchGraph
@testable import TokenWatchMail
@testable import TokenWatchModel
@testable import TokenWatchStore

@Suite("Check engine")
struct CheckEngineTests {
    let directory: TestDirectory
    let database: AppDatabase
    let cipher: TokenCipher
    let now = Date(timeIntervalSince1970: 1_790_000_000)

    init() async throws {
        let store = try await TemporaryStore()
        (directory, database, cipher) = (store.directory, store.database, store.cipher)
        _ = try await database.addOwners(company: "Acme", emails: ["one@acme.test", "two@acme.test"], now: now)
    }

    /// Stores pages whose tokens name their scripted behaviour.
    func seed(_ tokens: [(String, String)]) async throws {
        _ = try await database.upsertPages(
            tokens.map {
                PageUpsert(company: "Acme", pageID: $0.0, pageName: "Page \($0.0)", token: Secret($0.1), source: "seed")
            },
            cipher: cipher, actor: "test", now: now)
    }

    func engine(
        _ graph: ScriptedGraph, clock: ImmediateClock = ImmediateClock(), maxAttempts: Int = 3,
        now: (@Sendable () -> Date)? = nil
    ) -> CheckEngine {
        CheckEngine(
            database: database, graph: graph,
            rules: VerdictRules(appID: "1234567890", requiredScopes: ["pages_messaging", "pages_manage_metadata"]),
            retry: RetryPolicy(maxAttempts: maxAttempts), runTimeout: 900, configuredVersion: "v25.0", clock: clock,
            now: now ?? { [self] in self.now }, logger: Logger(label: "test"))
    }

    /// A clock that moves `step` seconds every time it is read.
    func movingNow(step: TimeInterval) -> @Sendable () -> Date {
        let reads = Mutex(0)
        let start = now
        return {
            start.addingTimeInterval(
                step
                    * Double(
                        reads.withLock {
                            $0 += 1
                            return $0
                        }))
        }
    }

    func run(_ engine: CheckEngine, batchSize: Int = 50, concurrency: Int = 4) async throws -> CheckOutcome {
        let targets = try await database.checkTargets(pageIDs: nil, cipher: cipher)
        let runID = try await database.startRun(
            actor: "cron", configuredVersion: "v25.0", pagesTotal: targets.count, now: now)
        return try await engine.check(
            targets, options: CheckOptions(concurrency: concurrency, batchSize: batchSize), runID: runID)
    }

    static let answerAll: ScriptedGraph.Script = { _, tokens in
        DebugTokenBatch(outcomes: tokens.map(ScriptedGraph.answer(for:)), servedVersion: "v25.0")
    }

    @Test func batchesAreBoundedAndEveryPageGetsAVerdict() async throws {
        try await seed((1...120).map { ("\(1000 + $0)", $0 % 10 == 0 ? "pw:\(1000 + $0)" : "valid:\(1000 + $0)") })
        let graph = ScriptedGraph(Self.answerAll)
        let outcome = try await run(engine(graph), batchSize: 50)
        #expect(graph.sent.map(\.count).sorted() == [20, 50, 50])
        #expect(outcome.valid == 108)
        #expect(outcome.invalid == 12)
        #expect(outcome.newlyInvalid.count == 12)
        #expect(outcome.unchecked == 0)
        let counts = try await database.statusCounts()
        #expect(counts[.valid] == 108)
        #expect(counts[.invalid] == 12)
        // One staged outbox row per Owner per newly invalid page.
        #expect(try await database.outboxCounts().staged == 24)
    }

    /// Counts the transactions begun on the database's writer connection.
    final class TransactionCounter: Sendable {
        let count = Mutex(0)
    }

    @Test func decidedBatchesAreCommittedWholeOnceEachInNoMoreTransactionsThanBatches() async throws {
        try await seed((1...1_000).map { ("\(5000 + $0)", $0 % 50 == 0 ? "pw:\(5000 + $0)" : "valid:\(5000 + $0)") })
        let counter = TransactionCounter()
        try await database.writer.write { db in
            db.trace { event in
                if "\(event)".hasPrefix("BEGIN") { counter.count.withLock { $0 += 1 } }
            }
        }
        let graph = ScriptedGraph(Self.answerAll)
        let outcome = try await run(engine(graph), batchSize: 50, concurrency: 16)
        #expect(graph.sent.count == 20)
        #expect(outcome.valid == 980)
        #expect(outcome.invalid == 20)
        #expect(outcome.newlyInvalid.count == 20)
        let counts = try await database.statusCounts()
        #expect(counts[.valid] == 980)
        #expect(counts[.invalid] == 20)
        // Batches decided while a transaction runs wait and share the next one: never more
        // transactions than batches, and never more than CheckEngine.commitLimit pages in one.
        let transactions = counter.count.withLock { $0 }
        #expect(transactions <= 20)
        #expect(transactions >= 1_000 / CheckEngine.commitLimit)
        // Each page committed exactly once: one first-verdict entry in its log.
        for id in [5001, 5050, 5500, 5999, 6000] {
            let (_, events) = try await database.pageLog(pageID: "\(id)")
            #expect(events.count { $0.kind == .becameValid || $0.kind == .becameInvalid } == 1, "\(id)")
        }
        #expect(try await database.outboxCounts().staged == 40)
    }

    @Test func invalidTwiceInARowIsNewlyInvalidOnce() async throws {
        try await seed([("2001", "pw:2001")])
        let first = try await run(engine(ScriptedGraph(Self.answerAll)))
        let second = try await run(engine(ScriptedGraph(Self.answerAll)))
        #expect(first.newlyInvalid == ["2001"])
        #expect(second.newlyInvalid.isEmpty)
        let (_, events) = try await database.pageLog(pageID: "2001")
        #expect(events.filter { $0.kind == .becameInvalid }.count == 1)
        #expect(try await database.outboxCounts().staged == 2)
    }

    @Test func flakyItemsAreRetriedAndOnlyThemSentAgain() async throws {
        try await seed([("3001", "valid:3001"), ("3002", "valid:3002")])
        let clock = ImmediateClock()
        let graph = ScriptedGraph { call, tokens in
            DebugTokenBatch(
                outcomes: tokens.map { token in
                    call == 1 && token.hasSuffix("3002")
                        ? .graphError(GraphError(code: 2, message: "temporary", isTransient: true), httpStatus: 401)
                        : ScriptedGraph.answer(for: token)
                })
        }
        let outcome = try await run(engine(graph, clock: clock))
        #expect(outcome.valid == 2)
        #expect(graph.sent == [["valid:3001", "valid:3002"], ["valid:3002"]])
        #expect(clock.slept.count == 1)
    }

    @Test func outageTurnsNoPageInvalidAndStagesNoMail() async throws {
        try await seed([("4001", "valid:4001"), ("4002", "pw:4002")])
        _ = try await run(engine(ScriptedGraph(Self.answerAll)))
        let outage = ScriptedGraph { _, _ in throw GraphClientError.transport(.connectionFailed("refused")) }
        let outcome = try await run(engine(outage, maxAttempts: 3))
        #expect(outage.sent.count == 3)
        #expect(outcome.unknown == 2)
        #expect(outcome.newlyInvalid.isEmpty)
        let pages = try await database.pages()
        #expect(pages.map(\.status) == [.valid, .invalid])
        #expect(pages.allSatisfy { $0.lastCheckError?.contains("refused") == true })
    }

    /// Graph not there for long (every request fails to connect, nothing answers for 30 s and
    /// three requests per slot in a row): the run stops sending instead of retrying every
    /// batch; the pages it did not reach keep their status and say why.
    @Test func graphUnreachableForLongStopsSending() async throws {
        try await seed((1...40).map { ("\(6000 + $0)", "valid:\(6000 + $0)") })
        _ = try await run(engine(ScriptedGraph(Self.answerAll)))
        let outage = ScriptedGraph { _, _ in throw GraphClientError.transport(.connectionFailed("refused")) }
        let outcome = try await run(engine(outage, now: movingNow(step: 2)), batchSize: 5, concurrency: 1)
        #expect(outcome.graphUnreachable)
        // Without the stop: 8 batches, 3 attempts each.
        #expect(outage.sent.count < 24 && outage.sent.count >= CheckEngine.unreachableFailuresPerSlot)
        #expect(outcome.unchecked > 0)
        #expect(outcome.unknown + outcome.unchecked == 40)
        let pages = try await database.pages()
        #expect(pages.allSatisfy { $0.status == .valid })
        #expect(
            pages.filter { $0.lastCheckError?.contains("Graph unreachable for") == true }.count == outcome.unchecked)
    }

    /// Failures between answers are not an outage, however long the run: every page is
    /// decided, nothing is left unchecked.
    @Test func answersBetweenFailuresKeepTheRunGoing() async throws {
        try await seed((1...40).map { ("\(7000 + $0)", "valid:\(7000 + $0)") })
        let flaky = ScriptedGraph { call, tokens in
            if call % 2 == 1 { throw GraphClientError.transport(.connectionFailed("reset")) }
            return DebugTokenBatch(outcomes: tokens.map(ScriptedGraph.answer(for:)), servedVersion: "v25.0")
        }
        let outcome = try await run(engine(flaky, now: movingNow(step: 2)), batchSize: 5, concurrency: 1)
        #expect(!outcome.graphUnreachable)
        #expect(outcome.unchecked == 0)
        // Every page was asked about: decided, or undecided where all its attempts failed.
        #expect(outcome.valid + outcome.unknown == 40 && outcome.valid >= 30)
        #expect(flaky.sent.count > 8)
    }

    @Test func rateLimitStopsSendingAndLeavesTheRestUnchecked() async throws {
        try await seed((1...10).map { ("\(5000 + $0)", "valid:\(5000 + $0)") })
        let graph = ScriptedGraph { call, tokens in
            if call == 1 { return DebugTokenBatch(outcomes: tokens.map(ScriptedGraph.answer(for:))) }
            throw GraphClientError.rejected(
                GraphError(code: 4, message: "(#4) Application request limit reached"), httpStatus: 403,
                usage: GraphUsage(highestPercent: 100), servedVersion: nil)
        }
        let outcome = try await run(engine(graph), batchSize: 2, concurrency: 1)
        #expect(graph.sent.count == 2)
        #expect(outcome.valid == 2)
        #expect(outcome.unchecked == 8)
        #expect(outcome.rateLimited)
        let pages = try await database.pages(status: .unknown)
        #expect(pages.count == 8)
        #expect(pages.allSatisfy { $0.lastCheckError?.hasPrefix("not checked") == true })
    }

    @Test func highUsageHeaderStopsNewRequests() async throws {
        try await seed((1...6).map { ("\(6000 + $0)", "valid:\(6000 + $0)") })
        let graph = ScriptedGraph { _, tokens in
            DebugTokenBatch(outcomes: tokens.map(ScriptedGraph.answer(for:)), usage: GraphUsage(highestPercent: 95))
        }
        let outcome = try await run(engine(graph), batchSize: 2, concurrency: 1)
        #expect(graph.sent.count == 1)
        #expect(outcome.valid == 2)
        #expect(outcome.unchecked == 4)
    }

    @Test func rejectedAppCredentialsEndTheRunWithoutChanges() async throws {
        try await seed([("7001", "valid:7001")])
        let graph = ScriptedGraph { _, _ in
            throw GraphClientError.rejected(
                GraphError(code: 190, type: "OAuthException", message: "Invalid OAuth access token signature."),
                httpStatus: 400, usage: GraphUsage(), servedVersion: "v25.0")
        }
        await #expect(throws: CheckError.self) { try await run(engine(graph)) }
        #expect(try await database.pages().first?.status == .unknown)
        #expect(try await database.pages().first?.lastCheckError == nil)
    }

    @Test func dryRunWritesNothing() async throws {
        try await seed([("8001", "pw:8001")])
        let targets = try await database.checkTargets(pageIDs: nil, cipher: cipher)
        let outcome = try await engine(ScriptedGraph(Self.answerAll)).check(
            targets, options: CheckOptions(dryRun: true), runID: nil)
        #expect(outcome.verdicts.count == 1)
        #expect(outcome.newlyInvalid == ["8001"])
        #expect(try await database.pages().first?.status == .unknown)
        #expect(try await database.outboxCounts() == OutboxCounts())
    }

    /// Items that come back in reverse order would give each page another page's answer: the
    /// answer is not believed, the pages are retried and end undecided, never invalid.
    @Test func aReorderedAnswerIsNotBelievedAndTurnsNoPageInvalid() async throws {
        try await seed((1...4).map { ("\(9100 + $0)", "valid:\(9100 + $0)") })
        _ = try await run(engine(ScriptedGraph(Self.answerAll)))
        let reversed = ScriptedGraph { _, tokens in
            DebugTokenBatch(outcomes: tokens.reversed().map(ScriptedGraph.answer(for:)))
        }
        let outcome = try await run(engine(reversed, maxAttempts: 3))
        #expect(reversed.sent.count == 3)
        #expect(outcome.unknown == 4)
        #expect(outcome.invalid == 0)
        #expect(outcome.newlyInvalid.isEmpty)
        #expect(outcome.requests.error == 3)
        let pages = try await database.pages()
        #expect(pages.allSatisfy { $0.status == .valid })
        #expect(pages.allSatisfy { $0.lastCheckError?.contains("out of order") == true })
        #expect(try await database.outboxCounts() == OutboxCounts())
    }

    /// One item short (or one too many): no page is dropped or matched to the wrong answer.
    @Test func anAnswerWithTheWrongNumberOfItemsIsNotBelieved() async throws {
        try await seed((1...3).map { ("\(9200 + $0)", "pw:\(9200 + $0)") })
        let short = ScriptedGraph { _, tokens in
            DebugTokenBatch(outcomes: tokens.dropLast().map(ScriptedGraph.answer(for:)))
        }
        let outcome = try await run(engine(short, maxAttempts: 2))
        #expect(short.sent.count == 2)
        #expect(outcome.unknown == 3)
        #expect(outcome.invalid == 0)
        let pages = try await database.pages()
        #expect(
            pages.allSatisfy { $0.status == .unknown && $0.lastCheckError?.contains("2 items for 3 tokens") == true })
    }

    /// One token stored for two pages is answered the same for both: that is no reordering,
    /// and the page that holds another page's token is invalid for that reason.
    @Test func oneTokenStoredForTwoPagesIsStillDecided() async throws {
        try await seed([("9301", "valid:9301"), ("9302", "valid:9301")])
        let outcome = try await run(engine(ScriptedGraph(Self.answerAll)))
        #expect(outcome.valid == 1)
        #expect(outcome.invalid == 1)
        let pages = try await database.pages()
        #expect(pages.first { $0.pageID == "9302" }?.reason?.code == "other_page")
    }
}
