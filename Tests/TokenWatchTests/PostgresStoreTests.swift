import Foundation
import Logging
import Testing
import TokenWatchTestSupport

@testable import TokenWatchModel
@testable import TokenWatchPostgres
@testable import TokenWatchStore

/// What only the PostgreSQL store has: a URL with a password, a server that refuses, senders
/// and shards on other hosts at the same time, advisory locks that die with their session.
@Suite("PostgreSQL store")
struct PostgresStoreTests {
    let now = Date(timeIntervalSince1970: 1_790_000_000)
    let logger = Logger(label: "tokenwatch.tests.postgres")

    func open(_ url: String, mode: StoreAccessMode = .create) async throws -> PostgresStore {
        try await PostgresStore.open(url: url, password: nil, mode: mode, logger: logger)
    }

    // MARK: The URL and its password

    @Test func theURLIsReadAndItsPasswordKeptOutOfTheLocation() throws {
        let url = try PostgresURL("postgresql://tw%40ops:s3cr%2Ft@db.internal:6432/token_watch?sslmode=verify-full")
        #expect(url.user == "tw@ops")
        #expect(url.password == "s3cr/t")
        #expect(url.host == "db.internal")
        #expect(url.port == 6432)
        #expect(url.database == "token_watch")
        #expect(url.sslMode == .verifyFull)
        #expect(url.location == "postgres://tw%40ops@db.internal:6432/token_watch?sslmode=verify-full")
        #expect(!url.location.contains("s3cr"))
        let plain = try PostgresURL("postgres://tw@db/tokenwatch")
        #expect(plain.port == 5432)
        #expect(plain.sslMode == .prefer)
        #expect(plain.password == nil)
        for bad in [
            "postgres://tw@db", "postgres://db/x", "postgres://tw@db/x?sslmode=maybe", "postgres://tw@db/x?a=b",
        ] {
            #expect(throws: PostgresURL.Problem.self) { try PostgresURL(bad) }
        }
        #expect(PostgresURL.redacted("postgres://tw:pw@db:1/x%zz") == "postgres://tw:***@db:1/x%zz")
    }

