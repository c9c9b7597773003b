import Foundation
import GraphSimulator
import Testing

@testable import TokenWatch
@testable import TokenWatchCheck
@testable import TokenWatchModel
@testable import TokenWatchStore
@testable import TokenWatchTemplates

/// `check` end to end in-process: the real pipeline (libcurl, verdict rules, SQLite, report,
/// digests as .eml files) against the Graph simulator on loopback.
@Suite("Check pipeline against the simulator", .serialized)
struct CheckPipelineTests {
    /// Every behaviour the simulator knows, and the status and reason TokenWatch must reach.
    static let table: [(TokenBehaviour, PageStatus, String?)] = [
        (.valid, .valid, nil),
        (.passwordChanged, .invalid, "password_changed"),
        (.expired, .invalid, "expired"),
        (.appRemoved, .invalid, "app_removed"),
        (.checkpoint, .invalid, "security_checkpoint"),
        (.unconfirmedUser, .invalid, "unconfirmed_account"),
        (.revoked, .invalid, "revoked"),
        (.loggedOut, .invalid, "logged_out"),
        (.roleRemoved, .invalid, "page_role_removed"),
        (.invalidWithoutSubcode, .invalid, "token_invalid"),
        (.systemErrorMessage, .invalid, "token_invalid"),
        (.garbage, .invalid, "token_invalid"),
        (.garbageAsItemError, .invalid, "token_invalid"),
        (.otherPage, .invalid, "other_page"),
        (.otherApp, .invalid, "other_app"),
        (.userToken, .invalid, "not_a_page_token"),
        (.missingPermissions, .invalid, "missing_permissions"),
        (.dataAccessExpiringSoon, .valid, nil),
        (.dataAccessExpired, .valid, nil),
        (.expiringSoon, .valid, nil),
        (.flaky(failures: 2), .valid, nil),
        (.permissionError, .invalid, "permission_error"),
    ]

    @Test func everyBehaviourGetsItsVerdictAndOwnersOneDigest() async throws {
        let harness = try await PipelineHarness()
        // Even Page IDs: the simulator's "other page" (the ID + 1) is then not a page of the same
        // batch, which would make the whole answer look reordered and not be believed.
        let pages = Self.table.enumerated().map { (String(9_000_000_000 + 2 * $0.offset), $0.element.0) }
        try await harness.seed(pages, owners: ["owner@acme.example", "cto@acme.example"])
        let result = try await harness.check()
        await harness.stop()
        #expect(result.outcome.status == .completed, "\(result.outcome.summary) \(result.outcome.reasons)")
        for (index, expected) in Self.table.enumerated() {
            let page = try #require(try await harness.page(String(9_000_000_000 + 2 * index)))
            #expect(page.status == expected.1, "\(expected.0)")
            #expect(page.reason?.code == expected.2, "\(expected.0)")
        }
        let invalidCount = Self.table.count { $0.1 == .invalid }
        #expect(result.outcome.newlyInvalid.count == invalidCount)
        // One digest per Owner, each listing every newly invalid page.
        #expect(harness.mailFiles.count == 2)
        for file in harness.mailFiles {
            let message = harness.mail(file)
            #expect(message.contains("Auto-Submitted: auto-generated"))
            #expect(!message.contains("simtok_"))
            #expect(!message.contains(PipelineHarness.appSecret))
        }
        let report = try #require(result.reportFiles)
        let html = try String(contentsOfFile: report.html, encoding: .utf8)
        let csv = try String(contentsOfFile: report.csv, encoding: .utf8)
        #expect(!html.contains("simtok_") && !csv.contains("simtok_"))
        #expect(!html.contains(PipelineHarness.appSecret))
        #expect(FileManager.default.fileExists(atPath: harness.directory.file("reports/latest.html")))
        let metrics = try String(contentsOfFile: harness.directory.file("metrics.prom"), encoding: .utf8)
        #expect(metrics.contains("tokenwatch_pages_newly_invalid \(invalidCount)"))
        #expect(metrics.contains("tokenwatch_last_run_exit_code 0"))
    }

    /// A page's first successful check is not a change: after an import it would mark every
    /// page "changed in this run". A page that turns invalid, or valid again, is one.
    @Test func aFirstSuccessfulCheckIsNotAChangeButTurningValidAgainIs() async throws {
        let harness = try await PipelineHarness()
        try await harness.seed([("9601", .valid), ("9602", .passwordChanged), ("9603", .valid)])
        let first = try await harness.check()
        #expect(first.outcome.changedPageIDs == ["9602"], "\(first.outcome.changedPageIDs)")
        #expect(Set(first.outcome.becameValid) == ["9601", "9603"])
        // 9602 is renewed with a working token: valid again, which is news.
        _ = try await harness.workspace.database.upsertPages(
            [
                PageUpsert(
                    company: "Acme", pageID: "9602", pageName: "Page 9602",
                    token: Secret(GraphSimulator.token(.valid, page: "9602", suffix: "renewed")), source: "test")
            ], cipher: harness.workspace.cipher, actor: "test", now: Date())
        let second = try await harness.check()
        await harness.stop()
        #expect(second.outcome.changedPageIDs == ["9602"], "\(second.outcome.changedPageIDs)")
    }

