import Foundation
import GRDB
import Testing
import TokenWatchTestSupport

@testable import TokenWatchStore

/// "v3: outbox notice kind recovered" rebuilds the outbox (SQLite cannot alter a CHECK):
/// a database at v2 keeps every row and column, and takes `recovered` rows afterwards.
@Suite("Outbox migration v3")
struct OutboxMigrationTests {
    @Test func aV2OutboxKeepsItsRowsAndAcceptsRecovered() throws {
        let directory = try TestDirectory()
        let path = directory.file("v2.sqlite3")
        let queue = try DatabaseQueue(path: path)
        try AppDatabase.schema.migrate(queue, upTo: "v2: outbox claims and the wave")
        let now = Date(timeIntervalSince1970: 1_800_000_000)
        try queue.write { db in
            try db.execute(sql: "INSERT INTO company (name, created_at) VALUES ('Acme', ?)", arguments: [now])
            try db.execute(
                sql: """
                    INSERT INTO page (company_id, page_id, page_name, token_sealed, token_updated_at, status, created_at)
                    VALUES (1, '1001', 'Acme Jobs', x'00', ?, 'invalid', ?)
                    """, arguments: [now, now])
            try db.execute(
                sql: """
                    INSERT INTO outbox (page_ref, owner_email, kind, since, created_at, state, sent_at, claimed_by,
                                        from_valid)
                    VALUES (1, 'ann@acme.example', 'invalid', ?, ?, 'sent', ?, 'check:1', 1)
                    """, arguments: [now, now, now])
            #expect(throws: (any Error).self) {
                try db.execute(
                    sql:
                        "INSERT INTO outbox (page_ref, owner_email, kind, since, created_at) VALUES (1, 'a', 'recovered', ?, ?)",
                    arguments: [now, now])
            }
        }
        try AppDatabase.schema.migrate(queue)
        try queue.write { db in
            let row = try #require(try Row.fetchOne(db, sql: "SELECT * FROM outbox WHERE id = 1"))
            #expect(row["owner_email"] as String == "ann@acme.example")
            #expect(row["state"] as String == "sent")
            #expect(row["claimed_by"] as String? == "check:1")
            #expect(row["from_valid"] as Int == 1)
            try db.execute(
                sql:
                    "INSERT INTO outbox (page_ref, owner_email, kind, since, created_at) VALUES (1, 'a', 'recovered', ?, ?)",
                arguments: [now, now])
            #expect(throws: (any Error).self) {
                try db.execute(
                    sql:
                        "INSERT INTO outbox (page_ref, owner_email, kind, since, created_at) VALUES (1, 'a', 'bogus', ?, ?)",
                    arguments: [now, now])
            }
            #expect(try db.indexes(on: "outbox").contains { $0.name == "outbox_by_state" })
        }
    }
}
