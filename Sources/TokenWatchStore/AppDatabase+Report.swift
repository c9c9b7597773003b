import Foundation
import GRDB
import TokenWatchModel

extension AppDatabase {
    /// Page ID → how many log entries the page has, for the report's "N older entries".
    public func logEntryCounts() async throws(StoreError) -> [String: Int] {
        try await read { db in
            var counts: [String: Int] = [:]
            let rows = try Row.fetchCursor(
                db,
                sql: """
                    SELECT page.page_id, COUNT(*) AS n FROM page_event
                    JOIN page ON page.id = page_event.page_ref GROUP BY page_event.page_ref
                    """)
            while let row = try rows.next() { counts[row[0]] = row[1] }
            return counts
        }
    }

    /// Page ID → how many log entries the page has, for these pages only (IDs not stored, or
    /// without entries, are absent). A report of 1,000,000 pages asks for the few it shows in full.
    public func logEntryCounts(pageIDs: [String]) async throws(StoreError) -> [String: Int] {
        try await read { db in
            var counts: [String: Int] = [:]
            for start in stride(from: 0, to: pageIDs.count, by: Self.idChunk) {
                let chunk = Array(pageIDs[start..<min(start + Self.idChunk, pageIDs.count)])
                let rows = try Row.fetchCursor(
                    db,
                    sql: """
                        SELECT page.page_id, COUNT(*) AS n FROM page_event
                        JOIN page ON page.id = page_event.page_ref
                        WHERE page.page_id IN (\(databaseQuestionMarks(count: chunk.count)))
                        GROUP BY page_event.page_ref
                        """, arguments: StatementArguments(chunk))
                while let row = try rows.next() { counts[row[0]] = row[1] }
            }
            return counts
        }
    }

    /// The last `limit` log entries of these pages only, newest first, keyed by Page ID.
    public func recentEvents(limit: Int, pageIDs: [String]) async throws(StoreError) -> [String: [PageEvent]] {
        try await read { db in
            var events: [String: [PageEvent]] = [:]
            for start in stride(from: 0, to: pageIDs.count, by: Self.idChunk) {
                let chunk = Array(pageIDs[start..<min(start + Self.idChunk, pageIDs.count)])
                let rows = try Row.fetchCursor(
                    db,
                    sql: """
                        SELECT page.page_id, e.at, e.kind, e.actor, e.detail FROM (
                            SELECT page_ref, at, kind, actor, detail,
                                   ROW_NUMBER() OVER (PARTITION BY page_ref ORDER BY id DESC) AS n
                            FROM page_event
                            WHERE page_ref IN (SELECT id FROM page WHERE page_id IN (\(databaseQuestionMarks(count: chunk.count))))
                        ) AS e
                        JOIN page ON page.id = e.page_ref
                        WHERE e.n <= ? ORDER BY page.page_id, e.n
                        """, arguments: StatementArguments(chunk) + [limit])
                while let row = try rows.next() { events[row["page_id"], default: []].append(Self.pageEvent(row)) }
            }
            return events
        }
    }

    /// Page IDs per `IN (…)` list: far below SQLite's limit on parameters.
    static let idChunk = 500

    /// Company → its Owners' addresses, sorted: every company with at least one Owner.
    public func ownersByCompany() async throws(StoreError) -> [String: [String]] {
        var owners: [String: [String]] = [:]
        for owner in try await self.owners(company: nil) { owners[owner.company, default: []].append(owner.email) }
        return owners
    }
}
