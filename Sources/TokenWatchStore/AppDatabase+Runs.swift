import Foundation
import GRDB
import TokenWatchModel

/// One `check` run as recorded: when, by whom, what it found and how it ended.
public struct CheckRunRecord: Sendable, Equatable {
    public var id: Int64
    public var startedAt: Date
    public var endedAt: Date?
    public var actor: String
    public var outcome: String?
    public var exitCode: Int32?
    public var pagesTotal = 0
    public var checked = 0
    public var valid = 0
    public var invalid = 0
    public var newlyInvalid = 0
    public var unknown = 0
    public var unchecked = 0
    public var configuredVersion: String?
    public var servedVersion: String?
    public var massInvalidationHeld = false
    public var message: String?
    /// The shard this run checked; nil for a run over the whole fleet.
    public var shard: Shard?

    public init(id: Int64, startedAt: Date, actor: String) {
        self.id = id
        self.startedAt = startedAt
        self.actor = actor
    }
}

extension AppDatabase {
    /// Records the start of a run; returns its ID.
    public func startRun(actor: String, configuredVersion: String, pagesTotal: Int, shard: Shard?, now: Date)
        async throws(StoreError) -> Int64
    {
        try await write { db in
            try db.execute(
                sql: """
                    INSERT INTO check_run (started_at, actor, configured_version, pages_total, shard_index, shard_count)
                    VALUES (?, ?, ?, ?, ?, ?)
                    """,
                arguments: [now, actor, configuredVersion, pagesTotal, shard?.index, shard?.count])
            return db.lastInsertedRowID
        }
    }

    /// Records how a run ended.
    public func finishRun(_ run: CheckRunRecord) async throws(StoreError) {
        try await write { db in
            try db.execute(
                sql: """
                    UPDATE check_run SET ended_at = ?, outcome = ?, exit_code = ?, pages_total = ?, checked = ?,
                        valid = ?, invalid = ?, newly_invalid = ?, unknown = ?, unchecked = ?, served_version = ?,
                        mass_invalidation_held = ?, message = ?
                    WHERE id = ?
                    """,
                arguments: [
                    run.endedAt, run.outcome, run.exitCode, run.pagesTotal, run.checked, run.valid, run.invalid,
                    run.newlyInvalid, run.unknown, run.unchecked, run.servedVersion, run.massInvalidationHeld,
                    run.message, run.id,
                ])
        }
    }

    /// When the last run that exited 0 ended (for the metrics' last-success figure).
    public func lastSuccessfulRunEnd() async throws(StoreError) -> Date? {
        try await read { db in
            try Date.fetchOne(db, sql: "SELECT MAX(ended_at) FROM check_run WHERE exit_code = 0")
        }
    }

    /// The most recent finished run, for `tokenwatch report`.
    public func lastRun() async throws(StoreError) -> CheckRunRecord? {
        try await read { db in
            guard
                let row = try Row.fetchOne(
                    db, sql: "SELECT * FROM check_run WHERE ended_at IS NOT NULL ORDER BY id DESC LIMIT 1")
            else { return nil }
            return Self.runRecord(row)
        }
    }

    /// The most recent run of every shard of a fleet split `count` ways, by shard index.
    public func lastShardRuns(count: Int) async throws(StoreError) -> [Int: CheckRunRecord] {
        try await read { db in
            let rows = try Row.fetchAll(
                db,
                sql: """
                    SELECT * FROM check_run WHERE id IN (
                        SELECT MAX(id) FROM check_run WHERE shard_count = ? GROUP BY shard_index)
                    """, arguments: [count])
            var runs: [Int: CheckRunRecord] = [:]
            for row in rows {
                let run = Self.runRecord(row)
                if let shard = run.shard { runs[shard.index] = run }
            }
            return runs
        }
    }

