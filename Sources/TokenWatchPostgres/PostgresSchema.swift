import Foundation
import Logging
import PostgresNIO
import TokenWatchStore

/// The PostgreSQL schema as versioned migrations, with `AppDatabase`'s identifiers, and the
/// rules that tell a TokenWatch database from anything else before writing to it.
///
/// Applied migrations are rows of `tokenwatch_migrations`. Migrating runs in one transaction
/// under a transaction-scoped advisory lock, so two processes starting at once (shards of one
/// Indexed Job) never both migrate: the second waits, then finds nothing left to do.
enum PostgresSchema {
    /// The advisory lock class (first key) of TokenWatch's migrations: "TkWM".
    static let migrationLockClass: Int32 = 0x546B_574D

    /// The migrations this build knows, oldest first. Never edit a shipped one: add another.
    ///
    /// Text that SQLite compares without case (`COLLATE NOCASE` Owner addresses) is compared
    /// through `lower()` here, with a unique index on `lower(email)`; names and IDs use the
    /// "C" collation so that ordering is by code point, as SQLite's is.
    static let migrations: [(id: String, sql: [String])] = [
        (
            "v1: companies, owners, pages, page log, runs, outbox",
            [
                """
                CREATE TABLE meta (
                    key TEXT PRIMARY KEY,
                    value BYTEA NOT NULL
                )
                """,
                """
                CREATE TABLE company (
                    id BIGSERIAL PRIMARY KEY,
                    name TEXT COLLATE "C" NOT NULL UNIQUE,
                    created_at TIMESTAMPTZ NOT NULL
                )
                """,
                """
                CREATE TABLE owner (
                    id BIGSERIAL PRIMARY KEY,
                    company_id BIGINT NOT NULL REFERENCES company(id) ON DELETE CASCADE,
                    email TEXT COLLATE "C" NOT NULL,
                    created_at TIMESTAMPTZ NOT NULL
                )
                """,
                "CREATE UNIQUE INDEX owner_by_company_email ON owner(company_id, lower(email))",
                """
                CREATE TABLE page (
                    id BIGSERIAL PRIMARY KEY,
                    company_id BIGINT NOT NULL REFERENCES company(id),
                    page_id TEXT COLLATE "C" NOT NULL UNIQUE,
                    page_name TEXT COLLATE "C" NOT NULL,
                    token_sealed BYTEA,
                    token_updated_at TIMESTAMPTZ NOT NULL,
                    status TEXT NOT NULL DEFAULT 'unknown'
                        CHECK (status IN ('unknown', 'valid', 'invalid', 'disconnected')),
                    reason_code TEXT,
                    reason_detail TEXT,
                    error_code BIGINT,
                    error_subcode BIGINT,
                    status_since TIMESTAMPTZ,
                    last_checked_at TIMESTAMPTZ,
                    last_check_error TEXT,
                    scopes TEXT NOT NULL DEFAULT '',
                    missing_scopes TEXT NOT NULL DEFAULT '',
                    expires_at TIMESTAMPTZ,
                    data_access_expires_at TIMESTAMPTZ,
                    expiry_warned_for TIMESTAMPTZ,
                    created_at TIMESTAMPTZ NOT NULL
                )
                """,
                "CREATE INDEX page_by_check ON page(status, last_checked_at)",
                "CREATE INDEX page_by_company ON page(company_id)",
                """
                CREATE TABLE page_event (
                    id BIGSERIAL PRIMARY KEY,
                    page_ref BIGINT NOT NULL REFERENCES page(id),
                    at TIMESTAMPTZ NOT NULL,
                    kind TEXT NOT NULL,
                    actor TEXT NOT NULL,
                    detail TEXT,
                    run_id BIGINT
                )
                """,
                "CREATE INDEX page_event_by_page ON page_event(page_ref, id)",
                """
                CREATE TABLE check_run (
                    id BIGSERIAL PRIMARY KEY,
                    started_at TIMESTAMPTZ NOT NULL,
                    ended_at TIMESTAMPTZ,
                    actor TEXT NOT NULL,
                    outcome TEXT,
                    exit_code INTEGER,
                    pages_total BIGINT NOT NULL DEFAULT 0,
                    checked BIGINT NOT NULL DEFAULT 0,
                    valid BIGINT NOT NULL DEFAULT 0,
                    invalid BIGINT NOT NULL DEFAULT 0,
                    newly_invalid BIGINT NOT NULL DEFAULT 0,
                    unknown BIGINT NOT NULL DEFAULT 0,
                    unchecked BIGINT NOT NULL DEFAULT 0,
                    configured_version TEXT,
                    served_version TEXT,
                    mass_invalidation_held BOOLEAN NOT NULL DEFAULT false,
                    message TEXT
                )
                """,
                """
                CREATE TABLE outbox (
                    id BIGSERIAL PRIMARY KEY,
                    page_ref BIGINT NOT NULL REFERENCES page(id),
                    owner_email TEXT COLLATE "C" NOT NULL,
                    kind TEXT NOT NULL DEFAULT 'invalid' CHECK (kind IN ('invalid', 'reminder', 'expiring')),
                    reason_code TEXT,
                    reason_detail TEXT,
                    since TIMESTAMPTZ NOT NULL,
                    run_id BIGINT REFERENCES check_run(id),
                    created_at TIMESTAMPTZ NOT NULL,
                    state TEXT NOT NULL DEFAULT 'pending'
                        CHECK (state IN ('staged', 'pending', 'held', 'sent', 'failed', 'dropped')),
                    attempts BIGINT NOT NULL DEFAULT 0,
                    last_error TEXT,
                    last_attempt_at TIMESTAMPTZ,
                    next_attempt_at TIMESTAMPTZ,
                    message_id TEXT,
                    sent_at TIMESTAMPTZ
                )
                """,
                "CREATE INDEX outbox_by_state ON outbox(state, lower(owner_email))",
            ]
        ),
        (
            "v2: outbox claims and the wave",
            [
                """
                ALTER TABLE outbox ADD COLUMN claimed_by TEXT,
                    ADD COLUMN claim_expires_at TIMESTAMPTZ,
                    ADD COLUMN from_valid BOOLEAN NOT NULL DEFAULT false
                """
            ]
        ),
        (
            "v3: outbox notice kind recovered",
            [
                "ALTER TABLE outbox DROP CONSTRAINT outbox_kind_check",
                """
                ALTER TABLE outbox ADD CONSTRAINT outbox_kind_check
                    CHECK (kind IN ('invalid', 'reminder', 'expiring', 'recovered'))
                """,
            ]
        ),
        ("v4: outbox by page", ["CREATE INDEX outbox_by_page ON outbox(page_ref, kind, state)"]),
        (
            "v5: shards",
            [
                "ALTER TABLE check_run ADD COLUMN shard_index INTEGER, ADD COLUMN shard_count INTEGER",
                "CREATE INDEX check_run_by_shard ON check_run(shard_count, shard_index, id)",
                // The shard filter in SQL: the page ID's FNV-1a 64 (`Shard.hash`) as its bit
                // pattern; `PostgresStore.shardCondition` reads it back unsigned. Filled by
                // every insert; rows from before this migration are filled by `fillShardHashes`.
                "ALTER TABLE page ADD COLUMN shard_hash BIGINT",
            ]
        ),
    ]

