import TokenWatchModel

/// The database or the token key failed. Descriptions name the file and never a token.
public enum StoreError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The database cannot be opened or migrated.
    case cannotOpen(path: String, reason: String)
    /// `init` has not been run: no database at the path.
    case notInitialised(path: String)
    case keyMissing(path: String)
    case keyUnreadable(path: String, reason: String)
    /// The key does not decrypt what the database holds.
    case wrongKey(path: String)
    case cipher(keyFile: String)
    /// A query failed.
    case database(String)
    /// The named page, company or owner does not exist.
    case notFound(String)
    /// The database was migrated by a newer TokenWatch: `version` is a migration this build
    /// does not know. Refused, never written.
    case schemaTooNew(path: String, version: String)
    /// The file is not a TokenWatch database: empty, not SQLite, or SQLite without our schema.
    /// Refused, never written.
    case notATokenWatchDatabase(path: String, why: String)
    /// A command that writes meets a database file or directory the OS will not let us write
    /// ("Permission denied", "Read-only file system"). Read-only commands still work.
    case notWritable(path: String, reason: String)
    /// A read-only command meets a database from an older TokenWatch that `init` (or any
    /// writing command) would migrate first.
    case needsMigration(path: String, pending: String)

    public var description: String {
        switch self {
        case .cannotOpen(let path, let reason): "cannot open database \(path): \(reason)"
        case .notInitialised(let path):
            "no database at \(path): run `tokenwatch init` first (or set TOKENWATCH_DB / --db)"
        case .keyMissing(let path):
            "the key file \(path) is missing: restore it from backup (tokenwatch init creates a key only for a new database; without this one the stored tokens cannot be read), or point TOKENWATCH_KEY_FILE at it"
        case .keyUnreadable(let path, let reason): "token key file \(path) \(reason) (TOKENWATCH_KEY_FILE)"
        case .wrongKey(let path):
            "token key file \(path) is not the key this database's tokens were encrypted with (TOKENWATCH_KEY_FILE)"
        case .cipher(let keyFile): "cannot encrypt with the key in \(keyFile)"
        case .database(let what): "database error: \(what)"
        case .notFound(let what): what
        case .schemaTooNew(let path, let version):
            "database \(path) was created by a newer TokenWatch (\(version)); this tokenwatch does not know that migration and will not touch it: upgrade tokenwatch"
        case .notATokenWatchDatabase(let path, let why):
            "not a TokenWatch database: \(path) (\(why)); it was left untouched. Point TOKENWATCH_DB / --db at the TokenWatch database, or remove the file and run `tokenwatch init`"
        case .notWritable(let path, let reason):
            "cannot write \(path): \(reason); this command writes to the database (pages list, pages log and report only read it)"
        case .needsMigration(let path, let pending):
            "database \(path) is from an older TokenWatch and needs migrating (\(pending)): run `tokenwatch init` first"
        }
    }

    /// Key problems and a database that is not this build's are configuration errors (exit 78).
    public var isConfiguration: Bool {
        switch self {
        case .keyMissing, .keyUnreadable, .wrongKey, .cipher, .notInitialised: true
        case .schemaTooNew, .notATokenWatchDatabase, .needsMigration: true
        default: false
        }
    }
}
