import Foundation
import Testing
import TokenWatchTestSupport

@testable import TokenWatch
@testable import TokenWatchMail
@testable import TokenWatchModel
@testable import TokenWatchStore

@Suite("Store")
struct StoreTests {
    let directory: TestDirectory
    let database: AppDatabase
    let cipher: TokenCipher
    let now = Date(timeIntervalSince1970: 1_790_000_000)

    init() async throws {
        let store = try await TemporaryStore()
        (directory, database, cipher) = (store.directory, store.database, store.cipher)
    }

    func upsert(_ id: String, name: String = "Page", token: String, company: String = "Acme") -> PageUpsert {
        PageUpsert(company: company, pageID: id, pageName: name, token: Secret(token), source: "test line 1")
    }

    @Test func keyFileIsPrivateAndNeverOverwritten() throws {
        let path = directory.file("tw.sqlite3.key")
        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        #expect((attributes[.posixPermissions] as? NSNumber)?.intValue == 0o600)
        let before = try Data(contentsOf: URL(fileURLWithPath: path))
        #expect(try TokenCipher.createKeyFileIfMissing(at: path) == false)
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == before)
        #expect(before.count == 32)
    }

    @Test func reopeningMigratesInPlaceAndKeepsData() async throws {
        _ = try await database.upsertPages([upsert("1001", token: "EAAtok1")], cipher: cipher, actor: "test", now: now)
        let again = try AppDatabase.open(path: database.path, create: false)
        #expect(try again.appliedMigrations() == (try database.appliedMigrations()))
        #expect(try await again.pages().map(\.pageID) == ["1001"])
    }

    /// An event kind written by a newer TokenWatch is shown as what it is, never as another kind.
    @Test func anUnknownEventKindIsShownAsItself() async throws {
        _ = try await database.upsertPages([upsert("1001", token: "EAAtok1")], cipher: cipher, actor: "test", now: now)
        try await database.writer.write { db in
            try db.execute(
                sql: """
                    INSERT INTO page_event (page_ref, at, kind, actor, detail)
                    SELECT id, ?, 'token_quarantined', 'cron', 'from the future' FROM page WHERE page_id = '1001'
                    """, arguments: [now.addingTimeInterval(60)])
        }
        let (_, events) = try await database.pageLog(pageID: "1001")
        let future = try #require(events.first { $0.kindName == "token_quarantined" })
        #expect(future.kind == .unrecognized)
        #expect(future.phrase == "Unrecognized event “token_quarantined”")
        #expect(events.first { $0.kind == .connected }?.phrase == "Connected")
        #expect(
            PageOutput.logJSON(try #require(try await database.pages().first), events: events)
                .contains("\"kind\" : \"token_quarantined\""))
    }

    @Test func readOnlyOpeningReadsButNeverWrites() async throws {
        _ = try await database.upsertPages([upsert("1001", token: "EAAtok1")], cipher: cipher, actor: "test", now: now)
        let readOnly = try AppDatabase.open(path: database.path, mode: .readOnly)
        #expect(readOnly.mode == .readOnly)
        #expect(try await readOnly.pages().map(\.pageID) == ["1001"])
        try await readOnly.verifyKey(cipher)
        await #expect(throws: StoreError.self) {
            _ = try await readOnly.disconnect(pageID: "1001", reason: nil, actor: "test", now: now)
        }
        #expect(try await database.pages().first?.status == .unknown)
    }

    @Test func whatIsNotATokenWatchDatabaseIsRefusedBeforeSQLiteWritesIt() throws {
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
        #expect(throws: StoreError.notInitialised(path: directory.file("nope.sqlite3"))) {
            try AppDatabase.open(path: directory.file("nope.sqlite3"), create: false)
        }
        #expect(!FileManager.default.fileExists(atPath: directory.file("nope.sqlite3")))
    }

    @Test func wrongKeyIsRefusedBeforeAnythingIsRead() async throws {
        let other = directory.file("other.key")
        try TokenCipher.createKeyFileIfMissing(at: other)
        let wrong = try TokenCipher.load(keyFile: other)
        await #expect(throws: StoreError.wrongKey(path: other)) { try await database.verifyKey(wrong) }
    }

    @Test func tokensAreNotStoredInPlainText() async throws {
        let token = "EAAGsecretPageTokenValue1234567890"
        _ = try await database.upsertPages([upsert("1001", token: token)], cipher: cipher, actor: "test", now: now)
        let raw = try Data(contentsOf: URL(fileURLWithPath: database.path))
        let wal = (try? Data(contentsOf: URL(fileURLWithPath: database.path + "-wal"))) ?? Data()
        #expect(raw.range(of: Data(token.utf8)) == nil)
        #expect(wal.range(of: Data(token.utf8)) == nil)
        let targets = try await database.checkTargets(pageIDs: nil, cipher: cipher)
        #expect(targets.first?.token.reveal == token)
    }

    @Test func upsertLogsConnectRenewRenameAndSkipsIdenticalRows() async throws {
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

    @Test func pageOfAnotherCompanyFailsTheWholeUpsert() async throws {
        _ = try await database.upsertPages(
            [upsert("1001", token: "t1", company: "Acme")], cipher: cipher, actor: "t", now: now)
        await #expect(throws: UpsertConflict.self) {
            try await database.upsertPages(
                [upsert("2002", token: "t2", company: "Beta"), upsert("1001", token: "t3", company: "Beta")],
                cipher: cipher, actor: "t", now: now)
        }
        #expect(try await database.pages().map(\.pageID) == ["1001"])
    }

    @Test func disconnectErasesTheTokenAndStopsChecking() async throws {
        _ = try await database.upsertPages([upsert("1001", token: "t1")], cipher: cipher, actor: "t", now: now)
        #expect(try await database.disconnect(pageID: "1001", reason: "client left", actor: "cli:ann", now: now))
        #expect(try await database.disconnect(pageID: "1001", reason: nil, actor: "cli:ann", now: now) == false)
        #expect(try await database.checkTargets(pageIDs: nil, cipher: cipher).isEmpty)
        let (page, events) = try await database.pageLog(pageID: "1001")
        #expect(page.status == .disconnected)
        #expect(events.last?.kind == .disconnected)
        #expect(events.last?.detail == "client left")
        // Importing it again reconnects it with the new token.
        let summary = try await database.upsertPages(
            [upsert("1001", token: "t9")], cipher: cipher, actor: "t", now: now)
        #expect(summary.reconnected == ["1001"])
        #expect(try await database.checkTargets(pageIDs: nil, cipher: cipher).first?.token.reveal == "t9")
    }

    @Test func ownersAreAddedOnceAndListedPerCompany() async throws {
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
