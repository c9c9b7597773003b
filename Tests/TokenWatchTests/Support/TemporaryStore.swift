import Foundation
import TokenWatchTestSupport

@testable import TokenWatchStore

/// A fresh database and its key in a temporary directory, verified against each other: the
/// starting point of every store-level test.
struct TemporaryStore {
    let directory: TestDirectory
    let database: AppDatabase
    let cipher: TokenCipher

    init() async throws {
        directory = try TestDirectory()
        database = try AppDatabase.open(path: directory.file("tw.sqlite3"), create: true)
        try TokenCipher.createKeyFileIfMissing(at: directory.file("tw.sqlite3.key"))
        cipher = try TokenCipher.load(keyFile: directory.file("tw.sqlite3.key"))
        try await database.verifyKey(cipher)
    }
}
