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

    /// Every page, disconnected ones included, in the order reports list them as far as SQLite
    /// can tell: by status (invalid, unknown, valid, disconnected), then company and page name
    /// case-insensitively (SQLite's `lower()` folds ASCII letters only) and then as written,
    /// then page ID by length and digits. A report checks the order with its own comparison
    /// and sorts only when SQLite's differs (names outside ASCII): a sorted copy of a million
    /// pages is not made for nothing.
    public func pagesInReportOrder() async throws(StoreError) -> [PageRecord] {
        try await pagesInReportOrder(each: { _ in })
    }

    /// The same, handing each page to `each` as it is read (on the reading thread).
    public func pagesInReportOrder(each: @escaping @Sendable (PageRecord) -> Void) async throws(StoreError)
        -> [PageRecord]
    {
        try await read { db in
            var pages: [PageRecord] = []
            // Room for all of them at once: grown by doubling, a million pages' array was held
            // one and a half times while it moved.
            pages.reserveCapacity(try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM page") ?? 0)
            var lists = ScopeLists()
            let rows = try Row.fetchCursor(
                db,
                sql: """
                    SELECT \(Self.pageColumns) FROM page JOIN company ON company.id = page.company_id
                    ORDER BY CASE page.status WHEN 'invalid' THEN 0 WHEN 'valid' THEN 2
                                              WHEN 'disconnected' THEN 3 ELSE 1 END,
                             lower(company.name), company.name, lower(page.page_name), page.page_name,
                             length(page.page_id), page.page_id
                    """)
            while let row = try rows.next() {
                let page = Self.pageRecord(row, scopes: &lists)
                each(page)
                pages.append(page)
            }
            return pages
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