    /// Migration identifiers applied, oldest first; nil when the migrations table is missing.
    static func applied(_ connection: PostgresConnection, logger: Logger) async throws -> [String]? {
        let exists = try await connection.query(
            "SELECT to_regclass('tokenwatch_migrations') IS NOT NULL", logger: logger
        ).collect().first?.decode(Bool.self)
        guard exists == true else { return nil }
        var applied: [String] = []
        for try await id in try await connection.query(
            "SELECT id FROM tokenwatch_migrations ORDER BY applied_at, id", logger: logger
        ).decode(String.self) {
            applied.append(id)
        }
        return applied
    }

    /// Identifies the database and, when `mode` writes, applies the migrations it lacks.
    static func prepare(
        _ connection: PostgresConnection, mode: StoreAccessMode, settings: PostgresSettings, logger: Logger
    ) async throws(StoreError) {
        let location = settings.url.location
        do {
            if mode == .readOnly {
                try await identify(connection, mode: mode, location: location, logger: logger)
                return
            }
            try await connection.query("BEGIN", logger: logger)
            do {
                // Waits for a process that is migrating; released by COMMIT or ROLLBACK.
                try await connection.query(
                    "SELECT pg_advisory_xact_lock(\(migrationLockClass), 0)", logger: logger)
                let pending = try await identify(connection, mode: mode, location: location, logger: logger)
                if !pending.isEmpty {
                    try await connection.query(
                        """
                        CREATE TABLE IF NOT EXISTS tokenwatch_migrations (
                            id TEXT PRIMARY KEY,
                            applied_at TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp()
                        )
                        """, logger: logger)
                    for migration in migrations where pending.contains(migration.id) {
                        for statement in migration.sql {
                            try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger)
                        }
                        if migration.id == "v5: shards" {
                            try await fillShardHashes(connection, logger: logger)
                            try await connection.query(
                                "ALTER TABLE page ALTER COLUMN shard_hash SET NOT NULL", logger: logger)
                        }
                        try await connection.query(
                            "INSERT INTO tokenwatch_migrations (id) VALUES (\(migration.id))", logger: logger)
                        logger.debug("migrated \(location): \(migration.id)")
                    }
                }
                try await connection.query("COMMIT", logger: logger)
            } catch {
                _ = try? await connection.query("ROLLBACK", logger: logger)
                throw error
            }
        } catch let error as StoreError {
            throw error
        } catch {
            throw StoreError.cannotOpen(path: location, reason: settings.describe(error))
        }
    }

    /// Refuses a database that is not TokenWatch's or is newer than this build, and what
    /// `mode` may not open; returns the migrations to apply.
    @discardableResult
    static func identify(_ connection: PostgresConnection, mode: StoreAccessMode, location: String, logger: Logger)
        async throws -> [String]
    {
        let known = migrations.map(\.id)
        guard let applied = try await applied(connection, logger: logger) else {
            let tables =
                try await connection.query(
                    """
                    SELECT count(*) FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
                    WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p', 'v', 'm')
                    """, logger: logger
                ).collect().first?.decode(Int.self) ?? 0
            if tables > 0 {
                throw StoreError.notATokenWatchDatabase(
                    path: location, why: "a PostgreSQL database with \(tables) table(s) but without TokenWatch's schema"
                )
            }
            guard mode == .create else { throw StoreError.notInitialised(path: location) }
            return known
        }
        guard let first = known.first, applied.contains(first) else {
            throw StoreError.notATokenWatchDatabase(
                path: location, why: "tokenwatch_migrations without TokenWatch's first migration")
        }
        if let unknown = applied.last(where: { !known.contains($0) }) {
            throw StoreError.schemaTooNew(path: location, version: unknown)
        }
        let pending = known.filter { !applied.contains($0) }
        if mode == .readOnly, let first = pending.first {
            throw StoreError.needsMigration(path: location, pending: first)
        }
        return pending
    }

    /// Computes `shard_hash` for pages that lack it (those stored before "v5: shards"), in
    /// Swift, where `Shard.hash` is defined.
    static func fillShardHashes(_ connection: PostgresConnection, logger: Logger) async throws {
        while true {
            var ids: [Int64] = []
            var hashes: [Int64] = []
            for try await (id, pageID) in try await connection.query(
                "SELECT id, page_id FROM page WHERE shard_hash IS NULL LIMIT 10000", logger: logger
            ).decode((Int64, String).self) {
                ids.append(id)
                hashes.append(PostgresStore.shardHash(pageID))
            }
            guard !ids.isEmpty else { return }
            try await connection.query(
                """
                UPDATE page SET shard_hash = h.hash FROM unnest(\(ids)::bigint[], \(hashes)::bigint[]) AS h(id, hash)
                WHERE page.id = h.id
                """, logger: logger)
        }
    }
}
