import Foundation
import Logging
import PostgresNIO
import Synchronization
import TokenWatchModel
import TokenWatchStore

/// The run lock of one shard (or of the whole fleet) on PostgreSQL: a session advisory lock
/// (`pg_try_advisory_lock(class, object)`) held by a connection of its own for the whole run.
///
/// Taking it never waits. The server drops it when `release()` closes that connection, and
/// when the holder's session ends however it ends — a process killed, a pod evicted, a network
/// gone — so a dead run never leaves a stale lock. The holder's session is named
/// `tokenwatch pid N` (`application_name`), which is how a refused run learns who holds it.
public final class PostgresRunLease: RunLease {
    /// The advisory lock class (first key) of run locks: "TkWR".
    public static let lockClass: Int32 = 0x546B_5752

    /// The second key: 0 for a run over the whole fleet; for shard I of N, a number of its own
    /// (`N << 16 | I`, for N below 32,768), so each shard has its lock and the whole-fleet run
    /// another, as `RunLock`'s lock files do.
    public static func lockObject(shard: Shard?) -> Int32 {
        guard let shard else { return 0 }
        return Int32(truncatingIfNeeded: (shard.count & 0x7FFF) << 16 | (shard.index & 0xFFFF))
    }

    public let description: String
    private let connection: Mutex<PostgresConnection?>
    private let object: Int32
    private let logger: Logger

    private init(connection: PostgresConnection, object: Int32, description: String, logger: Logger) {
        self.connection = Mutex(connection)
        self.object = object
        self.description = description
        self.logger = logger
    }

    deinit {
        // Closing the session drops its advisory locks.
        if let connection = connection.withLock({ $0 }) {
            let _: EventLoopFuture<Void> = connection.close()
        }
    }

    /// Takes the lock on a new connection, or throws `RunLockError.held` at once when another
    /// session has it (with the holder's PID and start, when its session says them).
    static func acquire(settings: PostgresSettings, shard: Shard?, logger: Logger) async throws -> PostgresRunLease {
        let object = lockObject(shard: shard)
        let connection = try await settings.connect(
            logger: logger, applicationName: "tokenwatch pid \(ProcessInfo.processInfo.processIdentifier)")
        do {
            let taken = try await connection.value(
                Bool.self, "SELECT pg_try_advisory_lock(\(lockClass), \(object))", logger)
            guard taken == true else {
                let holder = try? await holder(connection, object: object, logger: logger)
                try? await connection.close()
                throw RunLockError.held(byPID: holder?.pid, since: holder?.since)
            }
        } catch let error as RunLockError {
            throw error
        } catch {
            try? await connection.close()
            throw StoreError.cannotOpen(path: settings.url.location, reason: settings.describe(error))
        }
        let what = shard.map { "shard \($0)" } ?? "the whole fleet"
        return PostgresRunLease(
            connection: connection, object: object,
            description:
                "PostgreSQL advisory lock (\(lockClass), \(object)) for \(what) on \(settings.url.location)",
            logger: logger)
    }

    /// Who holds the lock: the PID its session's `application_name` names, and when that
    /// session started.
    private static func holder(_ connection: PostgresConnection, object: Int32, logger: Logger) async throws
        -> (pid: Int32?, since: Date?)
    {
        guard
            let row = try await connection.rows(
                """
                SELECT a.application_name, a.backend_start FROM pg_locks l
                JOIN pg_stat_activity a ON a.pid = l.pid
                WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 2
                  AND l.classid = \(Int64(lockClass))::bigint::oid AND l.objid = \(Int64(object))::bigint::oid
                LIMIT 1
                """, logger
            ).first
        else { return (nil, nil) }
        let (name, since) = try row.decode((String?, Date?).self)
        let prefix = "tokenwatch pid "
        guard let name, name.hasPrefix(prefix), let pid = Int32(name.dropFirst(prefix.count)) else {
            return (nil, since)
        }
        return (pid, since)
    }

    /// Whether this value still holds the lock.
    public var isHeld: Bool { connection.withLock { $0 != nil } }

    /// Unlocks and closes the lock's connection; a second call does nothing. It does not wait
    /// for the server: the unlock and the end of the session are on their way when it returns,
    /// and either frees the lock.
    public func release() {
        guard
            let connection = connection.withLock({ held -> PostgresConnection? in
                defer { held = nil }
                return held
            })
        else { return }
        // A session the server already ended holds no lock; a query written to its closed
        // channel would never be answered.
        if !connection.isClosed {
            let unlock: EventLoopFuture<PostgresQueryResult> = connection.query(
                "SELECT pg_advisory_unlock(\(Self.lockClass), \(object))", logger: logger)
            unlock.whenComplete { _ in
                let _: EventLoopFuture<Void> = connection.close()
            }
        } else {
            let _: EventLoopFuture<Void> = connection.close()
        }
    }
}

extension PostgresStore {
    /// The run lock of `shard` (or of the whole fleet): a session advisory lock on a
    /// connection of its own, released by `release()` or by the server when the process dies.
    public func acquireRunLock(shard: Shard?) async throws -> any RunLease {
        try await PostgresRunLease.acquire(settings: settings, shard: shard, logger: logger)
    }
}
