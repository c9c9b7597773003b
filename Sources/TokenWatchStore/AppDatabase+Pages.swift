import Foundation
import GRDB
import TokenWatchModel

/// A page as an import or a login delivers it.
public struct PageUpsert: Sendable {
    public var company: String
    public var pageID: String
    public var pageName: String
    public var token: Secret
    /// Where it came from, for error messages: "pages.csv line 4".
    public var source: String

    public init(company: String, pageID: String, pageName: String, token: Secret, source: String) {
        self.company = company
        self.pageID = pageID
        self.pageName = pageName
        self.token = token
        self.source = source
    }
}

/// What an upsert did, page by page.
public struct UpsertSummary: Sendable, Equatable {
    public var added: [String] = []
    public var reconnected: [String] = []
    public var renewed: [String] = []
    public var renamed: [String] = []
    public var unchanged: [String] = []

    public init() {}
}

/// Rows an import cannot take because of what the database already holds.
public struct UpsertConflict: Error, Sendable, Equatable, CustomStringConvertible {
    public var problems: [String]

    public init(problems: [String]) { self.problems = problems }

    public var description: String { problems.joined(separator: "\n") }
}

extension AppDatabase {
    /// Upserts pages as `produce` hands them over, chunk by chunk, in one transaction: all or
    /// nothing, whatever the number of rows. A new page is `connected`, a disconnected one
    /// coming back is `connected` again, a changed token is `renewed` (status back to unknown
    /// until checked), a changed name is `renamed`, an identical row changes nothing. A page
    /// ID that belongs to another company fails the whole upsert with `UpsertConflict`. `produce` runs on the database's writer thread
    /// (never the cooperative pool) and may block there reading a file; it calls `write` with
    /// each chunk. When it throws, nothing is written and its error is rethrown as is; rows
    /// that conflict with stored pages fail the whole upsert with `UpsertConflict` at the end,
    /// every one named. Memory holds one chunk, the company IDs and the summary.
    public func upsertPages(
        cipher: TokenCipher, actor: String, now: Date,
        from produce: @escaping @Sendable (_ write: ([PageUpsert]) throws -> Void) throws -> Void
    ) async throws -> UpsertSummary {
        do {
            return try await writableConnection().write { db in
                var upserter = PageUpserter(cipher: cipher, actor: actor, now: now)
                try produce { chunk in try upserter.upsert(chunk, db: db) }
                if !upserter.conflicts.isEmpty { throw UpsertConflict(problems: upserter.conflicts) }
                return upserter.summary
            }
        } catch let error as DatabaseError {
            throw StoreError.database(String(describing: error))
        }
    }

    /// Pages ordered for a person: by company, then name. Filters are optional.
    public func pages(status: PageStatus? = nil, company: String? = nil) async throws(StoreError) -> [PageRecord] {
        try await read { db in
            // A cursor, not fetchAll: 100,000 pages are never also held as 100,000 GRDB rows.
            var pages: [PageRecord] = []
            let rows = try Row.fetchCursor(
                db,
                sql: """
                    SELECT \(Self.pageColumns) FROM page JOIN company ON company.id = page.company_id
                    WHERE (? IS NULL OR page.status = ?) AND (? IS NULL OR company.name = ?)
                    ORDER BY company.name, page.page_name, page.page_id
                    """, arguments: [status?.rawValue, status?.rawValue, company, company])
            var lists = ScopeLists()
            while let row = try rows.next() { pages.append(Self.pageRecord(row, scopes: &lists)) }
            return pages
        }
    }

    /// One page and its log, oldest movement first.
    public func pageLog(pageID: String) async throws(StoreError) -> (PageRecord, [PageEvent]) {
        try await read { db in
            guard
                let row = try Row.fetchOne(
                    db,
                    sql: """
                        SELECT \(Self.pageColumns) FROM page JOIN company ON company.id = page.company_id
                        WHERE page.page_id = ?
                        """, arguments: [pageID])
            else { throw StoreError.notFound("no page with ID \(pageID)") }
            let events = try Row.fetchAll(
                db, sql: "SELECT at, kind, actor, detail FROM page_event WHERE page_ref = ? ORDER BY id",
                arguments: [row["row_id"] as Int64]
            ).map(Self.pageEvent)
            return (Self.pageRecord(row), events)
        }
    }

    /// The last `limit` log entries of every page, newest first, keyed by Page ID.
    public func recentEvents(limit: Int) async throws(StoreError) -> [String: [PageEvent]] {
        try await read { db in
            let rows = try Row.fetchCursor(
                db,
                sql: """
                    SELECT page.page_id, e.at, e.kind, e.actor, e.detail FROM (
                        SELECT page_ref, at, kind, actor, detail,
                               ROW_NUMBER() OVER (PARTITION BY page_ref ORDER BY id DESC) AS n
                        FROM page_event) AS e
                    JOIN page ON page.id = e.page_ref
                    WHERE e.n <= ? ORDER BY page.page_id, e.n
                    """, arguments: [limit])
            var events: [String: [PageEvent]] = [:]
            while let row = try rows.next() { events[row["page_id"], default: []].append(Self.pageEvent(row)) }
            return events
        }
    }

