import Foundation
import GraphSimulator
import Testing

@testable import TokenWatchModel
@testable import TokenWatchStore

/// Issue #10's acceptance tests for the outbox's senders (SPEC.md "Mail delivery"): the built
/// binary, two at a time, against a real SMTP server that is slow to accept, so the senders
/// overlap while a message is in flight. Whoever sends, every Owner gets exactly one digest
/// and every page logs exactly one `owner_notified` per Owner; a removed Owner gets nothing
/// that was not already on the wire, and the page log says which happened.
@Suite("Concurrent digest senders (binary)", .serialized)
struct ConcurrentSendersTests {
    /// How long the SMTP sink waits before its final 250 to DATA: long enough that a second
    /// sender starts while the first is mid-message, well under TOKENWATCH_HTTP_TIMEOUT (5 s).
    static let slowAcceptMilliseconds = 1000

    /// Six Owner addresses across three companies; `shared@owners.example` owns pages of two,
    /// so its one digest carries pages of both.
    static let owners: [String: [String]] = [
        "Acme": ["a1@acme.example", "a2@acme.example", "shared@owners.example"],
        "Beta": ["b1@beta.example", "b2@beta.example", "shared@owners.example"],
        "Gamma": ["g1@gamma.example"],
    ]
    static let invalidPages: [String: [(String, TokenBehaviour)]] = [
        "Acme": [("10001", .passwordChanged), ("10002", .revoked)],
        "Beta": [("20001", .loggedOut), ("20002", .checkpoint)],
        "Gamma": [("30001", .expired)],
    ]
    static var everyOwner: Set<String> { Set(owners.values.joined()) }
    /// One outbox row per Owner per newly invalid page.
    static var rowCount: Int { invalidPages.map { $0.value.count * owners[$0.key, default: []].count }.reduce(0, +) }

    /// Seeds the companies and their pages; with `decide`, a check without email decides them,
    /// so every notification waits, pending, in the outbox.
    func seedFleet(_ harness: PipelineHarness, decide: Bool) async throws {
        for (company, pages) in Self.invalidPages.sorted(by: { $0.key < $1.key }) {
            try await harness.seed(pages, company: company, owners: Self.owners[company] ?? [])
        }
        try await harness.seed([("10009", .valid)], company: "Acme", owners: [])
        guard decide else { return }
        let decided = try await harness.check(email: false)
        #expect(decided.outcome.newlyInvalid.count == 5)
        #expect(try await harness.workspace.database.outboxCounts().pending == Self.rowCount)
    }

