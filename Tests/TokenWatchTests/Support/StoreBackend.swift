import Foundation
import GRDB
import Logging
import Testing
import TokenWatchTestSupport

@testable import TokenWatchPostgres
@testable import TokenWatchStore

/// The two implementations of `PageStore` that the shared store tests run against.
enum StoreBackend: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case sqlite
    case postgres

    var testDescription: String { rawValue }
}

/// A fresh store of either backend, with its key, verified against each other: an SQLite file
/// in a temporary directory, or a new database on the test process's PostgreSQL server.
struct TemporaryPageStore {
    let backend: StoreBackend
    let directory: TestDirectory
    let store: any PageStore
    let cipher: TokenCipher
    /// The SQLite file's path or the PostgreSQL database's URL.
    let location: String

    static let logger = Logger(label: "tokenwatch.tests.store")

    init(_ backend: StoreBackend) async throws {
        self.backend = backend
        directory = try TestDirectory()
        switch backend {
        case .sqlite:
            location = directory.file("tw.sqlite3")
            store = try AppDatabase.open(path: location, mode: .create)
        case .postgres:
            location = try await PostgresServer.shared().createDatabase(named: "store")
            store = try await PostgresStore.open(url: location, password: nil, mode: .create, logger: Self.logger)
        }
        try TokenCipher.createKeyFileIfMissing(at: directory.file("tw.key"))
        cipher = try TokenCipher.load(keyFile: directory.file("tw.key"))
        try await store.verifyKey(cipher)
    }

    /// The same store opened again, as another process would.
    func reopen(mode: StoreAccessMode) async throws -> any PageStore {
        switch backend {
        case .sqlite: try AppDatabase.open(path: location, mode: mode)
        case .postgres: try await PostgresStore.open(url: location, password: nil, mode: mode, logger: Self.logger)
        }
    }

    /// Runs SQL behind the store's back (what another program, or a newer TokenWatch, wrote):
    /// `sqlite` on the file, `postgres` with psql. A `{time}` in either is replaced by `time`
    /// as that backend stores it.
    func execute(sqlite: String, postgres: String, time: Date = Date()) async throws {
        switch backend {
        case .sqlite:
            let queue = try DatabaseQueue(path: location)
            try await queue.write { db in
                try db.execute(sql: sqlite.replacingOccurrences(of: "{time}", with: "?"), arguments: [time])
            }
            try queue.close()
        case .postgres:
            let literal = "to_timestamp(\(time.timeIntervalSince1970))"
            _ = try await PostgresServer.shared().psql(
                postgres.replacingOccurrences(of: "{time}", with: literal), url: location)
        }
    }

    /// Every byte the store keeps, as far as a test can read them: the SQLite file and its
    /// WAL, or a dump of every table's rows (bytea as hex and as escaped text).
    func storedBytes() async throws -> Data {
        switch backend {
        case .sqlite:
            let raw = try Data(contentsOf: URL(fileURLWithPath: location))
            let wal = (try? Data(contentsOf: URL(fileURLWithPath: location + "-wal"))) ?? Data()
            return raw + wal
        case .postgres:
            let server = try await PostgresServer.shared()
            var dump = ""
            for table in ["meta", "company", "owner", "page", "page_event", "check_run", "outbox"] {
                dump += try await server.psql("SELECT t::text FROM \(table) t", url: location)
                dump += try await server.psql(
                    "SET bytea_output = 'escape'; SELECT t::text FROM \(table) t", url: location)
            }
            return Data(dump.utf8)
        }
    }
}
