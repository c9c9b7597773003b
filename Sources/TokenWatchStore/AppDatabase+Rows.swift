import Foundation
import GRDB
import TokenWatchModel

/// Column lists and row decoding shared by the page queries.
extension AppDatabase {
    /// The columns `pageRecord` reads, by position: keep the two in the same order.
    static let pageColumns = """
        page.id AS row_id, company.name AS company, page.page_id, page.page_name, page.status,
        page.reason_code, page.reason_detail, page.error_code, page.error_subcode, page.status_since,
        page.token_updated_at, page.last_checked_at, page.last_check_error, page.scopes,
        page.missing_scopes, page.expires_at, page.data_access_expires_at
        """

    /// A page from a row of `SELECT \(pageColumns) …`, read by position: looking each column
    /// up by name lowercased the name and searched the columns, 17 times per page, a tenth of
    /// the CPU of reading 100,000 pages for a report.
    static func pageRecord(_ row: Row) -> PageRecord {
        var lists = ScopeLists()
        return pageRecord(row, scopes: &lists)
    }

    /// The same, sharing one array among pages whose scopes are stored alike, and parsing each
    /// distinct stored time once (`lists` keeps both).
    static func pageRecord(_ row: Row, scopes lists: inout ScopeLists) -> PageRecord {
        let status = PageStatus(rawValue: row[4] ?? "") ?? .unknown
        var reason: InvalidReason?
        if status == .invalid, let code: String = row[5] {
            reason = InvalidReason(code: code, detail: row[6])
        }
        return PageRecord(
            company: row[1] ?? "",
            pageID: row[2] ?? "",
            pageName: row[3] ?? "",
            status: status,
            reason: reason,
            errorCode: row[7],
            errorSubcode: row[8],
            statusSince: lists.date(row[9]),
            tokenUpdatedAt: lists.date(row[10]) ?? Date(timeIntervalSince1970: 0),
            lastCheckedAt: lists.date(row[11]),
            lastCheckError: row[12],
            scopes: lists.split(row[13]),
            missingScopes: lists.split(row[14]),
            expiresAt: lists.date(row[15]),
            dataAccessExpiresAt: lists.date(row[16]))
    }

    /// Split scope lists by their stored text, so that the pages of a fleet, which mostly
    /// hold the same few lists, share one array each instead of an array and a string per
    /// scope each: at 1,000,000 pages that was a quarter of a gigabyte.
    struct ScopeLists {
        private var known: [String: [String]] = [:]
        /// Distinct lists kept; past it, lists are split without sharing, and memory stays bounded.
        static let limit = 4_096

        /// Stored times → dates: a fleet's pages share their check times (a batch's), token
        /// times (an import's) and expiry times; GRDB parses a time through `Calendar`.
        private var dates: [DatabaseValue: Date] = [:]

        mutating func date(_ value: DatabaseValue) -> Date? {
            if value.isNull { return nil }
            if let known = dates[value] { return known }
            let date = Date.fromDatabaseValue(value)
            if let date {
                if dates.count >= Self.dateLimit { dates.removeAll(keepingCapacity: true) }
                dates[value] = date
            }
            return date
        }

        /// Distinct times kept; past it the cache starts over, and memory stays bounded.
        static let dateLimit = 65_536

        mutating func split(_ text: String?) -> [String] {
            guard let text, !text.isEmpty else { return [] }
            if let list = known[text] { return list }
            let list = AppDatabase.splitScopes(text)
            if known.count < Self.limit { known[text] = list }
            return list
        }
    }

    static func splitScopes(_ text: String?) -> [String] {
        (text ?? "").split(separator: " ").map(String.init)
    }

    static func joinScopes(_ scopes: [String]) -> String {
        scopes.joined(separator: " ")
    }

    /// The connection to write with; `.notWritable` when the database was opened read-only
    /// (every write goes through here, so a command that only reads can never write).
    func writableConnection() throws(StoreError) -> any DatabaseWriter {
        guard mode != .readOnly else {
            throw StoreError.notWritable(path: path, reason: "opened read-only by a command that only reads")
        }
        return writer
    }

    /// Runs a write transaction, mapping GRDB's errors to `StoreError`.
    func write<T: Sendable>(_ body: @Sendable (Database) throws -> T) async throws(StoreError) -> T {
        do {
            return try await writableConnection().write(body)
        } catch let error as StoreError {
            throw error
        } catch {
            throw StoreError.database(String(describing: error))
        }
    }

    /// Runs `body` in a read when `readOnly`, else in a write transaction.
    func readOrWrite<T: Sendable>(readOnly: Bool, _ body: @Sendable (Database) throws -> T)
        async throws(StoreError) -> T
    {
        readOnly ? try await read(body) : try await write(body)
    }

    /// Runs a read, mapping GRDB's errors to `StoreError`.
    func read<T: Sendable>(_ body: @Sendable (Database) throws -> T) async throws(StoreError) -> T {
        do {
            return try await writer.read(body)
        } catch let error as StoreError {
            throw error
        } catch {
            throw StoreError.database(String(describing: error))
        }
    }

    static func appendEvent(
        _ db: Database, pageRef: Int64, kind: PageEventKind, actor: String, detail: String?, at: Date,
        runID: Int64? = nil
    ) throws {
        try appendEvent(
            db, pageRef: pageRef, kind: kind, actor: actor, detail: detail, at: at.databaseValue, runID: runID)
    }

    /// The same with the time already converted: a batch converts its `now` once, not once per
    /// statement (GRDB formats a `Date` through the calendar each time).
    static func appendEvent(
        _ db: Database, pageRef: Int64, kind: PageEventKind, actor: String, detail: String?, at: DatabaseValue,
        runID: Int64? = nil
    ) throws {
        try db.cachedStatement(
            sql: "INSERT INTO page_event (page_ref, at, kind, actor, detail, run_id) VALUES (?, ?, ?, ?, ?, ?)"
        ).execute(arguments: [pageRef, at, kind.rawValue, actor, detail, runID])
    }
}