    /// What both overlapping-sender tests demand of the result.
    func expectEveryDigestDeliveredOnce(
        _ sink: SMTPTestServer, _ harness: PipelineHarness, sourceLocation: SourceLocation = #_sourceLocation
    ) async throws {
        let perRecipient = try sink.messagesPerRecipient()
        #expect(Set(perRecipient.keys) == Self.everyOwner, sourceLocation: sourceLocation)
        for (owner, count) in perRecipient {
            #expect(count == 1, "\(owner) received \(count) digests", sourceLocation: sourceLocation)
        }
        for (company, pages) in Self.invalidPages {
            for (pageID, _) in pages {
                let notified = try await harness.notifiedOwners(pageID)
                #expect(
                    notified.sorted() == (Self.owners[company] ?? []).sorted(),
                    "page \(pageID): owner_notified for \(notified)", sourceLocation: sourceLocation)
            }
        }
        let counts = try await harness.workspace.database.outboxCounts()
        #expect(counts.sent == Self.rowCount, sourceLocation: sourceLocation)
        #expect(counts.pending == 0 && counts.failed == 0, sourceLocation: sourceLocation)
    }

    /// `N` from a summary's "digests: N sent".
    static func digestsSent(_ output: String) -> Int? {
        guard let match = output.firstMatch(of: #/digests: (\d+) sent/#) else { return nil }
        return Int(match.1)
    }

    /// SIGTERM while `notify` is sending: the message in flight is finished and recorded (never
    /// sent again by the next sender), no new one starts, and notify exits 75 saying so.
    @Test func sigtermLetsTheMessageInFlightFinishAndStartsNoOther() async throws {
        let sink = try await SMTPTestServer.start(delayDataMilliseconds: Self.slowAcceptMilliseconds)
        let harness = try await PipelineHarness()
        try await seedFleet(harness, decide: true)
        let env = harness.binaryEnvironment(smtpURL: sink.url)
        let notify = try await TokenWatchBinary.start(["notify"], environment: env, timeoutSeconds: 60)
        // Once the first message is stored, the sink is still holding back its final 250.
        let inFlight = try await eventually(within: 20) { (try sink.receivedMessages().count) >= 1 }
        notify.send(SIGTERM)
        let stopped = try await notify.result()
        #expect(inFlight)
        #expect(stopped.status == 75 && !stopped.signalled, "\(stopped.all)")
        #expect(stopped.stdout.contains("sending stopped: stopped by a signal"), "\(stopped.stdout)")
        let delivered = try sink.receivedMessages().count
        #expect(delivered == 1, "one message was on the wire; \(delivered) arrived")
        let counts = try await harness.workspace.database.outboxCounts()
        #expect(counts.sent >= 1 && counts.pending == Self.rowCount - counts.sent, "\(counts)")

        // The next sender sends the rest, and nothing twice.
        let rest = try await TokenWatchBinary.run(["notify"], environment: env, timeoutSeconds: 60)
        await harness.stop()
        #expect(rest.status == 0, "\(rest.all)")
        try await expectEveryDigestDeliveredOnce(sink, harness)
        await sink.stop()
    }

    @Test func twoNotifyProcessesSendEachDigestOnce() async throws {
        let sink = try await SMTPTestServer.start(delayDataMilliseconds: Self.slowAcceptMilliseconds)
        let harness = try await PipelineHarness()
        try await seedFleet(harness, decide: true)
        let env = harness.binaryEnvironment(smtpURL: sink.url)

        let first = try await TokenWatchBinary.start(["notify"], environment: env, timeoutSeconds: 60)
        try await Task.sleep(for: .milliseconds(300))
        let second = try await TokenWatchBinary.start(["notify"], environment: env, timeoutSeconds: 60)
        let results = [try await first.result(), try await second.result()]
        await harness.stop()

        for result in results {
            // A notify that ends while the other still holds a claim says 75 (still pending).
            #expect(result.status == 0 || result.status == 75, "\(result.all)")
            #expect(!result.signalled)
        }
        let sent = results.map { Self.digestsSent($0.stdout) ?? -1 }
        #expect(sent.reduce(0, +) == Self.everyOwner.count, "\(results.map(\.stdout))")
        // Both really sent: the two senders overlapped rather than ran one after the other.
        #expect(sent.allSatisfy { $0 > 0 }, "\(results.map(\.stdout))")
        try await expectEveryDigestDeliveredOnce(sink, harness)
        #expect(try sink.receivedMessages().count == Self.everyOwner.count)
        await sink.stop()
    }

    @Test func aNotifyDuringACheckSendsEachDigestOnce() async throws {
        let sink = try await SMTPTestServer.start(delayDataMilliseconds: Self.slowAcceptMilliseconds)
        let harness = try await PipelineHarness()
        try await seedFleet(harness, decide: false)
        let env = harness.binaryEnvironment(smtpURL: sink.url)

        let check = try await TokenWatchBinary.start(["check"], environment: env, timeoutSeconds: 60)
        // The sink stores a message before its slow 250: once one is there, check is sending.
        let sending = try await eventually(within: 30) { try !sink.receivedMessages().isEmpty }
        #expect(sending, "check never started sending")
        let notify = try await TokenWatchBinary.start(["notify"], environment: env, timeoutSeconds: 60)
        let checkResult = try await check.result()
        let notifyResult = try await notify.result()
        await harness.stop()

        #expect(checkResult.status == 0 || checkResult.status == 75, "\(checkResult.all)")
        #expect(notifyResult.status == 0 || notifyResult.status == 75, "\(notifyResult.all)")
        #expect(checkResult.stdout.contains("5 invalid (5 new)"), "\(checkResult.stdout)")
        let sentByCheck = Self.digestsSent(checkResult.stdout) ?? -1
        let sentByNotify = Self.digestsSent(notifyResult.stdout) ?? -1
        #expect(sentByCheck + sentByNotify == Self.everyOwner.count, "\(checkResult.stdout) | \(notifyResult.stdout)")
        #expect(sentByCheck > 0 && sentByNotify > 0, "\(checkResult.stdout) | \(notifyResult.stdout)")
        try await expectEveryDigestDeliveredOnce(sink, harness)
        await sink.stop()
    }

    @Test func anOwnerRemovedBeforeNotifyGetsNothingAndThePageLogSaysDropped() async throws {
        let sink = try await SMTPTestServer.start()
        let harness = try await PipelineHarness()
        try await harness.seed(
            [("40001", .passwordChanged), ("40002", .revoked)], owners: ["keep@acme.example", "gone@acme.example"])
        _ = try await harness.check(email: false)
        #expect(try await harness.workspace.database.outboxCounts().pending == 4)
        let env = harness.binaryEnvironment(smtpURL: sink.url)

        let removed = try await TokenWatchBinary.run(
            ["owners", "remove", "--company", "Acme", "gone@acme.example"], environment: env)
        #expect(removed.status == 0, "\(removed.all)")
        let notify = try await TokenWatchBinary.run(["notify"], environment: env)
        await harness.stop()
        #expect(notify.status == 0, "\(notify.all)")
        #expect(notify.stdout.contains("2 dropped"), "\(notify.stdout)")

        #expect(try sink.messagesPerRecipient() == ["keep@acme.example": 1])
        await sink.stop()
        for pageID in ["40001", "40002"] {
            let log = try await TokenWatchBinary.run(["pages", "log", pageID, "--format", "json"], environment: env)
            #expect(log.status == 0, "\(log.all)")
            let json = try #require(try JSONSerialization.jsonObject(with: Data(log.stdout.utf8)) as? [String: Any])
            let events = try #require(json["events"] as? [[String: Any]])
            let details = { (kind: String) in
                events.filter { $0["kind"] as? String == kind }.compactMap { $0["detail"] as? String }
            }
            let dropped = details("notification_dropped")
            #expect(dropped.count == 1, "page \(pageID): \(dropped)")
            #expect(dropped.first?.contains("gone@acme.example") == true)
            #expect(dropped.first?.contains("no longer an Owner") == true)
            let notified = details("owner_notified")
            #expect(notified.count == 1, "page \(pageID): \(notified)")
            #expect(notified.allSatisfy { $0.contains("keep@acme.example") })
        }
        let counts = try await harness.workspace.database.outboxCounts()
        #expect(counts.dropped == 2 && counts.sent == 2 && counts.pending == 0)
    }

    @Test func anOwnerRemovedWhileTheirDigestIsInFlightIsLoggedAsNotifiedNotDropped() async throws {
        let sink = try await SMTPTestServer.start(delayDataMilliseconds: 3000)
        let harness = try await PipelineHarness()
        // The check sends in address order: first to the Owner who is about to be removed.
        try await harness.seed(
            [("45001", .passwordChanged), ("45002", .revoked)], owners: ["a-gone@acme.example", "keep@acme.example"])
        let env = harness.binaryEnvironment(smtpURL: sink.url)

        let check = try await TokenWatchBinary.start(["check"], environment: env, timeoutSeconds: 60)
        let sending = try await eventually(within: 30) { try !sink.receivedMessages().isEmpty }
        #expect(sending, "check never started sending")
        // While that digest waits for its 250, the Owner is removed and a notify runs.
        let removed = try await TokenWatchBinary.run(
            ["owners", "remove", "--company", "Acme", "a-gone@acme.example"], environment: env)
        let waiting = try await harness.workspace.database.waitingNotifications()
        #expect(
            waiting["45001"]?["pending"]?.contains("a-gone@acme.example") == true,
            "the digest to a-gone@ was no longer in flight when notify started: the race was not exercised")
        let notify = try await TokenWatchBinary.run(["notify"], environment: env)
        let checkResult = try await check.result()
        await harness.stop()
        #expect(removed.status == 0, "\(removed.all)")
        #expect(notify.status == 0 || notify.status == 75, "\(notify.all)")
        #expect(checkResult.status == 0 || checkResult.status == 75, "\(checkResult.all)")
        // The digest in flight was delivered, so each page's log says so — not that it was dropped.
        #expect(try sink.messagesPerRecipient() == ["a-gone@acme.example": 1, "keep@acme.example": 1])
        await sink.stop()
        for pageID in ["45001", "45002"] {
            #expect(try await harness.notifiedOwners(pageID).sorted() == ["a-gone@acme.example", "keep@acme.example"])
            let (_, events) = try await harness.workspace.database.pageLog(pageID: pageID)
            let dropped = events.filter { $0.kind == .notificationDropped }.compactMap(\.detail)
            #expect(dropped.isEmpty, "page \(pageID): \(dropped)")
        }
        let counts = try await harness.workspace.database.outboxCounts()
        #expect(counts.sent == 4 && counts.dropped == 0 && counts.pending == 0)
    }
}