    @Test func aSecondRunFindsNothingNewAndSendsNothing() async throws {
        let harness = try await PipelineHarness()
        try await harness.seed([("1001", .passwordChanged), ("1002", .valid)])
        let first = try await harness.check()
        let second = try await harness.check()
        await harness.stop()
        #expect(first.outcome.newlyInvalid == ["1001"])
        #expect(second.outcome.newlyInvalid.isEmpty == true)
        #expect(second.outcome.digests.sent == 0)
        #expect(harness.mailFiles.count == 1)
        let (_, events) = try await harness.workspace.database.pageLog(pageID: "1001")
        #expect(events.map(\.kind) == [.connected, .becameInvalid, .ownerNotified])
    }

    @Test func anOutageChangesNoStatusAndEmailsNobody() async throws {
        let harness = try await PipelineHarness()
        try await harness.seed([("2001", .valid), ("2002", .valid)])
        _ = try await harness.check()
        for fault in [GraphFault.outage, .htmlOutage, .dropConnection, .truncatedBody, .transientUnauthorized] {
            harness.simulator.clearFaults()
            harness.simulator.setFault(fault)
            let result = try await harness.check()
            #expect(result.outcome.status == .partial, "\(fault)")
            #expect(result.outcome.undecided == 2, "\(fault)")
            #expect(try await harness.status("2001") == .valid, "\(fault)")
        }
        await harness.stop()
        #expect(harness.mailFiles.isEmpty)
        #expect(try await harness.workspace.database.outboxCounts() == OutboxCounts())
    }

    @Test func nullAndMalformedItemsAreUnknownNotInvalid() async throws {
        let harness = try await PipelineHarness()
        try await harness.seed((1...6).map { ("\(3000 + $0)", TokenBehaviour.valid) })
        // Null items come back on retry (in a smaller batch, so they answer).
        harness.simulator.setFault(.nullItems(every: 2))
        let retried = try await harness.check(CheckOptions(concurrency: 1, batchSize: 6))
        #expect(retried.outcome.invalid == 0)
        #expect(retried.outcome.valid == 6)
        #expect(harness.simulator.stats.batchRequests >= 2)
        // Items that never answer stay unknown: never invalid, status kept.
        harness.simulator.setFault(.nullItems(every: 1))
        let nulls = try await harness.check(CheckOptions(concurrency: 1, batchSize: 6))
        #expect(nulls.outcome.status == .partial)
        #expect(nulls.outcome.undecided == 6)
        harness.simulator.setFault(.malformedItems(every: 1))
        let malformed = try await harness.check(CheckOptions(concurrency: 1, batchSize: 6))
        await harness.stop()
        #expect(malformed.outcome.undecided == 6)
        #expect(try await harness.workspace.database.pages(status: .valid).count == 6)
    }

    @Test func aRateLimitStopsSendingAndLeavesTheRestUnchecked() async throws {
        let harness = try await PipelineHarness()
        try await harness.seed((1...20).map { ("\(4000 + $0)", TokenBehaviour.valid) })
        // Each item counts as a call, as on Graph: two batches of 5 pass, the third is refused.
        harness.simulator.setFault(.rateLimit(afterCalls: 10))
        let result = try await harness.check(CheckOptions(concurrency: 1, batchSize: 5))
        let stats = harness.simulator.stats
        await harness.stop()
        #expect(result.outcome.status == .partial)
        #expect(result.outcome.valid == 10)
        #expect(result.outcome.unchecked == 10)
        #expect(stats.httpRequests == 3)
        #expect(try await harness.workspace.database.pages(status: .unknown).count == 10)
    }

    @Test func onlyFailedItemsAreSentAgain() async throws {
        let harness = try await PipelineHarness()
        try await harness.seed([("5001", .valid), ("5002", .flaky(failures: 1)), ("5003", .valid)])
        let result = try await harness.check()
        let stats = harness.simulator.stats
        await harness.stop()
        #expect(result.outcome.valid == 3)
        #expect(stats.debugCount(for: GraphSimulator.token(.valid, page: "5001", suffix: "t")) == 1)
        #expect(stats.debugCount(for: GraphSimulator.token(.flaky(failures: 1), page: "5002", suffix: "t")) == 2)
    }

