import Foundation
import Logging
import PostgresNIO
import TokenWatchModel
import TokenWatchStore

extension PostgresStore {
    /// Records the start of a run (of one shard, or of the whole fleet); returns its ID.
    public func startRun(actor: String, configuredVersion: String, pagesTotal: Int, shard: Shard?, now: Date)
        async throws(StoreError) -> Int64
    {
        try await write { connection in
            let id = try await connection.value(
                Int64.self,
                """
                INSERT INTO check_run (started_at, actor, configured_version, pages_total, shard_index, shard_count)
                VALUES (\(now), \(actor), \(configuredVersion), \(pagesTotal), \(shard.map { Int32($0.index) }),
                        \(shard.map { Int32($0.count) }))
                RETURNING id
                """, logger)
            guard let id else { throw StoreError.database("INSERT INTO check_run returned no id") }
            return id
        }
    }

    /// Records how a run ended.
    public func finishRun(_ run: CheckRunRecord) async throws(StoreError) {
        try await write { connection in
            try await connection.run(
                """
                UPDATE check_run SET ended_at = \(run.endedAt), outcome = \(run.outcome), exit_code = \(run.exitCode),
                    pages_total = \(run.pagesTotal), checked = \(run.checked), valid = \(run.valid),
                    invalid = \(run.invalid), newly_invalid = \(run.newlyInvalid), unknown = \(run.unknown),
                    unchecked = \(run.unchecked), served_version = \(run.servedVersion),
                    mass_invalidation_held = \(run.massInvalidationHeld), message = \(run.message)
                WHERE id = \(run.id)
                """, logger)
        }
    }

    /// When the last run that exited 0 ended (for the metrics' last-success figure).
    public func lastSuccessfulRunEnd() async throws(StoreError) -> Date? {
        try await read { connection in
            try await connection.value(Date.self, "SELECT MAX(ended_at) FROM check_run WHERE exit_code = 0", logger)
        }
    }

    /// The columns `runRecord` reads, in its order.
    static let runColumns = """
        id, started_at, ended_at, actor, outcome, exit_code, pages_total, checked, valid, invalid, newly_invalid,
        unknown, unchecked, configured_version, served_version, mass_invalidation_held, message, shard_index,
        shard_count
        """

    /// The most recent finished run, for `tokenwatch report`.
    public func lastRun() async throws(StoreError) -> CheckRunRecord? {
        try await read { connection in
            try await connection.rows(
                PostgresQuery(
                    unsafeSQL:
                        "SELECT \(Self.runColumns) FROM check_run WHERE ended_at IS NOT NULL ORDER BY id DESC LIMIT 1"),
                logger
            ).first.map(Self.runRecord)
        }
    }

    /// The most recent run of every shard of a fleet split `count` ways, by shard index.
    public func lastShardRuns(count: Int) async throws(StoreError) -> [Int: CheckRunRecord] {
        var builder = QueryBuilder("SELECT \(Self.runColumns) FROM check_run WHERE id IN (")
        builder.append(
            "SELECT MAX(id) FROM check_run WHERE shard_count = \(builder.bind(count))::integer GROUP BY shard_index)")
        let query = builder.query
        return try await read { connection in
            var runs: [Int: CheckRunRecord] = [:]
            for row in try await connection.rows(query, logger) {
                let run = try Self.runRecord(row)
                if let shard = run.shard { runs[shard.index] = run }
            }
            return runs
        }
    }

    /// A `check_run` row of `SELECT \(runColumns)`.
    static func runRecord(_ row: PostgresRow) throws -> CheckRunRecord {
        let columns = row.makeRandomAccess()
        var run = CheckRunRecord(
            id: try columns[0].decode(Int64.self), startedAt: try columns[1].decode(Date.self),
            actor: try columns[3].decode(String.self))
        run.endedAt = try columns[2].decode(Date?.self)
        run.outcome = try columns[4].decode(String?.self)
        run.exitCode = try columns[5].decode(Int32?.self)
        run.pagesTotal = try columns[6].decode(Int.self)
        run.checked = try columns[7].decode(Int.self)
        run.valid = try columns[8].decode(Int.self)
        run.invalid = try columns[9].decode(Int.self)
        run.newlyInvalid = try columns[10].decode(Int.self)
        run.unknown = try columns[11].decode(Int.self)
        run.unchecked = try columns[12].decode(Int.self)
        run.configuredVersion = try columns[13].decode(String?.self)
        run.servedVersion = try columns[14].decode(String?.self)
        run.massInvalidationHeld = try columns[15].decode(Bool.self)
        run.message = try columns[16].decode(String?.self)
        if let index = try columns[17].decode(Int?.self), let count = try columns[18].decode(Int?.self) {
            run.shard = Shard(index: index, count: count)
        }
        return run
    }

