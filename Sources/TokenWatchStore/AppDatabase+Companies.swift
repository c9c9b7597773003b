import Foundation
import GRDB

extension AppDatabase {
    /// Every company that has a page (of any status) or an Owner, by name: what a command's
    /// `--company` may name.
    public func companyNames() async throws(StoreError) -> [String] {
        try await read { db in
            try String.fetchAll(
                db,
                sql: """
                    SELECT name FROM company
                    WHERE EXISTS (SELECT 1 FROM page WHERE page.company_id = company.id)
                       OR EXISTS (SELECT 1 FROM owner WHERE owner.company_id = company.id)
                    ORDER BY name
                    """)
        }
    }
}