    @Test func batchesHoldAtMostFiftyAndTheWidthIsBounded() async throws {
        let harness = try await PipelineHarness()
        try await harness.seed((1...230).map { (String(6_000_000 + $0), TokenBehaviour.valid) })
        harness.simulator.setFault(.latency(milliseconds: 30))
        let result = try await harness.check(CheckOptions(concurrency: 3, batchSize: 50))
        let stats = harness.simulator.stats
        await harness.stop()
        #expect(result.outcome.valid == 230)
        #expect(stats.itemsPerBatch.allSatisfy { $0 <= 50 })
        #expect(stats.batchRequests == 5)
        #expect(stats.maxInFlight <= 3)
        #expect(stats.maxInFlight >= 2)
    }

    @Test func aRejectedAppSecretIsAConfigurationErrorAndChangesNothing() async throws {
        let harness = try await PipelineHarness { $0.appSecret = Secret("not-the-secret") }
        try await harness.seed([("7001", .passwordChanged)])
        let result = try await harness.check()
        await harness.stop()
        #expect(result.outcome.status == .configurationError)
        #expect(result.outcome.summary.contains("TOKENWATCH_APP_SECRET"))
        #expect(!result.outcome.summary.contains("not-the-secret"))
        #expect(try await harness.status("7001") == .unknown)
        #expect(harness.mailFiles.isEmpty)
    }

