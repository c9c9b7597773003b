import Foundation
import Testing
import TokenWatchTestSupport

@testable import TokenWatch
@testable import TokenWatchMail
@testable import TokenWatchModel
@testable import TokenWatchPostgres
@testable import TokenWatchStore

/// The store's contract, run against both backends (`StoreBackend`): what a file is, and what
/// only SQLite has (a key file beside it, WAL), stays SQLite-only.
@Suite("Store")
struct StoreTests {
    let now = Date(timeIntervalSince1970: 1_790_000_000)

    func upsert(_ id: String, name: String = "Page", token: String, company: String = "Acme") -> PageUpsert {
        PageUpsert(company: company, pageID: id, pageName: name, token: Secret(token), source: "test line 1")
    }

    @Test func keyFileIsPrivateAndNeverOverwritten() async throws {
        let directory = try await TemporaryStore().directory
        let path = directory.file("tw.sqlite3.key")
        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        #expect((attributes[.posixPermissions] as? NSNumber)?.intValue == 0o600)
        let before = try Data(contentsOf: URL(fileURLWithPath: path))
        #expect(try TokenCipher.createKeyFileIfMissing(at: path) == false)
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == before)
        #expect(before.count == 32)
    }

    @Test(arguments: StoreBackend.allCases)
    func reopeningMigratesInPlaceAndKeepsData(_ backend: StoreBackend) async throws {
        let temporary = try await TemporaryPageStore(backend)
        let (database, cipher) = (temporary.store, temporary.cipher)
        _ = try await database.upsertPages([upsert("1001", token: "EAAtok1")], cipher: cipher, actor: "test", now: now)
        let again = try await temporary.reopen(mode: .readWrite)
        #expect(try await again.appliedMigrations() == (try await database.appliedMigrations()))
        // PostgreSQL keeps its (status, last_checked_at) index: shards order by it.
        #expect(
            try await again.appliedMigrations().last == (backend == .sqlite ? "v6: pages by status" : "v5: shards"))
        #expect(try await again.pages().map(\.pageID) == ["1001"])
        again.close()
    }

    /// An event kind written by a newer TokenWatch is shown as what it is, never as another kind.
    @Test(arguments: StoreBackend.allCases)
    func anUnknownEventKindIsShownAsItself(_ backend: StoreBackend) async throws {
        let temporary = try await TemporaryPageStore(backend)
        let (database, cipher) = (temporary.store, temporary.cipher)
        _ = try await database.upsertPages([upsert("1001", token: "EAAtok1")], cipher: cipher, actor: "test", now: now)
        let insert = """
            INSERT INTO page_event (page_ref, at, kind, actor, detail)
            SELECT id, {time}, 'token_quarantined', 'cron', 'from the future' FROM page WHERE page_id = '1001'
            """
        try await temporary.execute(sqlite: insert, postgres: insert, time: now.addingTimeInterval(60))
        let (_, events) = try await database.pageLog(pageID: "1001")
        let future = try #require(events.first { $0.kindName == "token_quarantined" })
        #expect(future.kind == .unrecognized)
        #expect(future.phrase == "Unrecognized event “token_quarantined”")
        #expect(events.first { $0.kind == .connected }?.phrase == "Connected")
        #expect(
            PageOutput.logJSON(try #require(try await database.pages().first), events: events)
                .contains("\"kind\" : \"token_quarantined\""))
    }

    @Test(arguments: StoreBackend.allCases)
    func readOnlyOpeningReadsButNeverWrites(_ backend: StoreBackend) async throws {
        let temporary = try await TemporaryPageStore(backend)
        let (database, cipher) = (temporary.store, temporary.cipher)
        _ = try await database.upsertPages([upsert("1001", token: "EAAtok1")], cipher: cipher, actor: "test", now: now)
        let readOnly = try await temporary.reopen(mode: .readOnly)
        #expect(readOnly.mode == .readOnly)
        #expect(try await readOnly.pages().map(\.pageID) == ["1001"])
        try await readOnly.verifyKey(cipher)
        await #expect(throws: StoreError.self) {
            _ = try await readOnly.disconnect(pageID: "1001", reason: nil, actor: "test", now: now)
        }
        await #expect(throws: StoreError.self) { try await readOnly.throttleGraph(until: now) }
        #expect(try await database.pages().first?.status == .unknown)
        readOnly.close()
    }

    @Test func whatIsNotATokenWatchDatabaseIsRefusedBeforeSQLiteWritesIt() throws {
        let directory = try TestDirectory()
        let empty = directory.file("empty.sqlite3")
        #expect(FileManager.default.createFile(atPath: empty, contents: Data()))
        for mode in [AppDatabase.AccessMode.create, .readWrite, .readOnly] {
            #expect(throws: StoreError.notATokenWatchDatabase(path: empty, why: "an empty file")) {
                try AppDatabase.open(path: empty, mode: mode)
            }
        }
        #expect(try Data(contentsOf: URL(fileURLWithPath: empty)).isEmpty)
        let text = directory.file("notes.txt")
        try Data("SQLite format 2, honestly\n".utf8).write(to: URL(fileURLWithPath: text))
        #expect(throws: StoreError.notATokenWatchDatabase(path: text, why: "not an SQLite database")) {
            try AppDatabase.open(path: text, create: true)
        }
        #expect(throws: StoreError.notATokenWatchDatabase(path: directory.path, why: "a directory")) {
            try AppDatabase.open(path: directory.path, create: false)
        }
    }

    @Test func missingDatabaseIsNotCreatedWithoutInit() throws {
        let directory = try TestDirectory()
        #expect(throws: StoreError.notInitialised(path: directory.file("nope.sqlite3"))) {
            try AppDatabase.open(path: directory.file("nope.sqlite3"), create: false)
        }
        #expect(!FileManager.default.fileExists(atPath: directory.file("nope.sqlite3")))
    }

    @Test(arguments: StoreBackend.allCases)
    func wrongKeyIsRefusedBeforeAnythingIsRead(_ backend: StoreBackend) async throws {
        let temporary = try await TemporaryPageStore(backend)
        let (database, directory) = (temporary.store, temporary.directory)
        let other = directory.file("other.key")
        try TokenCipher.createKeyFileIfMissing(at: other)
        let wrong = try TokenCipher.load(keyFile: other)
        await #expect(throws: StoreError.wrongKey(path: other)) { try await database.verifyKey(wrong) }
    }

    @Test(arguments: StoreBackend.allCases)
    func tokensAreNotStoredInPlainText(_ backend: StoreBackend) async throws {
        let temporary = try await TemporaryPageStore(backend)
        let (database, cipher) = (temporary.store, temporary.cipher)
        let token = "EAAGsecretPageTokenValue1234567890"
        _ = try await database.upsertPages([upsert("1001", token: token)], cipher: cipher, actor: "test", now: now)
        let stored = try await temporary.storedBytes()
        #expect(stored.range(of: Data("1001".utf8)) != nil)
        #expect(stored.range(of: Data(token.utf8)) == nil)
        let targets = try await database.checkTargets(pageIDs: nil)
        #expect(try targets.first?.openedToken(with: cipher).reveal == token)
    }

    @Test(arguments: StoreBackend.allCases)
    func upsertLogsConnectRenewRenameAndSkipsIdenticalRows(_ backend: StoreBackend) async throws {
        let temporary = try await TemporaryPageStore(backend)
        let (database, cipher) = (temporary.store, temporary.cipher)
        var summary = try await database.upsertPages(
            [upsert("1001", token: "t1")], cipher: cipher, actor: "cli:ann", now: now)
        #expect(summary.added == ["1001"])
        summary = try await database.upsertPages(
            [upsert("1001", token: "t1")], cipher: cipher, actor: "cli:ann", now: now)
        #expect(summary.unchanged == ["1001"])
        summary = try await database.upsertPages(
            [upsert("1001", name: "New", token: "t2")], cipher: cipher, actor: "cli:ann", now: now)
        #expect(summary.renewed == ["1001"])
        #expect(summary.renamed == ["1001"])
        let (page, events) = try await database.pageLog(pageID: "1001")
        #expect(page.pageName == "New")
        #expect(events.map(\.kind) == [.connected, .renamed, .renewed])
        #expect(events.allSatisfy { $0.actor == "cli:ann" })
    }

    @Test(arguments: StoreBackend.allCases)
    func pageOfAnotherCompanyFailsTheWholeUpsert(_ backend: StoreBackend) async throws {
        let temporary = try await TemporaryPageStore(backend)
        let (database, cipher) = (temporary.store, temporary.cipher)
        _ = try await database.upsertPages(
            [upsert("1001", token: "t1", company: "Acme")], cipher: cipher, actor: "t", now: now)
        await #expect(throws: UpsertConflict.self) {
            try await database.upsertPages(
                [upsert("2002", token: "t2", company: "Beta"), upsert("1001", token: "t3", company: "Beta")],
                cipher: cipher, actor: "t", now: now)
        }
        #expect(try await database.pages().map(\.pageID) == ["1001"])
    }

    @Test(arguments: StoreBackend.allCases)
    func disconnectErasesTheTokenAndStopsChecking(_ backend: StoreBackend) async throws {
        let temporary = try await TemporaryPageStore(backend)
        let (database, cipher) = (temporary.store, temporary.cipher)
        _ = try await database.upsertPages([upsert("1001", token: "t1")], cipher: cipher, actor: "t", now: now)
        #expect(try await database.disconnect(pageID: "1001", reason: "client left", actor: "cli:ann", now: now))
        #expect(try await database.disconnect(pageID: "1001", reason: nil, actor: "cli:ann", now: now) == false)
        #expect(try await database.checkTargets(pageIDs: nil).isEmpty)
        let (page, events) = try await database.pageLog(pageID: "1001")
        #expect(page.status == .disconnected)
        #expect(events.last?.kind == .disconnected)
        #expect(events.last?.detail == "client left")
        // Importing it again reconnects it with the new token.
        let summary = try await database.upsertPages(
            [upsert("1001", token: "t9")], cipher: cipher, actor: "t", now: now)
        #expect(summary.reconnected == ["1001"])
        #expect(try await database.checkTargets(pageIDs: nil).first?.openedToken(with: cipher).reveal == "t9")
    }

    @Test(arguments: StoreBackend.allCases)
    func ownersAreAddedOnceAndListedPerCompany(_ backend: StoreBackend) async throws {
        let temporary = try await TemporaryPageStore(backend)
        let database = temporary.store
        #expect(
            try await database.addOwners(company: "Acme", emails: ["a@acme.test", "b@acme.test"], now: now).count == 2)
        #expect(try await database.addOwners(company: "Acme", emails: ["A@acme.test"], now: now).isEmpty)
        #expect(try await database.owners(company: "Acme").map(\.email) == ["a@acme.test", "b@acme.test"])
        #expect(try await database.removeOwners(company: "Acme", emails: ["a@acme.test"]) == ["a@acme.test"])
        #expect(MailAddress.problem(with: "ok@example.com") == nil)
        #expect(MailAddress.problem(with: "evil@example.com\r\nBcc: x@y.z") != nil)
        #expect(MailAddress.problem(with: "no-at-sign") != nil)
    }
}

