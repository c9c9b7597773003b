import Foundation
import GRDB

/// A company's Owner: an address that gets the digests.
public struct OwnerRecord: Sendable, Equatable {
    public var company: String
    public var email: String

    public init(company: String, email: String) {
        self.company = company
        self.email = email
    }
}

extension AppDatabase {
    /// Adds Owners to a company, creating the company if needed. Returns the addresses that
    /// were new (an address already there is left alone).
    public func addOwners(company: String, emails: [String], now: Date) async throws(StoreError) -> [String] {
        try await write { db in
            let companyID = try Self.companyID(db, name: company, create: true, now: now)
            var added: [String] = []
            for email in emails {
                try db.execute(
                    sql: "INSERT OR IGNORE INTO owner (company_id, email, created_at) VALUES (?, ?, ?)",
                    arguments: [companyID, email, now])
                if db.changesCount > 0 { added.append(email) }
            }
            return added
        }
    }

    /// Removes Owners from a company. Returns the addresses that were there.
    public func removeOwners(company: String, emails: [String]) async throws(StoreError) -> [String] {
        try await write { db in
            guard let companyID = try Self.companyID(db, name: company, create: false, now: Date()) else {
                throw StoreError.notFound("no company named \"\(company)\"")
            }
            var removed: [String] = []
            for email in emails {
                try db.execute(
                    sql: "DELETE FROM owner WHERE company_id = ? AND email = ?", arguments: [companyID, email])
                if db.changesCount > 0 { removed.append(email) }
            }
            return removed
        }
    }

    /// Owners, by company then address; one company only when `company` is given.
    public func owners(company: String?) async throws(StoreError) -> [OwnerRecord] {
        try await read { db in
            let rows = try Row.fetchAll(
                db,
                sql: """
                    SELECT company.name AS company, owner.email FROM owner
                    JOIN company ON company.id = owner.company_id
                    WHERE (? IS NULL OR company.name = ?)
                    ORDER BY company.name, owner.email
                    """, arguments: [company, company])
            return rows.map { OwnerRecord(company: $0["company"], email: $0["email"]) }
        }
    }

    /// Company names that have pages being watched but no Owner to tell.
    public func companiesWithoutOwners() async throws(StoreError) -> [String] {
        try await read { db in
            try String.fetchAll(
                db,
                sql: """
                    SELECT DISTINCT company.name FROM company
                    JOIN page ON page.company_id = company.id AND page.status != 'disconnected'
                    WHERE NOT EXISTS (SELECT 1 FROM owner WHERE owner.company_id = company.id)
                    ORDER BY company.name
                    """)
        }
    }

    static func companyID(_ db: Database, name: String, create: Bool, now: Date) throws -> Int64? {
        if let id = try Int64.fetchOne(db, sql: "SELECT id FROM company WHERE name = ?", arguments: [name]) {
            return id
        }
        guard create else { return nil }
        try db.execute(sql: "INSERT INTO company (name, created_at) VALUES (?, ?)", arguments: [name, now])
        return db.lastInsertedRowID
    }
}