    @Test func aMassInvalidationHoldsDigestsUntilReleased() async throws {
        let harness = try await PipelineHarness()
        let ids = (1...30).map { String(8_000_000 + $0) }
        try await harness.seed(ids.map { ($0, TokenBehaviour.valid) }, owners: ["a@acme.example", "b@acme.example"])
        _ = try await harness.check()
        for id in ids.prefix(25) {
            harness.simulator.register(
                token: GraphSimulator.token(.valid, page: id, suffix: "t"), as: .passwordChanged, page: id)
        }
        let wave = try await harness.check()
        #expect(wave.outcome.status == .partial)
        #expect(wave.outcome.summary.contains("MASS INVALIDATION"))
        #expect(harness.mailFiles.isEmpty)
        #expect(try await harness.workspace.database.outboxCounts().held == 50)
        let html = try String(contentsOfFile: try #require(wave.reportFiles).html, encoding: .utf8)
        #expect(html.contains("Mass invalidation"))
        // A later run keeps them held and sends nothing.
        let later = try await harness.check()
        #expect(later.outcome.status == .partial)
        #expect(harness.mailFiles.isEmpty)
        await harness.stop()
        let transport = try Services(configuration: harness.configuration, logger: harness.logger).mailTransport()
        let notify = Notify(
            workspace: harness.workspace, templates: try TemplateSet(), transport: transport, logger: harness.logger)
        let released = try await notify.run(releaseHeld: true, dropHeld: false, actor: "cli:ops")
        #expect(released.status == .completed, "\(released.summary)")
        #expect(harness.mailFiles.count == 2)
        let again = try await notify.run(releaseHeld: false, dropHeld: false, actor: "cli:ops")
        #expect(again.summary.contains("0 sent"))
        #expect(harness.mailFiles.count == 2)
        let (_, events) = try await harness.workspace.database.pageLog(pageID: ids[0])
        #expect(events.map(\.kind).contains(.notificationHeld))
        #expect(events.map(\.kind).last == .ownerNotified)
    }

    @Test func aPageValidAgainBeforeSendingIsDropped() async throws {
        let harness = try await PipelineHarness()
        try await harness.seed([("9101", .passwordChanged)])
        _ = try await harness.check(email: false)
        #expect(try await harness.workspace.database.outboxCounts().pending == 1)
        harness.simulator.register(
            token: GraphSimulator.token(.passwordChanged, page: "9101", suffix: "t"), as: .valid, page: "9101")
        let result = try await harness.check()
        await harness.stop()
        #expect(try await harness.status("9101") == .valid)
        #expect(result.outcome.digests.sent == 0)
        #expect(harness.mailFiles.isEmpty)
        let (_, events) = try await harness.workspace.database.pageLog(pageID: "9101")
        #expect(events.map(\.kind).contains(.notificationDropped))
    }

    @Test func aClaimedNotificationIsNotDroppedWhileItsLeaseLasts() async throws {
        let harness = try await PipelineHarness()
        try await harness.seed([("9151", .passwordChanged)], owners: ["gone@acme.example"])
        _ = try await harness.check(email: false)
        await harness.stop()
        let database = harness.workspace.database
        let now = Date()
        let leaseUntil = now.addingTimeInterval(80)
        // Another sender has the digest on the wire when the Owner is removed.
        let claimed = try await database.claimNextDigest(
            sender: "notify:other", now: now, leaseUntil: leaseUntil, ignoreBackoff: true, skipping: [])
        #expect(claimed?.count == 1)
        _ = try await database.removeOwners(company: "Acme", emails: ["gone@acme.example"])
        #expect(try await database.dropStaleNotices(actor: "cron", now: now.addingTimeInterval(1)) == 0)
        // Its sender logs what happened; had it died, the row is dropped once the lease runs out.
        #expect(try await database.dropStaleNotices(actor: "cron", now: leaseUntil.addingTimeInterval(1)) == 1)
        let (_, events) = try await database.pageLog(pageID: "9151")
        #expect(events.map(\.kind).last == .notificationDropped)
    }

    @Test func aServedVersionOtherThanConfiguredIsRecorded() async throws {
        let harness = try await PipelineHarness { $0.graphVersion = "v19.0" }
        try await harness.seed([("9201", .valid)])
        let result = try await harness.check()
        await harness.stop()
        #expect(result.outcome.servedVersion == "v25.0")
        let html = try String(contentsOfFile: try #require(result.reportFiles).html, encoding: .utf8)
        #expect(html.contains("v25.0"))
        #expect(try await harness.workspace.database.lastRun()?.servedVersion == "v25.0")
    }

    @Test func anExpiringPageIsWarnedOnceBeforeItBreaks() async throws {
        let harness = try await PipelineHarness()
        try await harness.seed([("9301", .expiringSoon), ("9302", .valid)])
        let first = try await harness.check()
        let second = try await harness.check()
        await harness.stop()
        #expect(first.outcome.status == .completed, "\(first.outcome.summary)")
        #expect(try await harness.status("9301") == .valid)
        #expect(first.outcome.digests.sent == 1)
        #expect(second.outcome.digests.sent == 0)
        #expect(harness.mailFiles.count == 1)
        let message = harness.mail(try #require(harness.mailFiles.first))
        #expect(message.contains("9301"))
        #expect(!message.contains("9302"))
        let (_, events) = try await harness.workspace.database.pageLog(pageID: "9301")
        #expect(events.count { $0.kind == .expiringWarned } == 1)
        let html = try String(contentsOfFile: try #require(first.reportFiles).html, encoding: .utf8)
        #expect(html.lowercased().contains("expiring"))
    }

    @Test func aPageStillInvalidIsRemindedOncePerPeriodWhenOptedIn() async throws {
        let harness = try await PipelineHarness { $0.remindAfterDays = 3 }
        try await harness.seed([("9401", .revoked)])
        _ = try await harness.check()
        #expect(harness.mailFiles.count == 1)
        let sameWeek = try await harness.check(now: { Date().addingTimeInterval(86_400) })
        #expect(sameWeek.outcome.digests.sent == 0)
        let later = try await harness.check(now: { Date().addingTimeInterval(4 * 86_400) })
        #expect(later.outcome.digests.sent == 1)
        let again = try await harness.check(now: { Date().addingTimeInterval(5 * 86_400) })
        await harness.stop()
        #expect(again.outcome.digests.sent == 0)
        #expect(harness.mailFiles.count == 2)
        let reminder = harness.mailFiles.map(harness.mail).first { $0.contains("eminder") }
        #expect(reminder != nil)
    }

    @Test func heldDigestsClearThemselvesWhenTheWaveWasAnIncident() async throws {
        let harness = try await PipelineHarness()
        let ids = (1...24).map { String(8_100_000 + $0) }
        try await harness.seed(ids.map { ($0, TokenBehaviour.valid) })
        _ = try await harness.check()
        let tokens = ids.map { GraphSimulator.token(.valid, page: $0, suffix: "t") }
        for (id, token) in zip(ids, tokens) { harness.simulator.register(token: token, as: .revoked, page: id) }
        let wave = try await harness.check()
        #expect(wave.outcome.summary.contains("MASS INVALIDATION"))
        #expect(try await harness.workspace.database.outboxCounts().held == 24)
        for (id, token) in zip(ids, tokens) { harness.simulator.register(token: token, as: .valid, page: id) }
        let recovered = try await harness.check()
        await harness.stop()
        #expect(recovered.outcome.status == .completed, "\(recovered.outcome.summary)")
        let counts = try await harness.workspace.database.outboxCounts()
        #expect(counts.held == 0)
        #expect(counts.dropped == 24)
        #expect(harness.mailFiles.isEmpty)
    }
}