    /// The pages that turned invalid, and those that turned valid again (not a first
    /// successful check), in these runs, in the order they were logged.
    public func changes(inRuns runIDs: [Int64]) async throws(StoreError) -> RunChanges {
        guard !runIDs.isEmpty else { return RunChanges() }
        return try await read { connection in
            var changes = RunChanges()
            for try await (pageID, kind) in try await connection.query(
                """
                SELECT page.page_id, page_event.kind FROM page_event JOIN page ON page.id = page_event.page_ref
                WHERE page_event.run_id = ANY(\(runIDs)::bigint[])
                  AND (page_event.kind = 'became_invalid'
                       OR (page_event.kind = 'became_valid'
                           AND page_event.detail IS DISTINCT FROM 'first successful check'))
                ORDER BY page_event.id
                """, logger: logger
            ).decode((String, String).self) {
                if kind == PageEventKind.becameInvalid.rawValue {
                    changes.newlyInvalid.append(pageID)
                } else {
                    changes.becameValid.append(pageID)
                }
            }
            return changes
        }
    }

    /// The meta key of Graph's shared back-off, as `AppDatabase` names it.
    static let throttleKey = "graph_throttled_until"

    /// When Graph's back-off, recorded by any run or shard, ends; nil when none was recorded.
    /// Kept in `meta` as the decimal seconds since 1970, in UTF-8.
    public func graphThrottledUntil() async throws(StoreError) -> Date? {
        try await read { connection in
            try await connection.value(
                Double.self,
                "SELECT convert_from(value, 'UTF8')::float8 FROM meta WHERE key = \(Self.throttleKey)", logger
            ).map(Date.init(timeIntervalSince1970:))
        }
    }

    /// Records Graph's back-off for every shard; a later time than the one stored wins
    /// (`GREATEST`, in the one statement, so two shards racing keep the later).
    public func throttleGraph(until: Date) async throws(StoreError) {
        let seconds = until.timeIntervalSince1970
        let value = Data(String(seconds).utf8)
        try await write { connection in
            try await connection.run(
                try """
                INSERT INTO meta (key, value) VALUES (\(Self.throttleKey), \(value))
                ON CONFLICT (key) DO UPDATE SET value = convert_to(
                    GREATEST(convert_from(meta.value, 'UTF8')::float8, \(seconds)::float8)::text, 'UTF8')
                """, logger)
        }
    }

    /// Pages flagged "expiring": `PageRecord.isExpiring` counted in SQL.
    public func expiringCount(now: Date, warningDays: Int) async throws(StoreError) -> Int {
        let horizon = now.addingTimeInterval(Double(warningDays) * 86_400)
        return try await read { connection in
            try await connection.value(
                Int.self,
                """
                SELECT COUNT(*) FROM page
                WHERE status != 'disconnected' AND expires_at IS NOT NULL AND expires_at <= \(horizon)
                """, logger) ?? 0
        }
    }

    /// Counts of pages per status.
    public func statusCounts() async throws(StoreError) -> [PageStatus: Int] {
        try await read { connection in
            var counts: [PageStatus: Int] = [:]
            for try await (status, count) in try await connection.query(
                "SELECT status, COUNT(*) FROM page GROUP BY status", logger: logger
            ).decode((String, Int).self) {
                if let status = PageStatus(rawValue: status) { counts[status] = count }
            }
            return counts
        }
    }

    /// The store's consistency, checked as far as SQL can see it: the constraints PostgreSQL
    /// enforces (foreign keys, CHECKs) are re-asked of the rows, and what the schema cannot
    /// say (a watched page keeps a sealed token; a sample of shard hashes match their page
    /// IDs). "ok", or each problem with its count.
    public func integrityCheck() async throws(StoreError) -> String {
        let checks: [(String, PostgresQuery)] = [
            (
                "page log entries of missing pages",
                "SELECT COUNT(*) FROM page_event WHERE NOT EXISTS (SELECT 1 FROM page WHERE page.id = page_event.page_ref)"
            ),
            (
                "outbox rows of missing pages",
                "SELECT COUNT(*) FROM outbox WHERE NOT EXISTS (SELECT 1 FROM page WHERE page.id = outbox.page_ref)"
            ),
            (
                "pages of missing companies",
                "SELECT COUNT(*) FROM page WHERE NOT EXISTS (SELECT 1 FROM company WHERE company.id = page.company_id)"
            ),
            (
                "watched pages without a token",
                "SELECT COUNT(*) FROM page WHERE status != 'disconnected' AND token_sealed IS NULL"
            ),
            ("pages without a shard hash", "SELECT COUNT(*) FROM page WHERE shard_hash IS NULL"),
        ]
        return try await read { connection in
            var problems: [String] = []
            for (what, query) in checks {
                let count = try await connection.value(Int.self, query, logger) ?? 0
                if count > 0 { problems.append("\(count) \(what)") }
            }
            // A sample of stored hashes recomputed in Swift, where `Shard.hash` is defined.
            var wrong = 0
            for try await (pageID, hash) in try await connection.query(
                "SELECT page_id, shard_hash FROM page ORDER BY random() LIMIT 1000", logger: logger
            ).decode((String, Int64?).self) where hash != Self.shardHash(pageID) {
                wrong += 1
            }
            if wrong > 0 { problems.append("\(wrong) pages whose shard hash is not their ID's") }
            return problems.isEmpty ? "ok" : problems.joined(separator: "; ")
        }
    }
}