    /// Stops watching a page: status disconnected, token erased (reconnecting needs a new
    /// one), logged. Disconnecting a disconnected page changes nothing and returns false.
    public func disconnect(pageID: String, reason: String?, actor: String, now: Date) async throws(StoreError) -> Bool {
        try await write { db in
            guard
                let row = try Row.fetchOne(
                    db, sql: "SELECT id, status FROM page WHERE page_id = ?", arguments: [pageID])
            else { throw StoreError.notFound("no page with ID \(pageID)") }
            if row["status"] == PageStatus.disconnected.rawValue { return false }
            let rowID: Int64 = row["id"]
            try db.execute(
                sql: """
                    UPDATE page SET status = 'disconnected', status_since = ?, token_sealed = NULL,
                        reason_code = NULL, reason_detail = NULL, error_code = NULL, error_subcode = NULL,
                        last_check_error = NULL
                    WHERE id = ?
                    """, arguments: [now, rowID])
            try Self.appendEvent(db, pageRef: rowID, kind: .disconnected, actor: actor, detail: reason, at: now)
            return true
        }
    }

    /// Page IDs of a company that are still watched (for the "not granted again" warning).
    public func watchedPageIDs(company: String) async throws(StoreError) -> [String: String] {
        try await read { db in
            let rows = try Row.fetchAll(
                db,
                sql: """
                    SELECT page.page_id, page.page_name FROM page JOIN company ON company.id = page.company_id
                    WHERE company.name = ? AND page.status != 'disconnected'
                    """, arguments: [company])
            var result: [String: String] = [:]
            for row in rows { result[row["page_id"]] = row["page_name"] }
            return result
        }
    }

    static func pageEvent(_ row: Row) -> PageEvent {
        PageEvent(
            at: row["at"] ?? Date(timeIntervalSince1970: 0),
            kindName: row["kind"] ?? "",
            actor: row["actor"] ?? "",
            detail: row["detail"])
    }
}

/// The row-by-row work of an upsert inside its transaction, with the statements prepared once
/// (`cachedStatement`) and the company IDs looked up once per company: a 1,000,000-row import
/// compiles a handful of statements, not millions.
struct PageUpserter {
    let cipher: TokenCipher
    let actor: String
    let now: Date
    /// `now` as a database value, converted once: GRDB formats a `Date` through the calendar
    /// on every use, four times per imported row.
    let nowValue: DatabaseValue
    var summary = UpsertSummary()
    var conflicts: [String] = []
    private var companies: [String: Int64] = [:]

    init(cipher: TokenCipher, actor: String, now: Date) {
        self.cipher = cipher
        self.actor = actor
        self.now = now
        self.nowValue = now.databaseValue
    }

    mutating func upsert(_ pages: [PageUpsert], db: Database) throws {
        let find = try db.cachedStatement(
            sql: """
                SELECT page.id, page.page_name, page.token_sealed, page.status, company.name AS company
                FROM page JOIN company ON company.id = page.company_id WHERE page.page_id = ?
                """)
        for page in pages {
            let sealed = try cipher.seal(page.token, pageID: page.pageID)
            guard let existing = try Row.fetchOne(find, arguments: [page.pageID]) else {
                let companyID = try companyID(page.company, db: db)
                try db.cachedStatement(
                    sql: """
                        INSERT INTO page (company_id, page_id, page_name, token_sealed, token_updated_at,
                                          status, status_since, created_at)
                        VALUES (?, ?, ?, ?, ?, 'unknown', ?, ?)
                        """
                ).execute(arguments: [companyID, page.pageID, page.pageName, sealed, nowValue, nowValue, nowValue])
                try AppDatabase.appendEvent(
                    db, pageRef: db.lastInsertedRowID, kind: .connected, actor: actor, detail: nil, at: nowValue)
                summary.added.append(page.pageID)
                continue
            }
            let rowID: Int64 = existing["id"]
            let company: String = existing["company"]
            if company != page.company {
                conflicts.append(
                    "\(page.source): page ID \(page.pageID) already belongs to company \"\(company)\", not \"\(page.company)\""
                )
                continue
            }
            let status = PageStatus(rawValue: existing["status"]) ?? .unknown
            let oldSealed: Data? = existing["token_sealed"]
            let sameToken = try oldSealed.map { try cipher.unseal($0, pageID: page.pageID) == page.token } ?? false
            let oldName: String = existing["page_name"]
            if oldName != page.pageName {
                try db.cachedStatement(sql: "UPDATE page SET page_name = ? WHERE id = ?").execute(arguments: [
                    page.pageName, rowID,
                ])
                try AppDatabase.appendEvent(
                    db, pageRef: rowID, kind: .renamed, actor: actor,
                    detail: "renamed from \"\(oldName)\" to \"\(page.pageName)\"", at: nowValue)
                summary.renamed.append(page.pageID)
            }
            if status == .disconnected || !sameToken {
                try db.cachedStatement(
                    sql: """
                        UPDATE page SET token_sealed = ?, token_updated_at = ?, status = 'unknown',
                            status_since = ?, reason_code = NULL, reason_detail = NULL, error_code = NULL,
                            error_subcode = NULL, last_check_error = NULL, expiry_warned_for = NULL
                        WHERE id = ?
                        """
                ).execute(arguments: [sealed, nowValue, nowValue, rowID])
                if status == .disconnected {
                    try AppDatabase.appendEvent(
                        db, pageRef: rowID, kind: .connected, actor: actor, detail: "reconnected with a new token",
                        at: nowValue)
                    summary.reconnected.append(page.pageID)
                } else {
                    try AppDatabase.appendEvent(
                        db, pageRef: rowID, kind: .renewed, actor: actor,
                        detail: status == .invalid ? "new token for an invalid page" : nil, at: nowValue)
                    summary.renewed.append(page.pageID)
                }
            } else if oldName == page.pageName {
                summary.unchanged.append(page.pageID)
            }
        }
    }

    private mutating func companyID(_ name: String, db: Database) throws -> Int64 {
        if let id = companies[name] { return id }
        let id = try AppDatabase.companyID(db, name: name, create: true, now: now) ?? db.lastInsertedRowID
        companies[name] = id
        return id
    }
}