    @Test func thePasswordIsInNoErrorNorLocation() async throws {
        let server = try await PostgresServer.shared()
        let password = "hunter2-Pa55word"
        // Nothing listens on the port, with the password in the URL, then as the argument.
        let refusedURL = "postgres://tw:\(password)@127.0.0.1:1/tokenwatch?sslmode=disable"
        let attempts: [(url: String, password: String?)] = [
            (refusedURL, nil), ("postgres://tw@127.0.0.1:1/tokenwatch", password),
        ]
        for (url, argument) in attempts {
            let error = await #expect(throws: StoreError.self) {
                _ = try await PostgresStore.open(url: url, password: argument, mode: .readWrite, logger: logger)
            }
            guard case .cannotOpen(let location, let reason) = error else {
                Issue.record("expected cannotOpen, got \(String(describing: error))")
                continue
            }
            #expect(location.hasPrefix("postgres://tw@127.0.0.1:1/tokenwatch"))
            #expect(reason.contains("cannot connect"))
            #expect(!String(describing: error).contains(password))
        }
        // The server answers: a database that does not exist, in its own words.
        let missing = "postgres://postgres:\(password)@127.0.0.1:\(server.port)/no_such_db?sslmode=disable"
        let error = await #expect(throws: StoreError.self) { _ = try await open(missing, mode: .readWrite) }
        #expect(String(describing: error).contains("no_such_db"))
        #expect(String(describing: error).contains("3D000"))
        #expect(!String(describing: error).contains(password))
        // Trust authentication takes any password: an opened store names itself without it.
        let url = try await server.createDatabase(named: "password")
        let store = try await PostgresStore.open(
            url: url.replacingOccurrences(of: "postgres@", with: "postgres:\(password)@"), password: nil,
            mode: .create, logger: logger)
        #expect(!store.location.contains(password))
        #expect(store.location.hasPrefix("postgres://postgres@127.0.0.1:"))
        let lease = try await store.acquireRunLock(shard: nil)
        #expect(!lease.description.contains(password))
        lease.release()
        store.close()
    }

    @Test func sslModeRequireMeetsAServerWithoutTLS() async throws {
        let url = try await PostgresServer.shared().createDatabase(named: "tls")
        let error = await #expect(throws: StoreError.self) { _ = try await open(url + "?sslmode=require") }
        #expect(String(describing: error).contains("does not offer TLS"))
        // `prefer` falls back to plain, as libpq does.
        let store = try await open(url + "?sslmode=prefer")
        store.close()
    }

    // MARK: Identity and migrations

    @Test func whatIsNotTokenWatchsOrIsNewerIsRefused() async throws {
        let server = try await PostgresServer.shared()
        let empty = try await server.createDatabase(named: "empty")
        for mode in [StoreAccessMode.readWrite, .readOnly] {
            await #expect(throws: StoreError.notInitialised(path: empty + "?sslmode=prefer")) {
                _ = try await open(empty, mode: mode)
            }
        }
        let foreign = try await server.createDatabase(named: "foreign")
        _ = try await server.psql("CREATE TABLE invoices (id int)", url: foreign)
        for mode in [StoreAccessMode.create, .readWrite, .readOnly] {
            let error = await #expect(throws: StoreError.self) { _ = try await open(foreign, mode: mode) }
            guard case .notATokenWatchDatabase = error else {
                Issue.record("expected notATokenWatchDatabase, got \(String(describing: error))")
                continue
            }
        }
        #expect(
            try await server.psql("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'", url: foreign)
                == "1\n")

        let newer = try await server.createDatabase(named: "newer")
        try await open(newer).close()
        _ = try await server.psql("INSERT INTO tokenwatch_migrations (id) VALUES ('v99: from the future')", url: newer)
        for mode in [StoreAccessMode.create, .readWrite, .readOnly] {
            await #expect(
                throws: StoreError.schemaTooNew(path: newer + "?sslmode=prefer", version: "v99: from the future")
            ) {
                _ = try await open(newer, mode: mode)
            }
        }

        let older = try await server.createDatabase(named: "older")
        _ = try await server.psql(
            """
            CREATE TABLE tokenwatch_migrations (id TEXT PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now());
            INSERT INTO tokenwatch_migrations (id) VALUES ('v1: companies, owners, pages, page log, runs, outbox');
            """, url: older)
        await #expect(
            throws: StoreError.needsMigration(
                path: older + "?sslmode=prefer", pending: "v2: outbox claims and the wave")
        ) {
            _ = try await open(older, mode: .readOnly)
        }
    }

    /// A database left at v2 by an older TokenWatch keeps its rows through v3 (the outbox
    /// takes `recovered`) and v5 (each stored page gets its shard hash).
    @Test func anOlderDatabaseIsMigratedInPlace() async throws {
        let server = try await PostgresServer.shared()
        let url = try await server.createDatabase(named: "v2")
        var sql =
            "CREATE TABLE tokenwatch_migrations (id TEXT PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp());\n"
        for migration in PostgresSchema.migrations.prefix(2) {
            sql += migration.sql.joined(separator: ";\n") + ";\n"
            sql += "INSERT INTO tokenwatch_migrations (id) VALUES ('\(migration.id)');\n"
        }
        sql += """
            INSERT INTO company (name, created_at) VALUES ('Acme', now());
            INSERT INTO page (company_id, page_id, page_name, token_sealed, token_updated_at, status, created_at)
            VALUES (1, '104000000000001', 'Acme Jobs', '\\x00', now(), 'invalid', now());
            INSERT INTO outbox (page_ref, owner_email, kind, since, created_at, state, sent_at, claimed_by, from_valid)
            VALUES (1, 'ann@acme.example', 'invalid', now(), now(), 'sent', now(), 'check:1', true);
            """
        _ = try await server.psql(sql, url: url)
        await #expect(throws: (any Error).self) {
            _ = try await server.psql(
                "INSERT INTO outbox (page_ref, owner_email, kind, since, created_at) VALUES (1, 'a', 'recovered', now(), now())",
                url: url)
        }
        await #expect(
            throws: StoreError.needsMigration(
                path: url + "?sslmode=prefer", pending: "v3: outbox notice kind recovered")
        ) {
            _ = try await open(url, mode: .readOnly)
        }
        let store = try await open(url, mode: .readWrite)
        #expect(try await store.appliedMigrations() == PostgresSchema.migrations.map(\.id))
        #expect(
            try await server.psql("SELECT owner_email, state, claimed_by, from_valid FROM outbox", url: url)
                == "ann@acme.example|sent|check:1|t\n")
        _ = try await server.psql(
            "INSERT INTO outbox (page_ref, owner_email, kind, since, created_at) VALUES (1, 'a', 'recovered', now(), now())",
            url: url)
        await #expect(throws: (any Error).self) {
            _ = try await server.psql(
                "INSERT INTO outbox (page_ref, owner_email, kind, since, created_at) VALUES (1, 'a', 'bogus', now(), now())",
                url: url)
        }
        #expect(
            try await server.psql("SELECT shard_hash FROM page", url: url)
                == "\(PostgresStore.shardHash("104000000000001"))\n")
        #expect(try await store.integrityCheck() == "ok")
        store.close()
    }

    @Test func processesStartingAtOnceMigrateOnce() async throws {
        let url = try await PostgresServer.shared().createDatabase(named: "race")
        let stores = try await withThrowingTaskGroup(of: PostgresStore.self) { group in
            for _ in 0..<4 { group.addTask { try await open(url) } }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        for store in stores {
            #expect(try await store.appliedMigrations() == PostgresSchema.migrations.map(\.id))
            store.close()
        }
    }

    @Test func aReadOnlySessionCannotWriteEvenBehindTheStoresBack() async throws {
        let url = try await PostgresServer.shared().createDatabase(named: "readonly")
        try await open(url).close()
        let store = try await open(url, mode: .readOnly)
        do {
            // The store's own guard is bypassed: the session itself refuses.
            try await store.client.withConnection { connection in
                try await connection.run("INSERT INTO company (name, created_at) VALUES ('x', now())", logger)
            }
            Issue.record("a read-only session wrote")
        } catch {
            guard case .notWritable(let location, let reason) = store.storeError(error) else {
                Issue.record("expected notWritable, got \(store.storeError(error))")
                return
            }
            #expect(location == store.location)
            #expect(reason.contains("25006"))
        }
        store.close()
    }

    // MARK: Senders and shards at once

    @Test func concurrentSendersNeverClaimTheSameRows() async throws {
        let url = try await PostgresServer.shared().createDatabase(named: "claims")
        let first = try await open(url)
        let second = try await open(url, mode: .readWrite)
        let key = try TestDirectory()
        try TokenCipher.createKeyFileIfMissing(at: key.file("k"))
        let cipher = try TokenCipher.load(keyFile: key.file("k"))
        let pages = (0..<200).map {
            PageUpsert(
                company: "Company \($0 % 40)", pageID: String(7_000 + $0), pageName: "Page \($0)",
                token: Secret("t\($0)"), source: "test")
        }
        _ = try await first.upsertPages(pages, cipher: cipher, actor: "test", now: now)
        for company in 0..<40 {
            _ = try await first.addOwners(
                company: "Company \(company)", emails: ["a\(company)@x.example", "b\(company)@x.example"], now: now)
        }
        let runID = try await first.startRun(actor: "t", configuredVersion: "v23.0", pagesTotal: 200, now: now)
        let targets = try await first.checkTargets(pageIDs: nil)
        _ = try await first.commit(
            targets.map { PageCheckResult(target: $0, verdict: .invalid(.passwordChanged, facts: nil, error: nil)) },
            requiredScopes: [], runID: runID, actor: "t", now: now)
        #expect(try await first.promoteStaged(hold: false, actor: "t", now: now) == 400)

        let lease = now.addingTimeInterval(600)
        let claimed = try await withThrowingTaskGroup(of: [(String, [OutboxItem])].self) { group in
            for (sender, store) in [("one", first), ("two", second), ("three", first)] {
                group.addTask {
                    var digests: [(String, [OutboxItem])] = []
                    while let items = try await store.claimNextDigest(
                        sender: sender, now: now, leaseUntil: lease, ignoreBackoff: false, skipping: [])
                    {
                        digests.append((sender, items))
                    }
                    return digests
                }
            }
            return try await group.reduce(into: []) { $0 += $1 }
        }
        let ids = claimed.flatMap { $0.1.map(\.id) }
        #expect(ids.count == 400)
        #expect(Set(ids).count == 400)
        // One digest per Owner: no Owner's rows are split between senders.
        let owners = claimed.map { $0.1.first?.ownerEmail.lowercased() ?? "" }
        #expect(owners.count == 80)
        #expect(Set(owners).count == 80)
        #expect(claimed.allSatisfy { digest in digest.1.allSatisfy { $0.ownerEmail == digest.1.first?.ownerEmail } })
        #expect(Set(claimed.map(\.0)).count > 1)
        first.close()
        second.close()
    }

    // MARK: The run lock

    /// The run lock of `shard`, tried for up to five seconds; nil when it stayed held.
    func acquire(_ shard: Shard?, from store: PostgresStore) async -> (any RunLease)? {
        for _ in 0..<50 {
            if let lease = try? await store.acquireRunLock(shard: shard) { return lease }
            try? await Task.sleep(for: .milliseconds(100))
        }
        return nil
    }

    @Test func theRunLockIsOnePerShardAndReleased() async throws {
        let url = try await PostgresServer.shared().createDatabase(named: "lock")
        let store = try await open(url)
        let other = try await open(url, mode: .readWrite)
        let shard = try #require(Shard(index: 1, count: 4))
        let held = try await store.acquireRunLock(shard: shard)
        #expect(held.description.contains("shard 1/4"))
        let error = await #expect(throws: RunLockError.self) { _ = try await other.acquireRunLock(shard: shard) }
        guard case .held(let pid, let since) = error else {
            Issue.record("expected held, got \(String(describing: error))")
            return
        }
        #expect(pid == ProcessInfo.processInfo.processIdentifier)
        #expect(since != nil)
        // Other shards, and a run over the whole fleet, have locks of their own.
        let neighbour = try await other.acquireRunLock(shard: Shard(index: 2, count: 4))
        let whole = try await other.acquireRunLock(shard: nil)
        held.release()
        held.release()
        // `release()` does not wait for the server: the lock is free a moment later.
        let again = try #require(await acquire(shard, from: other))
        for lease in [neighbour, whole, again] { lease.release() }
        store.close()
        other.close()
    }

    @Test func aDeadHoldersLockIsFreedByTheServer() async throws {
        let server = try await PostgresServer.shared()
        let url = try await server.createDatabase(named: "deadlock")
        let store = try await open(url)
        let shard = try #require(Shard(index: 0, count: 2))
        let held = try await store.acquireRunLock(shard: shard)
        await #expect(throws: RunLockError.self) { _ = try await store.acquireRunLock(shard: shard) }
        // The holder's session ends as a killed process's would: the server drops its locks.
        let database = String(url.split(separator: "/").last ?? "")
        let killed = try await server.psql(
            """
            SELECT count(pg_terminate_backend(l.pid)) FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
            WHERE l.locktype = 'advisory' AND a.datname = '\(database)'
            """, url: url)
        #expect(killed == "1\n")
        let taken = await acquire(shard, from: store)
        #expect(taken != nil)
        taken?.release()
        held.release()
        store.close()
    }
}
