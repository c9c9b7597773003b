import Foundation
import Logging
import PostgresNIO
import TokenWatchStore

// Owner addresses compare without case, as SQLite's `COLLATE NOCASE` column does: through
// `lower()`, with the unique index on `(company_id, lower(email))`.
extension PostgresStore {
    /// Every company that has a page (of any status) or an Owner, by name.
    public func companyNames() async throws(StoreError) -> [String] {
        try await read { connection in
            var names: [String] = []
            for try await name in try await connection.query(
                """
                SELECT name FROM company
                WHERE EXISTS (SELECT 1 FROM page WHERE page.company_id = company.id)
                   OR EXISTS (SELECT 1 FROM owner WHERE owner.company_id = company.id)
                ORDER BY name
                """, logger: logger
            ).decode(String.self) {
                names.append(name)
            }
            return names
        }
    }

    /// Adds Owners to a company, creating the company if needed. Returns the addresses that
    /// were new (an address already there, in any case, is left alone).
    public func addOwners(company: String, emails: [String], now: Date) async throws(StoreError) -> [String] {
        try await write { connection in
            guard
                let companyID = try await Self.companyID(
                    connection, name: company, create: true, now: now, logger: logger)
            else { throw StoreError.database("company \"\(company)\" was not created") }
            var added: [String] = []
            for email in emails {
                let inserted = try await connection.rows(
                    """
                    INSERT INTO owner (company_id, email, created_at) VALUES (\(companyID), \(email), \(now))
                    ON CONFLICT (company_id, lower(email)) DO NOTHING RETURNING id
                    """, logger)
                if !inserted.isEmpty { added.append(email) }
            }
            return added
        }
    }

    /// Removes Owners from a company. Returns the addresses that were there.
    public func removeOwners(company: String, emails: [String]) async throws(StoreError) -> [String] {
        try await write { connection in
            guard
                let companyID = try await Self.companyID(
                    connection, name: company, create: false, now: Date(), logger: logger)
            else { throw StoreError.notFound("no company named \"\(company)\"") }
            var removed: [String] = []
            for email in emails {
                let deleted = try await connection.rows(
                    """
                    DELETE FROM owner WHERE company_id = \(companyID) AND lower(email) = lower(\(email)) RETURNING id
                    """, logger)
                if !deleted.isEmpty { removed.append(email) }
            }
            return removed
        }
    }

    /// Owners, by company then address; one company only when `company` is given.
    public func owners(company: String?) async throws(StoreError) -> [OwnerRecord] {
        var builder = QueryBuilder(
            "SELECT company.name, owner.email FROM owner JOIN company ON company.id = owner.company_id")
        if let company { builder.append(" WHERE company.name = \(builder.bind(company))") }
        builder.append(" ORDER BY company.name, lower(owner.email), owner.email")
        let query = builder.query
        return try await read { connection in
            var owners: [OwnerRecord] = []
            for try await (company, email) in try await connection.query(query, logger: logger).decode(
                (String, String).self)
            {
                owners.append(OwnerRecord(company: company, email: email))
            }
            return owners
        }
    }

    /// Company names that have pages being watched but no Owner to tell.
    public func companiesWithoutOwners() async throws(StoreError) -> [String] {
        try await read { connection in
            var names: [String] = []
            for try await name in try await connection.query(
                """
                SELECT DISTINCT company.name FROM company
                JOIN page ON page.company_id = company.id AND page.status != 'disconnected'
                WHERE NOT EXISTS (SELECT 1 FROM owner WHERE owner.company_id = company.id)
                ORDER BY company.name
                """, logger: logger
            ).decode(String.self) {
                names.append(name)
            }
            return names
        }
    }

    /// Company → its Owners' addresses, sorted: every company with at least one Owner.
    public func ownersByCompany() async throws(StoreError) -> [String: [String]] {
        var owners: [String: [String]] = [:]
        for owner in try await self.owners(company: nil) { owners[owner.company, default: []].append(owner.email) }
        return owners
    }
}
