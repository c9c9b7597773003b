import Foundation
import GRDB

extension AppDatabase {
    /// Makes sure `cipher` holds this database's key. The first key ever used is remembered
    /// (a sealed check value in `meta`); a different key afterwards is `StoreError.wrongKey`,
    /// before anything is read or written with it. Opened read-only, a database without the
    /// check value is left as it is.
    public func verifyKey(_ cipher: TokenCipher) async throws(StoreError) {
        let sealed = try cipher.seal(TokenCipher.keyCheckPlaintext, pageID: "meta")
        let readOnly = mode == .readOnly
        let stored: Data? = try await readOrWrite(readOnly: readOnly) { db in
            if let existing = try Data.fetchOne(db, sql: "SELECT value FROM meta WHERE key = 'key_check'") {
                return existing
            }
            if readOnly { return nil }
            try db.execute(sql: "INSERT INTO meta (key, value) VALUES ('key_check', ?)", arguments: [sealed])
            return nil
        }
        if let stored {
            let opened = try cipher.unseal(stored, pageID: "meta")
            guard opened == TokenCipher.keyCheckPlaintext else { throw StoreError.wrongKey(path: cipher.keyFile) }
        }
    }
}

extension AppDatabase {
    /// True when the database holds anything sealed with a key (tokens or the key check).
    public func hasSealedData() async throws(StoreError) -> Bool {
        try await read { db in
            let meta = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM meta WHERE key = 'key_check'") ?? 0
            let pages = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM page WHERE token_sealed IS NOT NULL") ?? 0
            return meta + pages > 0
        }
    }
}
