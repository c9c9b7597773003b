import Foundation
import TokenWatchModel

// Public initialisers for the values a `PageStore` returns, so that a store in another module
// (`PostgresStore` in TokenWatchPostgres) builds the same values `AppDatabase` does.

extension CheckTarget {
    public init(
        rowID: Int64, pageID: String, pageName: String, company: String, status: PageStatus, scopes: [String],
        tokenUpdatedAt: Date, sealedToken: Data?
    ) {
        self.init(
            rowID: rowID, pageID: pageID, pageName: pageName, company: company, status: status, scopes: scopes,
            tokenUpdatedAt: tokenUpdatedAt, token: Secret(""), sealedToken: sealedToken)
    }
}

extension TokenCipher {
    /// The key check value sealed with this key: what a new store keeps (under `key_check`)
    /// so that a different key is refused before anything is read with it.
    public func sealedKeyCheck() throws(StoreError) -> Data {
        try seal(Self.keyCheckPlaintext, pageID: "meta")
    }

    /// Throws `.wrongKey` unless `stored` is a key check value sealed with this key.
    public func verifyKeyCheck(_ stored: Data) throws(StoreError) {
        guard try unseal(stored, pageID: "meta") == Self.keyCheckPlaintext else {
            throw StoreError.wrongKey(path: keyFile)
        }
    }
}