/// What both backends must agree on beyond the single-page basics: the shard filter, the
/// shared back-off, an import that fails half-way, and one notice's way through the outbox.
@Suite("Store, both backends")
struct SharedStoreTests {
    let now = Date(timeIntervalSince1970: 1_790_000_000)

    func upsert(_ id: String, name: String = "Page", token: String, company: String = "Acme") -> PageUpsert {
        PageUpsert(company: company, pageID: id, pageName: name, token: Secret(token), source: "test line \(id)")
    }

    @Test(arguments: StoreBackend.allCases)
    func shardTargetsAreExactlyTheShardsPages(_ backend: StoreBackend) async throws {
        let temporary = try await TemporaryPageStore(backend)
        // Numeric IDs like Meta's, and odd ones: about half of the hashes have the top bit set
        // (a negative BIGINT in PostgreSQL).
        let ids = (0..<1_500).map { String(100_000_000_000_000 + $0 * 7_919) } + ["x", "", "ünï", "a/b"]
        _ = try await temporary.store.upsertPages(
            ids.map { upsert($0, token: "t\($0)") }, cipher: temporary.cipher, actor: "test", now: now)
        #expect(ids.contains { Shard.hash($0) >= 1 << 63 })
        for count in [1, 2, 3, 4, 7, 16] {
            var union: [String] = []
            for index in 0..<count {
                let shard = try #require(Shard(index: index, count: count))
                let picked = try await temporary.store.checkTargets(pageIDs: nil, shard: shard).map(\.pageID)
                #expect(Set(picked) == Set(ids.filter { shard.contains(pageID: $0) }), "shard \(shard)")
                union += picked
            }
            #expect(union.count == ids.count)
            #expect(Set(union) == Set(ids))
        }
    }

