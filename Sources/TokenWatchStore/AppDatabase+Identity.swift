import Foundation
import GRDB

/// Telling a TokenWatch database from anything else at its path, without writing to it.
extension AppDatabase {
    /// One connection to identify a file or to serve a command that only reads.
    ///
    /// When we may write the file and its directory, it is an ordinary connection, so that
    /// SQLite's usual locking applies and the `-wal`/`-shm` files it needs are removed when
    /// it closes (a read-only connection would leave them behind, owned by whoever ran the
    /// command: root's `pages list` would then lock cron's `check` out). GRDB runs every read
    /// with `query_only`, and `AppDatabase.writableConnection()` refuses writes to a
    /// database opened `.readOnly`. Otherwise it is an SQLite read-only connection; in a
    /// directory we cannot write, with no `-wal` or `-shm` there (so no writer is active),
    /// SQLite can only read a WAL database opened `immutable`.
    static func readingConnection(path: String) throws(StoreError) -> DatabaseQueue {
        // First a look at the bytes, so that nothing that is not SQLite reaches SQLite.
        try DatabaseFile.checkHeader(path)
        let directory = URL(fileURLWithPath: path).deletingLastPathComponent().path
        var configuration = baseConfiguration()
        var target = path
        if access(path, W_OK) != 0 || access(directory, W_OK | X_OK) != 0 {
            configuration.readonly = true
            let fileManager = FileManager.default
            if !fileManager.fileExists(atPath: path + "-wal") && !fileManager.fileExists(atPath: path + "-shm"),
                let immutable = immutableURI(path)
            {
                target = immutable
            }
        }
        do {
            return try DatabaseQueue(path: target, configuration: configuration)
        } catch {
            throw openingError(error, path: path)
        }
    }

    /// `file:/abs/path?immutable=1`, or nil when this SQLite does not take URI file names.
    static func immutableURI(_ path: String) -> String? {
        guard uriFileNamesEnabled else { return nil }
        let absolute = URL(fileURLWithPath: path).standardizedFileURL.path
        var allowed = CharacterSet.urlPathAllowed
        allowed.remove(charactersIn: "?#%")
        guard let encoded = absolute.addingPercentEncoding(withAllowedCharacters: allowed) else { return nil }
        return "file:" + encoded + "?immutable=1"
    }

    /// Whether the linked SQLite reads `file:` URIs in a plain open (built with USE_URI, as
    /// Debian's is); GRDB does not pass SQLITE_OPEN_URI.
    static let uriFileNamesEnabled: Bool = {
        guard let probe = try? DatabaseQueue() else { return false }
        let enabled = try? probe.read { db in
            try Bool.fetchOne(db, sql: "SELECT sqlite_compileoption_used('USE_URI')")
        }
        return enabled == true
    }()

    /// Refuses a file that is not a TokenWatch database or was migrated by a newer
    /// TokenWatch; with `requireCurrent`, also one that lacks migrations of this build.
    static func identify(_ connection: DatabaseQueue, path: String, requireCurrent: Bool) throws(StoreError) {
        let known = AppDatabase.schema.migrations
        let applied: [String]?
        do {
            applied = try connection.read { db -> [String]? in
                guard try db.tableExists("grdb_migrations") else { return nil }
                return try String.fetchAll(db, sql: "SELECT identifier FROM grdb_migrations ORDER BY rowid")
            }
        } catch {
            throw openingError(error, path: path)
        }
        guard let applied, let first = known.first, applied.contains(first) else {
            throw StoreError.notATokenWatchDatabase(path: path, why: "an SQLite database without TokenWatch's schema")
        }
        if let unknown = applied.last(where: { !known.contains($0) }) {
            throw StoreError.schemaTooNew(path: path, version: unknown)
        }
        if requireCurrent, let pending = known.first(where: { !applied.contains($0) }) {
            throw StoreError.needsMigration(path: path, pending: pending)
        }
    }

    /// Throws `.notWritable` with the OS's reason when we may not write `path` (for a
    /// directory: create files in it).
    static func requireWritable(_ path: String, isDirectory: Bool) throws(StoreError) {
        guard access(path, isDirectory ? W_OK | X_OK : W_OK) != 0 else { return }
        let reason = String(cString: strerror(errno))
        throw StoreError.notWritable(
            path: path,
            reason: isDirectory ? "\(reason) (the database's -wal, -shm and .lock files go in this directory)" : reason)
    }
}

/// What opening `path` failed with, as the store says it: a file that is not SQLite at all is
/// not a TokenWatch database; anything else cannot be opened, with SQLite's reason.
private func openingError(_ error: any Error, path: String) -> StoreError {
    guard let error = error as? DatabaseError else {
        return StoreError.cannotOpen(path: path, reason: String(describing: error))
    }
    if error.resultCode == .SQLITE_NOTADB {
        return StoreError.notATokenWatchDatabase(path: path, why: "not an SQLite database")
    }
    return StoreError.cannotOpen(path: path, reason: error.message ?? error.description)
}
