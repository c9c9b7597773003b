import Foundation
import GRDB

/// The TokenWatch database: one SQLite file in WAL mode that owns its schema through
/// versioned migrations. An existing database is upgraded in place, never recreated.
///
/// Before anything opens it for writing, the file is identified: an empty file, a file that is
/// not SQLite, an SQLite file without TokenWatch's migrations, or one with migrations this
/// build does not know (written by a newer TokenWatch) is refused and never written — not
/// even switched to WAL.
public struct AppDatabase: Sendable {
    /// The GRDB connection: a pool (WAL: readers never block the writer) for commands that
    /// write, one connection for commands that only read. Write only through
    /// `writableConnection()` (or `write(_:)`), which refuses a read-only opening.
    let writer: any DatabaseWriter
    public let path: String
    /// How it was opened.
    public let mode: AccessMode

    /// How a command uses the database.
    public typealias AccessMode = StoreAccessMode

    /// The database file's path.
    public var location: String { path }

    /// Opens the database at `path`; `create` true is `.create`, false `.readWrite`.
    public static func open(path: String, create: Bool) throws(StoreError) -> AppDatabase {
        try open(path: path, mode: create ? .create : .readWrite)
    }

    /// Opens the database at `path` for `mode`.
    ///
    /// - Throws: `StoreError.notInitialised` when it does not exist (unless `.create`, so a
    ///   typo in `--db` never silently creates an empty one); `.notATokenWatchDatabase` and
    ///   `.schemaTooNew` for a file that is not ours or is newer than this build (never
    ///   written); `.notWritable` when a writing mode meets a file or directory the OS will not
    ///   let us write; `.needsMigration` when `.readOnly` meets an older schema.
    public static func open(path: String, mode: AccessMode) throws(StoreError) -> AppDatabase {
        let directory = URL(fileURLWithPath: path).deletingLastPathComponent().path
        if FileManager.default.fileExists(atPath: path) {
            if mode == .readOnly {
                let connection = try readingConnection(path: path)
                do {
                    try identify(connection, path: path, requireCurrent: true)
                } catch {
                    try? connection.close()
                    throw error
                }
                return AppDatabase(writer: connection, path: path, mode: mode)
            }
            let connection = try readingConnection(path: path)
            defer { try? connection.close() }
            try identify(connection, path: path, requireCurrent: false)
            try requireWritable(path, isDirectory: false)
            try requireWritable(directory, isDirectory: true)
        } else {
            guard mode == .create else { throw StoreError.notInitialised(path: path) }
            if !FileManager.default.fileExists(atPath: directory) {
                throw StoreError.cannotOpen(path: path, reason: "directory \(directory) does not exist")
            }
            try requireWritable(directory, isDirectory: true)
        }
        var configuration = baseConfiguration()
        configuration.prepareDatabase { db in
            // In WAL mode NORMAL is still atomic and consistent after a crash or a kill; it
            // skips the fsync per commit (one batch = one commit), which FULL would cost.
            try db.execute(sql: "PRAGMA synchronous = NORMAL")
            // A check commits a batch at a time: with SQLite's default (a checkpoint every 1,000
            // WAL pages) a 100,000-page run stopped some twenty times to copy the WAL back and
            // fsync the database, in the one writer every batch waits for. Every 16,384 pages
            // (64 MiB of WAL) it copies each page once for many batches; the last connection
            // to close checkpoints what is left, as before.
            try db.execute(sql: "PRAGMA wal_autocheckpoint = \(Self.walCheckpointPages)")
            // A batch's multi-row UPDATE keeps a statement journal (to undo itself alone if a
            // constraint fails halfway); past 64 KiB SQLite spills it to a new temporary file.
            // A 100,000-page first run created some 200 of them in /var/tmp, one per commit, in
            // the writer every batch waits for. In memory it is freed when the statement ends.
            // Readers keep the default: the report's sorts may spill to disk (a status that is
            // a fifth of a million pages sorts at once) instead of into memory.
            if !db.configuration.readonly {
                try db.execute(sql: "PRAGMA temp_store = MEMORY")
            }
        }
        do {
            let pool = try DatabasePool(path: path, configuration: configuration)
            let database = AppDatabase(writer: pool, path: path, mode: mode)
            try database.migrator.migrate(pool)
            return database
        } catch let error as DatabaseError {
            throw StoreError.cannotOpen(path: path, reason: error.message ?? error.description)
        } catch {
            throw StoreError.cannotOpen(path: path, reason: String(describing: error))
        }
    }

    /// WAL pages between automatic checkpoints.
    static let walCheckpointPages = 16_384