    /// A `check_run` row.
    static func runRecord(_ row: Row) -> CheckRunRecord {
        var run = CheckRunRecord(id: row["id"], startedAt: row["started_at"], actor: row["actor"])
        run.endedAt = row["ended_at"]
        run.outcome = row["outcome"]
        run.exitCode = row["exit_code"]
        run.pagesTotal = row["pages_total"]
        run.checked = row["checked"]
        run.valid = row["valid"]
        run.invalid = row["invalid"]
        run.newlyInvalid = row["newly_invalid"]
        run.unknown = row["unknown"]
        run.unchecked = row["unchecked"]
        run.configuredVersion = row["configured_version"]
        run.servedVersion = row["served_version"]
        run.massInvalidationHeld = row["mass_invalidation_held"]
        run.message = row["message"]
        if let index: Int = row["shard_index"], let count: Int = row["shard_count"] {
            run.shard = Shard(index: index, count: count)
        }
        return run
    }

    /// The meta key of Graph's shared back-off.
    static let throttleKey = "graph_throttled_until"

    /// When Graph's back-off, recorded by any run or shard, ends; nil when none was recorded.
    public func graphThrottledUntil() async throws(StoreError) -> Date? {
        try await read { db in
            try Double.fetchOne(db, sql: "SELECT value FROM meta WHERE key = ?", arguments: [Self.throttleKey])
                .map(Date.init(timeIntervalSince1970:))
        }
    }

    /// Records Graph's back-off for every shard; a later time than the one stored wins.
    public func throttleGraph(until: Date) async throws(StoreError) {
        try await write { db in
            try db.execute(
                sql: """
                    INSERT INTO meta (key, value) VALUES (?, ?)
                    ON CONFLICT (key) DO UPDATE SET value = MAX(CAST(value AS REAL), excluded.value)
                    """, arguments: [Self.throttleKey, until.timeIntervalSince1970])
        }
    }

    /// Pages flagged "expiring": `PageRecord.isExpiring` counted in SQL, so a run's metrics
    /// need not load every page.
    public func expiringCount(now: Date, warningDays: Int) async throws(StoreError) -> Int {
        try await read { db in
            try Int.fetchOne(
                db,
                sql: """
                    SELECT COUNT(*) FROM page
                    WHERE status != 'disconnected' AND expires_at IS NOT NULL AND expires_at <= ?
                    """, arguments: [now.addingTimeInterval(Double(warningDays) * 86_400)]) ?? 0
        }
    }

    /// Counts of pages per status.
    public func statusCounts() async throws(StoreError) -> [PageStatus: Int] {
        try await read { db in
            var counts: [PageStatus: Int] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT status, COUNT(*) AS n FROM page GROUP BY status") {
                if let status = PageStatus(rawValue: row["status"]) { counts[status] = row["n"] }
            }
            return counts
        }
    }
}

extension AppDatabase {
    /// SQLite's `PRAGMA integrity_check`: "ok" for a sound database.
    public func integrityCheck() async throws(StoreError) -> String {
        try await read { db in try String.fetchAll(db, sql: "PRAGMA integrity_check").joined(separator: "; ") }
    }
}

extension AppDatabase: PageStore {
    /// `flock` on `<database>.lock` (or the shard's own lock file). Taking it never waits.
    public func acquireRunLock(shard: Shard?) async throws -> any RunLease {
        try RunLock.acquire(databasePath: path, shard: shard)
    }
}

extension AppDatabase {
    /// From the page log: `became_invalid` and `became_valid` entries of these runs, the
    /// latter without first successful checks.
    public func changes(inRuns runIDs: [Int64]) async throws(StoreError) -> RunChanges {
        guard !runIDs.isEmpty else { return RunChanges() }
        return try await read { db in
            let rows = try Row.fetchAll(
                db,
                sql: """
                    SELECT page.page_id, page_event.kind FROM page_event JOIN page ON page.id = page_event.page_ref
                    WHERE page_event.run_id IN (\(databaseQuestionMarks(count: runIDs.count)))
                      AND (page_event.kind = 'became_invalid'
                           OR (page_event.kind = 'became_valid' AND page_event.detail IS NOT 'first successful check'))
                    ORDER BY page_event.id
                    """, arguments: StatementArguments(runIDs))
            var changes = RunChanges()
            for row in rows {
                let pageID: String = row[0]
                if row[1] == PageEventKind.becameInvalid.rawValue {
                    changes.newlyInvalid.append(pageID)
                } else {
                    changes.becameValid.append(pageID)
                }
            }
            return changes
        }
    }
}
