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
    /// The database was written by a newer TokenWatch.
    case schemaTooNew(path: String, version: String)

    public var description: String {
        switch self {
        case .cannotOpen(let path, let reason): "cannot open database \(path): \(reason)"
        case .notInitialised(let path):
            "no database at \(path): run `tokenwatch init` first (or set TOKENWATCH_DB / --db)"
        case .keyMissing(let path):
            "token key file \(path) does not exist: run `tokenwatch init`, or point TOKENWATCH_KEY_FILE at the key this database was created with"
        case .keyUnreadable(let path, let reason): "token key file \(path) \(reason) (TOKENWATCH_KEY_FILE)"
        case .wrongKey(let path):
            "token key file \(path) is not the key this database's tokens were encrypted with (TOKENWATCH_KEY_FILE)"
        case .cipher(let keyFile): "cannot encrypt with the key in \(keyFile)"
        case .database(let what): "database error: \(what)"
        case .notFound(let what): what
        case .schemaTooNew(let path, let version):
            "database \(path) was written by a newer TokenWatch (migration \(version)); upgrade tokenwatch"
        }
    }

    /// Key problems are configuration errors (exit 78).
    public var isConfiguration: Bool {
        switch self {
        case .keyMissing, .keyUnreadable, .wrongKey, .cipher, .notInitialised: true
        default: false
        }
    }
}