    /// What every connection shares.
    static func baseConfiguration() -> GRDB.Configuration {
        var configuration = GRDB.Configuration()
        // Another process (an admin command during a run) waits instead of failing at once.
        configuration.busyMode = .timeout(10)
        configuration.foreignKeysEnabled = true
        configuration.label = "tokenwatch"
        return configuration
    }

    /// Migration identifiers applied to this database, oldest first.
    public func appliedMigrations() throws(StoreError) -> [String] {
        do {
            return try writer.read { db in try migrator.appliedMigrations(db) }
        } catch {
            throw StoreError.database(String(describing: error))
        }
    }

    /// The schema, as a list of migrations. Never edit a shipped migration: add a new one.
    var migrator: DatabaseMigrator { Self.schema }

    /// The migrations this build knows, oldest first.
    static let schema: DatabaseMigrator = {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1: companies, owners, pages, page log, runs, outbox") { db in
            try db.execute(
                sql: """
                    CREATE TABLE meta (
                        key TEXT PRIMARY KEY NOT NULL,
                        value BLOB NOT NULL
                    );
                    CREATE TABLE company (
                        id INTEGER PRIMARY KEY,
                        name TEXT NOT NULL UNIQUE,
                        created_at DATETIME NOT NULL
                    );
                    CREATE TABLE owner (
                        id INTEGER PRIMARY KEY,
                        company_id INTEGER NOT NULL REFERENCES company(id) ON DELETE CASCADE,
                        email TEXT NOT NULL COLLATE NOCASE,
                        created_at DATETIME NOT NULL,
                        UNIQUE (company_id, email)
                    );
                    CREATE TABLE page (
                        id INTEGER PRIMARY KEY,
                        company_id INTEGER NOT NULL REFERENCES company(id),
                        page_id TEXT NOT NULL UNIQUE,
                        page_name TEXT NOT NULL,
                        token_sealed BLOB,
                        token_updated_at DATETIME NOT NULL,
                        status TEXT NOT NULL DEFAULT 'unknown'
                            CHECK (status IN ('unknown', 'valid', 'invalid', 'disconnected')),
                        reason_code TEXT,
                        reason_detail TEXT,
                        error_code INTEGER,
                        error_subcode INTEGER,
                        status_since DATETIME,
                        last_checked_at DATETIME,
                        last_check_error TEXT,
                        scopes TEXT NOT NULL DEFAULT '',
                        missing_scopes TEXT NOT NULL DEFAULT '',
                        expires_at DATETIME,
                        data_access_expires_at DATETIME,
                        expiry_warned_for DATETIME,
                        created_at DATETIME NOT NULL
                    );
                    CREATE INDEX page_by_check ON page(status, last_checked_at);
                    CREATE INDEX page_by_company ON page(company_id);
                    CREATE TABLE page_event (
                        id INTEGER PRIMARY KEY,
                        page_ref INTEGER NOT NULL REFERENCES page(id),
                        at DATETIME NOT NULL,
                        kind TEXT NOT NULL,
                        actor TEXT NOT NULL,
                        detail TEXT,
                        run_id INTEGER
                    );
                    CREATE INDEX page_event_by_page ON page_event(page_ref, id);
                    CREATE TABLE check_run (
                        id INTEGER PRIMARY KEY,
                        started_at DATETIME NOT NULL,
                        ended_at DATETIME,
                        actor TEXT NOT NULL,
                        outcome TEXT,
                        exit_code INTEGER,
                        pages_total INTEGER NOT NULL DEFAULT 0,
                        checked INTEGER NOT NULL DEFAULT 0,
                        valid INTEGER NOT NULL DEFAULT 0,
                        invalid INTEGER NOT NULL DEFAULT 0,
                        newly_invalid INTEGER NOT NULL DEFAULT 0,
                        unknown INTEGER NOT NULL DEFAULT 0,
                        unchecked INTEGER NOT NULL DEFAULT 0,
                        configured_version TEXT,
                        served_version TEXT,
                        mass_invalidation_held INTEGER NOT NULL DEFAULT 0,
                        message TEXT
                    );
                    CREATE TABLE outbox (
                        id INTEGER PRIMARY KEY,
                        page_ref INTEGER NOT NULL REFERENCES page(id),
                        owner_email TEXT NOT NULL COLLATE NOCASE,
                        kind TEXT NOT NULL DEFAULT 'invalid' CHECK (kind IN ('invalid', 'reminder', 'expiring')),
                        reason_code TEXT,
                        reason_detail TEXT,
                        since DATETIME NOT NULL,
                        run_id INTEGER REFERENCES check_run(id),
                        created_at DATETIME NOT NULL,
                        state TEXT NOT NULL DEFAULT 'pending'
                            CHECK (state IN ('staged', 'pending', 'held', 'sent', 'failed', 'dropped')),
                        attempts INTEGER NOT NULL DEFAULT 0,
                        last_error TEXT,
                        last_attempt_at DATETIME,
                        next_attempt_at DATETIME,
                        message_id TEXT,
                        sent_at DATETIME
                    );
                    CREATE INDEX outbox_by_state ON outbox(state, owner_email);
                    """)
        }
        // Senders claim the rows they send (a lease), so two senders never send one digest;
        // `from_valid` marks the rows of pages that were valid before: the guard's wave.
        migrator.registerMigration("v2: outbox claims and the wave") { db in
            try db.execute(
                sql: """
                    ALTER TABLE outbox ADD COLUMN claimed_by TEXT;
                    ALTER TABLE outbox ADD COLUMN claim_expires_at DATETIME;
                    ALTER TABLE outbox ADD COLUMN from_valid INTEGER NOT NULL DEFAULT 0;
                    """)
        }
        // `recovered` notices ("Back to Valid"): SQLite cannot alter a CHECK constraint, so the
        // outbox is rebuilt with the new list of kinds, every row and column kept.
        migrator.registerMigration("v3: outbox notice kind recovered") { db in
            try db.execute(
                sql: """
                    CREATE TABLE outbox_v3 (
                        id INTEGER PRIMARY KEY,
                        page_ref INTEGER NOT NULL REFERENCES page(id),
                        owner_email TEXT NOT NULL COLLATE NOCASE,
                        kind TEXT NOT NULL DEFAULT 'invalid'
                            CHECK (kind IN ('invalid', 'reminder', 'expiring', 'recovered')),
                        reason_code TEXT,
                        reason_detail TEXT,
                        since DATETIME NOT NULL,
                        run_id INTEGER REFERENCES check_run(id),
                        created_at DATETIME NOT NULL,
                        state TEXT NOT NULL DEFAULT 'pending'
                            CHECK (state IN ('staged', 'pending', 'held', 'sent', 'failed', 'dropped')),
                        attempts INTEGER NOT NULL DEFAULT 0,
                        last_error TEXT,
                        last_attempt_at DATETIME,
                        next_attempt_at DATETIME,
                        message_id TEXT,
                        sent_at DATETIME,
                        claimed_by TEXT,
                        claim_expires_at DATETIME,
                        from_valid INTEGER NOT NULL DEFAULT 0
                    );
                    INSERT INTO outbox_v3 (id, page_ref, owner_email, kind, reason_code, reason_detail, since, run_id,
                        created_at, state, attempts, last_error, last_attempt_at, next_attempt_at, message_id, sent_at,
                        claimed_by, claim_expires_at, from_valid)
                    SELECT id, page_ref, owner_email, kind, reason_code, reason_detail, since, run_id,
                        created_at, state, attempts, last_error, last_attempt_at, next_attempt_at, message_id, sent_at,
                        claimed_by, claim_expires_at, from_valid
                    FROM outbox;
                    DROP TABLE outbox;
                    ALTER TABLE outbox_v3 RENAME TO outbox;
                    CREATE INDEX outbox_by_state ON outbox(state, owner_email);
                    """)
        }
        // The batch commit asks, for each page that became valid, whether its Owners were told
        // it was invalid (a "Back to Valid" notice): by page, not by a scan of the outbox.
        migrator.registerMigration("v4: outbox by page") { db in
            try db.execute(sql: "CREATE INDEX outbox_by_page ON outbox(page_ref, kind, state)")
        }
        // Sharded checks: which shard a run was, and Graph's back-off shared by every shard.
        migrator.registerMigration("v5: shards") { db in
            try db.execute(
                sql: """
                    ALTER TABLE check_run ADD COLUMN shard_index INTEGER;
                    ALTER TABLE check_run ADD COLUMN shard_count INTEGER;
                    CREATE INDEX check_run_by_shard ON check_run(shard_count, shard_index, id);
                    """)
        }
        // Every run sets every checked page's `last_checked_at`; an index holding that column
        // made each of those updates move an index entry too, 100,000 an hour for nothing:
        // SQLite sorts check targets in Swift and only counts and filters by status.
        migrator.registerMigration("v6: pages by status") { db in
            try db.execute(
                sql: """
                    DROP INDEX page_by_check;
                    CREATE INDEX page_by_status ON page(status);
                    """)
        }
        return migrator
    }()
}
