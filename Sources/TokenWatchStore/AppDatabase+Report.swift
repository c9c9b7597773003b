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
        try await pagesInReportOrder(chunkPages: Self.reportChunkPages, each: each)
    }

    /// Past this many pages of one status, they are read a few companies at a time.
    static let reportChunkPages = 8_192

    /// Where each stored status comes in report order; any other sorts with `unknown`, as the
    /// reports put it.
    static let reportRank = ["invalid": 0, "unknown": 1, "valid": 2, "disconnected": 3]

    /// Reads the pages in report order one status at a time, and a status with more than
    /// `chunkPages` pages, at least a quarter of them all, a few companies at a time
    /// (companies in order, about `chunkPages` pages each): SQLite then sorts small sets, and
    /// the first page comes in milliseconds instead of after a sort of every page (0.2 s at
    /// 100,000 pages, while the spreadsheet waited for its first row) — and the whole read
    /// takes less, not more.
    func pagesInReportOrder(chunkPages: Int, each: @Sendable (PageRecord) -> Void) async throws(StoreError)
        -> [PageRecord]
    {
        try await read { db in
            var counts: [String: Int] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT status, COUNT(*) FROM page GROUP BY status") {
                counts[row[0]] = row[1]
            }
            let total = counts.values.reduce(0, +)
            var pages: [PageRecord] = []
            // Room for all of them at once: grown by doubling, a million pages' array was held
            // one and a half times while it moved.
            pages.reserveCapacity(total)
            var lists = ScopeLists()
            func fetch(_ sql: String, _ arguments: StatementArguments) throws {
                let rows = try Row.fetchCursor(db, sql: sql, arguments: arguments)
                while let row = try rows.next() {
                    let page = Self.pageRecord(row, scopes: &lists)
                    each(page)
                    pages.append(page)
                }
            }
            let order = """
                lower(company.name), company.name, lower(page.page_name), page.page_name,
                length(page.page_id), page.page_id
                """
            var companyChunks: [[Int64]]?
            let statuses = counts.keys.sorted { a, b in
                (Self.reportRank[a] ?? 1, a) < (Self.reportRank[b] ?? 1, b)
            }
            for status in statuses {
                let count = counts[status] ?? 0
                // A run of companies visits all their pages to find this status's: worth it
                // for a status that is a good part of the fleet, not for 1 % of a million
                // (which sorts in milliseconds anyway).
                guard count > chunkPages, count * 4 >= total else {
                    try fetch(
                        """
                        SELECT \(Self.pageColumns) FROM page JOIN company ON company.id = page.company_id
                        WHERE page.status = ? ORDER BY \(order)
                        """, [status])
                    continue
                }
                if companyChunks == nil { companyChunks = try Self.companyChunks(db, pages: chunkPages) }
                for chunk in companyChunks ?? [] {
                    // Forced: without statistics SQLite may pick the status index and walk
                    // every page of the status once per chunk.
                    try fetch(
                        """
                        SELECT \(Self.pageColumns) FROM page INDEXED BY page_by_company
                        JOIN company ON company.id = page.company_id
                        WHERE page.status = ? AND page.company_id IN (\(SQLPlaceholders.list(chunk.count)))
                        ORDER BY \(order)
                        """, [status] + StatementArguments(chunk))
                }
            }
            return pages
        }
    }

    /// The companies' IDs in report order (name case-insensitively, then as written; names are
    /// unique), cut into runs of about `pages` pages and at most `idChunk` companies.
    private static func companyChunks(_ db: Database, pages: Int) throws -> [[Int64]] {
        var chunks: [[Int64]] = []
        var chunk: [Int64] = []
        var inChunk = 0
        let rows = try Row.fetchCursor(
            db,
            sql: """
                SELECT company.id, (SELECT COUNT(*) FROM page WHERE page.company_id = company.id)
                FROM company ORDER BY lower(company.name), company.name
                """)
        while let row = try rows.next() {
            chunk.append(row[0])
            inChunk += row[1] as Int
            if inChunk >= pages || chunk.count >= idChunk {
                chunks.append(chunk)
                chunk = []
                inChunk = 0
            }
        }
        if !chunk.isEmpty { chunks.append(chunk) }
        return chunks
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
