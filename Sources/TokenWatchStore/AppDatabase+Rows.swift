import Foundation
import GRDB
import TokenWatchModel

/// Column lists and row decoding shared by the page queries.
extension AppDatabase {
    static let pageColumns = """
        page.id AS row_id, company.name AS company, page.page_id, page.page_name, page.status,
        page.reason_code, page.reason_detail, page.error_code, page.error_subcode, page.status_since,
        page.token_updated_at, page.last_checked_at, page.last_check_error, page.scopes,
        page.missing_scopes, page.expires_at, page.data_access_expires_at
        """

    static func pageRecord(_ row: Row) -> PageRecord {
        let status = PageStatus(rawValue: row["status"] ?? "") ?? .unknown
        var reason: InvalidReason?
        if status == .invalid, let code: String = row["reason_code"] {
            reason = InvalidReason(code: code, detail: row["reason_detail"])
        }
        return PageRecord(
            company: row["company"] ?? "",
            pageID: row["page_id"] ?? "",
            pageName: row["page_name"] ?? "",
            status: status,
            reason: reason,
            errorCode: row["error_code"],
            errorSubcode: row["error_subcode"],
            statusSince: row["status_since"],
            tokenUpdatedAt: row["token_updated_at"] ?? Date(timeIntervalSince1970: 0),
            lastCheckedAt: row["last_checked_at"],
            lastCheckError: row["last_check_error"],
            scopes: splitScopes(row["scopes"]),
            missingScopes: splitScopes(row["missing_scopes"]),
            expiresAt: row["expires_at"],
            dataAccessExpiresAt: row["data_access_expires_at"])
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
        try db.cachedStatement(
            sql: "INSERT INTO page_event (page_ref, at, kind, actor, detail, run_id) VALUES (?, ?, ?, ?, ?, ?)"
        ).execute(arguments: [pageRef, at, kind.rawValue, actor, detail, runID])
    }
}