    @Test(arguments: StoreBackend.allCases)
    func graphBackOffKeepsTheLaterTime(_ backend: StoreBackend) async throws {
        let temporary = try await TemporaryPageStore(backend)
        let store = temporary.store
        #expect(try await store.graphThrottledUntil() == nil)
        try await store.throttleGraph(until: now.addingTimeInterval(120))
        try await store.throttleGraph(until: now.addingTimeInterval(60))
        #expect(try await store.graphThrottledUntil() == now.addingTimeInterval(120))
        try await store.throttleGraph(until: now.addingTimeInterval(300.5))
        #expect(try await store.graphThrottledUntil() == now.addingTimeInterval(300.5))
    }

    struct ReaderFailed: Error, Equatable {}

    @Test(arguments: StoreBackend.allCases)
    func anImportThatFailsHalfWayWritesNothing(_ backend: StoreBackend) async throws {
        let temporary = try await TemporaryPageStore(backend)
        let (store, cipher) = (temporary.store, temporary.cipher)
        let first = (0..<1_000).map { upsert(String(5_000 + $0), token: "t\($0)") }
        await #expect(throws: ReaderFailed()) {
            _ = try await store.upsertPages(cipher: cipher, actor: "test", now: now) { write in
                try write(first)
                throw ReaderFailed()
            }
        }
        #expect(try await store.pages().isEmpty)
        // Chunks commit together; a page repeated in a chunk is decided against its first row.
        let summary = try await store.upsertPages(cipher: cipher, actor: "test", now: now) { write in
            try write(Array(first.prefix(600)))
            try write(Array(first.suffix(400)) + [upsert("5000", name: "Renamed", token: "t0")])
        }
        #expect(summary.added.count == 1_000)
        #expect(summary.renamed == ["5000"])
        #expect(try await store.pages().count == 1_000)
        let (page, events) = try await store.pageLog(pageID: "5000")
        #expect(page.pageName == "Renamed")
        #expect(events.map(\.kind) == [.connected, .renamed])
        #expect(events.last?.detail == "renamed from \"Page\" to \"Renamed\"")
        #expect(try await store.integrityCheck() == "ok")
    }

    @Test(arguments: StoreBackend.allCases)
    func aRunChecksPagesNeverCheckedFirstThenTheLongestUnchecked(_ backend: StoreBackend) async throws {
        let temporary = try await TemporaryPageStore(backend)
        let (store, cipher) = (temporary.store, temporary.cipher)
        // Connected in an order unlike both their IDs and their check times.
        let ids = ["1005", "1002", "1006", "1001", "1004", "1003"]
        _ = try await store.upsertPages(
            ids.map { upsert($0, name: "Page \($0)", token: "t\($0)") }, cipher: cipher, actor: "test", now: now)
        let runID = try await store.startRun(
            actor: "cron", configuredVersion: "v23.0", pagesTotal: ids.count, shard: nil, now: now)
        let facts = TokenFacts(scopes: ["pages_messaging"], expiresAt: nil)
        // 1004 and 1002 checked an hour later than 1006 and 1003; 1005 and 1001 never.
        for (pages, at) in [(["1004", "1002"], now.addingTimeInterval(3_600)), (["1006", "1003"], now)] {
            let targets = try await store.checkTargets(pageIDs: pages)
            _ = try await store.commit(
                targets.map { PageCheckResult(target: $0, verdict: .valid(facts)) }, requiredScopes: [],
                runID: runID, actor: "cron", now: at)
        }
        let order = try await store.checkTargets(pageIDs: nil).map(\.pageID)
        // Never checked first (in the order they were added), then the longest unchecked.
        #expect(order == ["1005", "1001", "1006", "1003", "1002", "1004"])
    }

    @Test(arguments: StoreBackend.allCases)
    func aNoticeGoesThroughTheOutboxAndBackToValid(_ backend: StoreBackend) async throws {
        let temporary = try await TemporaryPageStore(backend)
        let (store, cipher) = (temporary.store, temporary.cipher)
        _ = try await store.upsertPages(
            [upsert("1001", name: "Jobs", token: "t1"), upsert("1002", name: "News", token: "t2")], cipher: cipher,
            actor: "test", now: now)
        #expect(
            try await store.addOwners(company: "Acme", emails: ["Ann@acme.example", "bob@acme.example"], now: now)
                == ["Ann@acme.example", "bob@acme.example"])
        #expect(try await store.companiesWithoutOwners().isEmpty)
        let runID = try await store.startRun(
            actor: "cron", configuredVersion: "v23.0", pagesTotal: 2, shard: Shard(index: 0, count: 1), now: now)
        let targets = try await store.checkTargets(pageIDs: nil)
        let facts = TokenFacts(scopes: ["pages_messaging"], expiresAt: now.addingTimeInterval(86_400))
        var commit = try await store.commit(
            targets.map { target in
                PageCheckResult(
                    target: target,
                    verdict: target.pageID == "1001"
                        ? .valid(facts)
                        : .invalid(.passwordChanged, facts: nil, error: GraphErrorCode(code: 190, subcode: 460)))
            }, requiredScopes: ["pages_messaging"], runID: runID, actor: "cron", now: now)
        #expect(commit.becameValid == ["1001"])
        #expect(commit.firstChecks == ["1001"])
        #expect(commit.newlyInvalid == ["1002"])
        #expect(commit.outboxRows == 2)
        #expect(try await store.stagedWave() == StagedWave(wave: 0, validBefore: 1, pages: 1))
        #expect(try await store.promoteStaged(hold: false, actor: "cron", now: now) == 2)
        #expect(try await store.waitingNotifications()["1002"]?["pending"] == ["Ann@acme.example", "bob@acme.example"])
        #expect(try await store.expiringCount(now: now, warningDays: 2) == 1)
        #expect(try await store.statusCounts() == [.valid: 1, .invalid: 1])

        let lease = now.addingTimeInterval(600)
        let ann = try #require(
            try await store.claimNextDigest(
                sender: "a", now: now, leaseUntil: lease, ignoreBackoff: false, skipping: []))
        #expect(ann.map(\.ownerEmail) == ["Ann@acme.example"])
        #expect(ann.first?.reason == .passwordChanged)
        // Another sender takes the next Owner, never Ann's rows while the lease lasts.
        let bob = try #require(
            try await store.claimNextDigest(
                sender: "b", now: now, leaseUntil: lease, ignoreBackoff: false, skipping: []))
        #expect(bob.map(\.ownerEmail) == ["bob@acme.example"])
        #expect(
            try await store.claimNextDigest(
                sender: "c", now: now, leaseUntil: lease, ignoreBackoff: false, skipping: []) == nil)
        #expect(try await store.markSent(ann, sender: "b", messageID: "<x@y>", actor: "notify", now: now) == 0)
        #expect(try await store.markSent(ann, sender: "a", messageID: "<x@y>", actor: "notify", now: now) == 1)
        #expect(
            try await store.markAttemptFailed(
                bob, sender: "b", error: "451 try later", permanent: false, nextAttemptAt: now.addingTimeInterval(60),
                maxAttempts: 5, actor: "notify", now: now) == false)
        #expect(try await store.lastOutboxError() == "451 try later")
        #expect(try await store.nextAutomaticAttempt() == now.addingTimeInterval(60))
        var counts = OutboxCounts()
        (counts.pending, counts.sent) = (1, 1)
        #expect(try await store.outboxCounts() == counts)

        // Valid again: Ann, who was told, gets a "Back to Valid" notice; Bob, never told, not.
        let later = now.addingTimeInterval(3_600)
        let again = try await store.checkTargets(pageIDs: ["1002"])
        commit = try await store.commit(
            again.map { PageCheckResult(target: $0, verdict: .valid(facts)) }, requiredScopes: [], runID: runID,
            actor: "cron", now: later)
        #expect(commit.becameValid == ["1002"])
        #expect(commit.firstChecks.isEmpty)
        #expect(try await store.dropStaleNotices(actor: "notify", now: later) == 1)
        let recovered = try #require(
            try await store.claimNextDigest(
                sender: "a", now: later, leaseUntil: later.addingTimeInterval(600), ignoreBackoff: false,
                skipping: []))
        #expect(recovered.map(\.kind) == [.recovered])
        #expect(recovered.map(\.ownerEmail) == ["Ann@acme.example"])
        try await store.releaseClaims(recovered, sender: "a")

        let (_, events) = try await store.pageLog(pageID: "1002")
        #expect(
            events.map(\.kind) == [.connected, .becameInvalid, .ownerNotified, .becameValid, .notificationDropped])
        #expect(events[2].detail == "digest sent to Ann@acme.example")
        #expect(events[4].detail == "notification to bob@acme.example dropped: the page is valid again")
        #expect(try await store.recentEvents(limit: 2)["1002"]?.map(\.kind) == [.notificationDropped, .becameValid])
        #expect(try await store.logEntryCounts() == ["1001": 2, "1002": 5])

        var finished = CheckRunRecord(id: runID, startedAt: now, actor: "cron")
        finished.endedAt = later
        finished.exitCode = 0
        finished.outcome = "ok"
        finished.checked = 2
        finished.pagesTotal = 2
        finished.configuredVersion = "v23.0"
        finished.shard = Shard(index: 0, count: 1)
        try await store.finishRun(finished)
        #expect(try await store.lastRun() == finished)
        #expect(try await store.lastShardRuns(count: 1) == [0: finished])
        #expect(try await store.lastSuccessfulRunEnd() == later)
        #expect(try await store.integrityCheck() == "ok")
    }

    /// A claim passes over the Owners its dispatch already tried, in address order and
    /// without case, however many there are: the next one it finds is the first not tried.
    @Test(arguments: StoreBackend.allCases)
    func aClaimPassesOverTheOwnersAlreadyTried(_ backend: StoreBackend) async throws {
        let temporary = try await TemporaryPageStore(backend)
        let store = temporary.store
        _ = try await store.upsertPages(
            [upsert("1001", name: "Jobs", token: "t1"), upsert("1002", name: "News", token: "t2")],
            cipher: temporary.cipher, actor: "test", now: now)
        let emails = (0..<40).map {
            ($0 % 3 == 0 ? "Owner" : "owner") + ($0 < 10 ? "0\($0)" : "\($0)") + "@acme.example"
        }
        _ = try await store.addOwners(company: "Acme", emails: emails, now: now)
        let runID = try await store.startRun(
            actor: "cron", configuredVersion: "v23.0", pagesTotal: 2, shard: Shard(index: 0, count: 1), now: now)
        _ = try await store.commit(
            try await store.checkTargets(pageIDs: nil).map { target in
                PageCheckResult(
                    target: target,
                    verdict: .invalid(.passwordChanged, facts: nil, error: GraphErrorCode(code: 190, subcode: 460)))
            }, requiredScopes: [], runID: runID, actor: "cron", now: now)
        #expect(try await store.promoteStaged(hold: false, actor: "cron", now: now) == 80)

        func claim(skipping: Set<String>) async throws -> [OutboxItem]? {
            try await store.claimNextDigest(
                sender: "a", now: now, leaseUntil: now.addingTimeInterval(600), ignoreBackoff: false,
                skipping: skipping, recoveryAlone: true)
        }
        // Tried: the first 25, lowercased as the dispatcher keeps them, but one as written.
        var tried = Set(emails.prefix(25).map { $0.lowercased() })
        tried.remove("owner03@acme.example")
        tried.insert("Owner03@acme.example")
        let next = try #require(try await claim(skipping: tried))
        #expect(next.map(\.ownerEmail) == [emails[25], emails[25]])
        try await store.releaseClaims(next, sender: "a")
        // Every Owner tried: nothing left for this dispatch, though every row is pending.
        #expect(try await claim(skipping: Set(emails.map { $0.lowercased() })) == nil)
        #expect(try await store.outboxCounts().pending == 80)
    }
}
