import Foundation
import Logging
import PostgresNIO
import TokenWatchStore

extension PostgresStore {
    /// Makes sure `cipher` holds this store's key, as `AppDatabase.verifyKey` does: the first
    /// key ever used is remembered (a sealed check value in `meta`), a different key afterwards
    /// is `StoreError.wrongKey`. Opened read-only, a store without the check value is left as
    /// it is. Two processes recording it at once keep the first (`ON CONFLICT DO NOTHING`),
    /// and the second is checked against it.
    public func verifyKey(_ cipher: TokenCipher) async throws(StoreError) {
        let sealed = try cipher.sealedKeyCheck()
        let readOnly = mode == .readOnly
        let body: (PostgresConnection) async throws -> Data? = { connection in
            if let existing = try await connection.value(
                Data.self, "SELECT value FROM meta WHERE key = 'key_check'", self.logger)
            {
                return existing
            }
            if readOnly { return nil }
            try await connection.run(
                try "INSERT INTO meta (key, value) VALUES ('key_check', \(sealed)) ON CONFLICT (key) DO NOTHING",
                self.logger)
            return try await connection.value(Data.self, "SELECT value FROM meta WHERE key = 'key_check'", self.logger)
        }
        let stored = readOnly ? try await read(body) : try await write(body)
        if let stored { try cipher.verifyKeyCheck(stored) }
    }

    /// True when the store holds anything sealed with a key (tokens or the key check).
    public func hasSealedData() async throws(StoreError) -> Bool {
        try await read { connection in
            try await connection.value(
                Bool.self,
                """
                SELECT EXISTS (SELECT 1 FROM meta WHERE key = 'key_check')
                    OR EXISTS (SELECT 1 FROM page WHERE token_sealed IS NOT NULL)
                """, self.logger) ?? false
        }
    }
}
