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

    /// Company → its Owners' addresses, sorted: every company with at least one Owner.
    public func ownersByCompany() async throws(StoreError) -> [String: [String]] {
        var owners: [String: [String]] = [:]
        for owner in try await self.owners(company: nil) { owners[owner.company, default: []].append(owner.email) }
        return owners
    }
}
