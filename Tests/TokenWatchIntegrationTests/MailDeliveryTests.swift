import Foundation
import GraphSimulator
import Testing

@testable import TokenWatchModel
@testable import TokenWatchStore

/// Issue #11, item 2 (SPEC.md "Mail delivery"), through the built binary and a real SMTP
/// server: a permanent refusal fails at once, a server that never speaks costs one timeout per
/// run, and `notify` run by a person sends now — or says why not and when the next try is.
@Suite("Mail delivery (binary)", .serialized)
struct MailDeliveryTests {
    /// Seeds one invalid page per company, each company with one Owner.
    func seed(_ harness: PipelineHarness, companies: Int, first: Int) async throws -> [String] {
        var owners: [String] = []
        for index in 0..<companies {
            let owner = "owner\(index)@company\(index).example"
            try await harness.seed(
                [(String(first + index), .passwordChanged)], company: "Company \(index)", owners: [owner])
            owners.append(owner)
        }
        return owners
    }

    @Test func aPermanentRefusalFailsTheDigestAtOnceAndIsNeverRetried() async throws {
        let sink = try await SMTPTestServer.start(reject: ["owner1@company1.example"])
        let harness = try await PipelineHarness()
        _ = try await seed(harness, companies: 2, first: 93_000)
        let env = harness.binaryEnvironment(smtpURL: sink.url)
        let check = try await TokenWatchBinary.run(["check"], environment: env)
        let notify = try await TokenWatchBinary.run(["notify"], environment: env)
        await harness.stop()

        #expect(check.status == 75, "\(check.all)")
        #expect(check.stdout.contains("digests: 1 sent, 1 failed"), "\(check.stdout)")
        #expect(try sink.messagesPerRecipient() == ["owner0@company0.example": 1])
        let counts = try await harness.workspace.database.outboxCounts()
        #expect(counts.failed == 1 && counts.pending == 0, "failed after one attempt, not ten: \(counts)")
        let (_, events) = try await harness.workspace.database.pageLog(pageID: "93001")
        let failed = try #require(events.first { $0.kind == .notificationFailed })
        #expect(failed.detail?.contains("refused it for good") == true, "\(failed.detail ?? "")")
        #expect(failed.detail?.contains("550") == true)
        // notify has nothing left to try: the refusal was final.
        #expect(notify.stdout.contains("0 sent, 0 failed"), "\(notify.stdout)")
        #expect(try sink.receivedMessages().count == 1)
        await sink.stop()
    }

    @Test func aServerThatNeverSpeaksCostsOneTimeoutPerRunNotOnePerOwner() async throws {
        let silent = try SilentListener()
        let harness = try await PipelineHarness()
        _ = try await seed(harness, companies: 20, first: 94_000)
        let env = harness.binaryEnvironment(
            smtpURL: "smtp://127.0.0.1:\(silent.port)",
            ["TOKENWATCH_HTTP_TIMEOUT": "2", "TOKENWATCH_RUN_TIMEOUT": "10"])
        let started = ContinuousClock.now
        let check = try await TokenWatchBinary.run(["check"], environment: env)
        let elapsed = ContinuousClock.now - started
        await harness.stop()

        #expect(check.status == 75, "\(check.all)")
        // One 2 s timeout, then sending stops: not 20 × 2 s, and within the run's 10 s.
        #expect(elapsed < .seconds(10), "took \(elapsed)")
        #expect(check.stdout.contains("digests: 0 sent, 1 failed"), "\(check.stdout)")
        #expect(check.stdout.contains("mail server could not be reached"), "\(check.stdout)")
        let counts = try await harness.workspace.database.outboxCounts()
        #expect(counts.pending == 20 && counts.failed == 0, "\(counts)")
    }

    @Test func notifyByAPersonSendsNowAndOtherwiseSaysWhy() async throws {
        let sink = try await SMTPTestServer.start(refuseRCPT: 1)
        let harness = try await PipelineHarness()
        _ = try await seed(harness, companies: 1, first: 95_000)
        let env = harness.binaryEnvironment(smtpURL: sink.url)
        // The first attempt meets a 451: pending, its automatic retry a minute away.
        let check = try await TokenWatchBinary.run(["check"], environment: env)
        #expect(check.status == 75, "\(check.all)")
        #expect(try await harness.workspace.database.outboxCounts().pending == 1)
        // The server is fine again; a person runs notify: it does not wait out the backoff.
        let notify = try await TokenWatchBinary.run(["notify"], environment: env)
        #expect(notify.status == 0, "\(notify.all)")
        #expect(notify.stdout.contains("digests: 1 sent, 0 failed"), "\(notify.stdout)")
        #expect(try sink.messagesPerRecipient() == ["owner0@company0.example": 1])
        // Nothing left: it says so instead of a bare count.
        let again = try await TokenWatchBinary.run(["notify"], environment: env)
        await harness.stop()
        #expect(again.status == 0, "\(again.all)")
        #expect(again.stdout.contains("nothing to send"), "\(again.stdout)")
        await sink.stop()
    }
}
