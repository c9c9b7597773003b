import Foundation
import GRDB
import TokenWatchModel

/// A page to check, with its token: opened (`token`), or still sealed (`sealedToken`) until
/// its batch is sent, so that a run never holds every page's token in clear at once.
public struct CheckTarget: Sendable {
    public var rowID: Int64
    public var pageID: String
    public var pageName: String
    public var company: String
    public var status: PageStatus
    public var scopes: [String]
    /// When the token was connected or renewed: a verdict about an older token is discarded.
    public var tokenUpdatedAt: Date
    /// The token in clear; empty while `sealedToken` holds it.
    public var token: Secret
    /// The token as stored, opened by `openedToken(with:)` when its batch is sent.
    public var sealedToken: Data?

    /// The token in clear: `token`, or `sealedToken` opened with `cipher`.
    public func openedToken(with cipher: TokenCipher?) throws(StoreError) -> Secret {
        guard let sealedToken else { return token }
        guard let cipher else { throw StoreError.database("page \(pageID): a sealed token and no key to open it") }
        return try cipher.unseal(sealedToken, pageID: pageID)
    }
}

/// One page's verdict in a run, ready to be committed.
public struct PageCheckResult: Sendable {
    public var target: CheckTarget
    public var verdict: Verdict

    public init(target: CheckTarget, verdict: Verdict) {
        self.target = target
        self.verdict = verdict
    }
}

/// What committing a batch changed.
public struct BatchCommit: Sendable, Equatable {
    /// Pages that turned invalid (from valid or unknown).
    public var newlyInvalid: [String] = []
    public var becameValid: [String] = []
    /// Of those, pages never checked before (imported or connected, now confirmed): their first
    /// verdict is not news the way a page turning valid again is.
    public var firstChecks: [String] = []
    public var permissionsChanged: [String] = []
    /// Verdicts thrown away because the page was disconnected or renewed during the run.
    public var discarded: [String] = []
    /// Outbox rows staged for Owners.
    public var outboxRows = 0

    /// Nothing changed yet.
    public init() {}
}

extension AppDatabase {
    /// Every watched page (or only `pageIDs`), least recently checked first, tokens still
    /// sealed: the check opens each batch's tokens when it sends the batch
    /// (`CheckTarget.openedToken(with:)`). Unknown or disconnected IDs in `pageIDs` are
    /// `StoreError.notFound`, naming them.
    public func checkTargets(pageIDs: [String]?, shard: Shard?) async throws(StoreError) -> [CheckTarget] {
        // One file is one host: a shard's pages are picked here rather than by an index on a
        // hash column, which only the PostgreSQL store, where shards really run, needs.
        let targets: [CheckTarget] = try await read { db in
            // Read in the table's order and sorted here by small keys: an ORDER BY made SQLite
            // sort every whole row, sealed token included, through temporary files (a third
            // of a second before the first request at 100,000 pages).
            var sql = """
                SELECT page.id, page.page_id, page.page_name, company.name AS company, page.status,
                       page.scopes, page.token_updated_at, page.token_sealed, page.last_checked_at
                FROM page JOIN company ON company.id = page.company_id
                WHERE page.status != 'disconnected' AND page.token_sealed IS NOT NULL
                """
            var arguments: StatementArguments = []
            if let pageIDs {
                sql += " AND page.page_id IN (\(databaseQuestionMarks(count: pageIDs.count)))"
                arguments = StatementArguments(pageIDs)
            }
            var targets: [CheckTarget] = []
            var lastChecked: [Double] = []
            // Room for all of them at once, not grown by doubling (a million pages' targets
            // were held one and a half times while the array moved).
            if pageIDs == nil, shard == nil {
                let count = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM page WHERE status != 'disconnected'") ?? 0
                targets.reserveCapacity(count)
                lastChecked.reserveCapacity(count)
            }
            var lists = ScopeLists()
            var tokenTimes: [DatabaseValue: Date] = [:]
            let rows = try Row.fetchCursor(db, sql: sql, arguments: arguments)
            while let row = try rows.next() {
                if let shard, !shard.contains(pageID: row[1]) { continue }
                // Pages imported together share their token time: parsed once.
                let tokenUpdatedAt = Self.tokenTime(row[6], parsed: &tokenTimes)
                // A batch's pages share their check time: parsed once (ScopeLists caches it).
                lastChecked.append(lists.date(row[8])?.timeIntervalSince1970 ?? -.infinity)
                targets.append(
                    CheckTarget(
                        rowID: row[0], pageID: row[1], pageName: row[2], company: row[3],
                        status: PageStatus(rawValue: row[4]) ?? .unknown, scopes: lists.split(row[5]),
                        tokenUpdatedAt: tokenUpdatedAt, token: Secret(""), sealedToken: row[7]))
            }
            Self.putInCheckOrder(&targets, lastChecked: lastChecked)
            return targets
        }
        try CheckTarget.requireAll(pageIDs, in: targets)
        return targets
    }

    /// A stored token time as a date, parsed once per distinct value: the pages of a fleet
    /// mostly share theirs (an import's). At most 4,096 are kept in `parsed`.
    static func tokenTime(_ stamp: DatabaseValue, parsed: inout [DatabaseValue: Date]) -> Date {
        if let known = parsed[stamp] { return known }
        let date = Date.fromDatabaseValue(stamp) ?? Date(timeIntervalSince1970: 0)
        if parsed.count < 4_096 { parsed[stamp] = date }
        return date
    }

    /// Sorts `targets` as a run checks them: pages never checked first, then the longest
    /// unchecked, then by row (`lastChecked[i]` is target i's last check time, -infinity for
    /// never). Sorts indices by the small keys and moves each target once, in place: a sorted
    /// copy would hold a million pages' targets twice.
    static func putInCheckOrder(_ targets: inout [CheckTarget], lastChecked: [Double]) {
        let rowIDs = targets.map(\.rowID)
        let order = targets.indices.sorted { a, b in
            lastChecked[a] != lastChecked[b] ? lastChecked[a] < lastChecked[b] : rowIDs[a] < rowIDs[b]
        }
        targets.permute(by: order)
    }

    /// Commits one batch's verdicts in one transaction: statuses, last-checked times, scopes
    /// and expiry fields, a log entry for every transition, and a staged outbox row per Owner
    /// for every page that turned invalid. Killed at any point, either all of it is there or
    /// none of it, so the next run decides those pages again — never twice.
    public func commit(_ results: [PageCheckResult], requiredScopes: [String], runID: Int64, actor: String, now: Date)
        async throws(StoreError) -> BatchCommit
    {
        try await write { db in
            var commit = BatchCommit()
            // One read per chunk of the batch instead of one per page.
            var current: [Int64: StoredState] = [:]
            let ids = results.map { $0.target.rowID }
            var tokenTimes: [DatabaseValue: Date] = [:]
            // Statements of a few fixed lengths (`SQLPlaceholders.chunks`), prepared once per run.
            for chunk in SQLPlaceholders.chunks(ids.count) {
                let rows = try Row.fetchCursor(
                    db.cachedStatement(
                        sql: """
                            SELECT id, status, scopes, token_updated_at, company_id, last_checked_at IS NULL,
                                   reason_code IS NULL AND reason_detail IS NULL AND error_code IS NULL
                                       AND error_subcode IS NULL AND last_check_error IS NULL AND missing_scopes = ''
                            FROM page WHERE id IN (\(SQLPlaceholders.list(chunk.count)))
                            """), arguments: StatementArguments(ids[chunk]))
                while let row = try rows.next() {
                    current[row[0]] = StoredState(
                        status: PageStatus(rawValue: row[1] ?? "") ?? .unknown, scopesText: row[2] ?? "",
                        tokenUpdatedAt: Self.tokenTime(row[3], parsed: &tokenTimes), companyID: row[4],
                        neverChecked: row[5], clean: row[6] ?? false)
                }
            }
            var owners: [Int64: [String]] = [:]
            var times = BatchTimes(now: now)
            var writes = BatchWrites()
            // Only a page an Owner was told is invalid can get a "Back to Valid" notice: one
            // look for the batch instead of an INSERT … SELECT per page that became valid.
            let turningValid = results.compactMap { result -> Int64? in
                guard case .valid = result.verdict, let state = current[result.target.rowID], state.status != .valid
                else { return nil }
                return result.target.rowID
            }
            for chunk in SQLPlaceholders.chunks(turningValid.count) {
                writes.toldInvalid.formUnion(
                    try Int64.fetchAll(
                        db.cachedStatement(
                            sql: """
                                SELECT DISTINCT page_ref FROM outbox
                                WHERE page_ref IN (\(SQLPlaceholders.list(chunk.count)))
                                  AND kind IN ('invalid', 'reminder') AND state = 'sent'
                                """), arguments: StatementArguments(turningValid[chunk])))
            }
            for result in results {
                guard let state = current[result.target.rowID] else { continue }
                if let expiry = Self.onlyTimesChange(result, state: state, times: &times) {
                    writes.refreshed.add(result.target.rowID, to: expiry)
                    continue
                }
                try Self.commit(
                    result, state: state, runID: runID, actor: actor, now: now, times: &times, db: db,
                    owners: &owners, writes: &writes, into: &commit)
            }
            try writes.execute(db, now: times.now, actor: actor, runID: runID)
            return commit
        }
    }

    /// The batch's times as database values, each converted once: GRDB formats a `Date`
    /// through the calendar on every use, which was the largest cost of a batch's statements.
    struct BatchTimes {
        let now: DatabaseValue
        private var converted: [Date: DatabaseValue] = [:]

        init(now: Date) { self.now = now.databaseValue }

        /// The expiry times `info` stores.
        mutating func expiry(of info: TokenFacts) -> BatchWrites.ExpiryTimes {
            .init(expiresAt: value(info.expiresAt), dataAccessExpiresAt: value(info.dataAccessExpiresAt))
        }

        mutating func value(_ date: Date?) -> DatabaseValue {
            guard let date else { return .null }
            if let value = converted[date] { return value }
            let value = date.databaseValue
            converted[date] = value
            return value
        }
    }

    /// What a batch writes for many pages at once, gathered page by page and written in a few
    /// statements at the end of the batch (per group, one for each of its
    /// `SQLPlaceholders.chunks`, whatever the size of the database): the pages that only get a
    /// check time, the valid verdicts grouped by the facts they store, and the log entries in
    /// multi-row INSERTs, in the order they were made.
    struct BatchWrites {
        /// Valid pages whose verdict changes nothing but times — the check time and the expiry
        /// times Graph moves as the Page's admins use the app —, by those expiry times.
        var refreshed = RowGroups<ExpiryTimes>()
        /// Valid verdicts by the facts they store.
        var valid = RowGroups<ValidFacts>()
        /// Log entries: page, kind, detail; `at`, actor and run are the batch's.
        var events: [(pageRef: Int64, kind: PageEventKind, detail: String?)] = []
        /// Pages with an `invalid` or `reminder` notice sent: the only ones a recovery can concern.
        var toldInvalid: Set<Int64> = []

        /// The expiry times a valid verdict stores.
        struct ExpiryTimes: Hashable {
            var expiresAt: DatabaseValue
            var dataAccessExpiresAt: DatabaseValue
        }

        /// What a valid verdict stores besides the status.
        struct ValidFacts: Hashable {
            var scopes: String
            var expiry: ExpiryTimes
        }

        /// Row IDs grouped by what one statement writes to all of them, groups in first-seen order.
        struct RowGroups<Key: Hashable> {
            private var rowIDs: [Key: [Int64]] = [:]
            private var keys: [Key] = []

            mutating func add(_ rowID: Int64, to key: Key) {
                if rowIDs[key] == nil { keys.append(key) }
                rowIDs[key, default: []].append(rowID)
            }

            /// Each group's key and row IDs, in the order the keys were first seen.
            var groups: [(key: Key, rowIDs: [Int64])] { keys.map { ($0, rowIDs[$0] ?? []) } }
        }

        func execute(_ db: Database, now: DatabaseValue, actor: String, runID: Int64) throws {
            // Status, reason and scopes are left alone: rewriting the status, even unchanged,
            // moves the page's entry in the status index.
            for (times, ids) in refreshed.groups {
                let values = StatementArguments([now, times.expiresAt, times.dataAccessExpiresAt])
                for chunk in SQLPlaceholders.chunks(ids.count) {
                    try db.cachedStatement(
                        sql: """
                            UPDATE page SET last_checked_at = ?, expires_at = ?, data_access_expires_at = ?
                            WHERE id IN (\(SQLPlaceholders.list(chunk.count)))
                            """
                    ).execute(arguments: values + StatementArguments(ids[chunk]))
                }
            }
            for (facts, ids) in valid.groups {
                let values = StatementArguments([
                    now, now, facts.scopes.databaseValue, facts.expiry.expiresAt, facts.expiry.dataAccessExpiresAt,
                ])
                for chunk in SQLPlaceholders.chunks(ids.count) {
                    try db.cachedStatement(
                        sql: """
                            UPDATE page SET status = 'valid', status_since = CASE WHEN status = 'valid' THEN status_since ELSE ? END,
                                reason_code = NULL, reason_detail = NULL, error_code = NULL, error_subcode = NULL,
                                last_checked_at = ?, last_check_error = NULL, scopes = ?, missing_scopes = '',
                                expires_at = ?, data_access_expires_at = ?
                            WHERE id IN (\(SQLPlaceholders.list(chunk.count)))
                            """
                    ).execute(arguments: values + StatementArguments(ids[chunk]))
                }
            }
            // In the order they were made: each run of entries of the same kind and detail (a
            // first run's batch is nearly all "first successful check") binds its time, kind,
            // actor, detail and run once, and one page reference per row.
            var start = events.startIndex
            while start < events.endIndex {
                let (kind, detail) = (events[start].kind, events[start].detail)
                var end = start + 1
                while end < events.endIndex, events[end].kind == kind, events[end].detail == detail { end += 1 }
                let sharedValues: [(any DatabaseValueConvertible)?] = [now, kind.rawValue, actor, detail, runID]
                let shared = StatementArguments(sharedValues)
                let pageRefs = events[start..<end].map(\.pageRef)
                for chunk in SQLPlaceholders.chunks(pageRefs.count) {
                    try db.cachedStatement(
                        sql: """
                            INSERT INTO page_event (page_ref, at, kind, actor, detail, run_id) \
                            SELECT column1, ?1, ?2, ?3, ?4, ?5 FROM (VALUES \(SQLPlaceholders.rows(chunk.count)))
                            """
                    ).execute(arguments: shared + StatementArguments(pageRefs[chunk]))
                }
                start = end
            }
        }
    }

    /// A page's row as the batch found it.
    struct StoredState {
        var status: PageStatus
        /// The scopes as stored: space-separated.
        var scopesText: String
        var tokenUpdatedAt: Date
        var companyID: Int64
        var neverChecked: Bool
        /// No reason, error or missing scopes stored: nothing a valid verdict would clear.
        var clean: Bool
    }

    /// The expiry times to store when committing `result` changes nothing but times (the check
    /// time and the expiry times): a valid verdict for a page stored valid and clean, with the
    /// same scopes. Nil when anything else changes. Such a page gets no log entry (no
    /// transition, no permissions change).
    static func onlyTimesChange(_ result: PageCheckResult, state: StoredState, times: inout BatchTimes)
        -> BatchWrites.ExpiryTimes?
    {
        guard case .valid(let info) = result.verdict, state.status == .valid, state.clean,
            state.tokenUpdatedAt <= result.target.tokenUpdatedAt, joinScopes(info.scopes) == state.scopesText
        else { return nil }
        return times.expiry(of: info)
    }

    private static func commit(
        _ result: PageCheckResult, state: StoredState, runID: Int64, actor: String, now: Date,
        times: inout BatchTimes, db: Database, owners: inout [Int64: [String]], writes: inout BatchWrites,
        into commit: inout BatchCommit
    ) throws {
        let nowValue = times.now
        let target = result.target
        let status = state.status
        if status == .disconnected || state.tokenUpdatedAt > target.tokenUpdatedAt {
            commit.discarded.append(target.pageID)
            return
        }
        // Split only when needed: the same stored text is the same list, so no change to log.
        var oldScopes: [String] { splitScopes(state.scopesText) }
        switch result.verdict {
        case .unknown(let why, let error):
            try db.cachedStatement(
                sql: "UPDATE page SET last_check_error = ?, error_code = ?, error_subcode = ? WHERE id = ?"
            ).execute(arguments: [why, error?.code, error?.subcode, target.rowID])

        case .valid(let info):
            let scopesText = joinScopes(info.scopes)
            // Written with the batch's other valid pages that store the same facts.
            writes.valid.add(target.rowID, to: .init(scopes: scopesText, expiry: times.expiry(of: info)))
            if status != .valid {
                writes.events.append(
                    (target.rowID, .becameValid, status == .invalid ? "token accepted again" : "first successful check")
                )
                commit.becameValid.append(target.pageID)
                if state.neverChecked { commit.firstChecks.append(target.pageID) }
                if writes.toldInvalid.contains(target.rowID) { try stageRecovery(db, pageRef: target.rowID, now: now) }
            }
            if scopesText != state.scopesText {
                logScopeChange(target: target, old: oldScopes, new: info.scopes, writes: &writes, commit: &commit)
            }

        case .invalid(let reason, let info, let error):
            let scopes = info?.scopes ?? oldScopes
            var missing: [String] = []
            if case .missingPermissions(let lacking) = reason { missing = lacking }
            try db.cachedStatement(
                sql: """
                    UPDATE page SET status = 'invalid', status_since = CASE WHEN status = 'invalid' THEN status_since ELSE ? END,
                        reason_code = ?, reason_detail = ?, error_code = ?, error_subcode = ?,
                        last_checked_at = ?, last_check_error = NULL, scopes = ?, missing_scopes = ?,
                        expires_at = COALESCE(?, expires_at), data_access_expires_at = COALESCE(?, data_access_expires_at)
                    WHERE id = ?
                    """
            ).execute(
                arguments: [
                    nowValue, reason.code, reason.detail, error?.code, error?.subcode, nowValue, joinScopes(scopes),
                    joinScopes(missing), times.value(info?.expiresAt), times.value(info?.dataAccessExpiresAt),
                    target.rowID,
                ])
            if info != nil, joinScopes(scopes) != state.scopesText {
                logScopeChange(target: target, old: oldScopes, new: scopes, writes: &writes, commit: &commit)
            }
            if status != .invalid {
                writes.events.append((target.rowID, .becameInvalid, reason.sentence))
                commit.newlyInvalid.append(target.pageID)
                if owners[state.companyID] == nil {
                    owners[state.companyID] = try Self.ownerEmails(db, companyID: state.companyID)
                }
                for email in owners[state.companyID] ?? [] {
                    try stageNotice(
                        db, pageRef: target.rowID, ownerEmail: email, kind: .invalid, reason: reason, since: now,
                        runID: runID, fromValid: status == .valid, now: now)
                    commit.outboxRows += 1
                }
            }
        }
    }

    private static func logScopeChange(
        target: CheckTarget, old: [String], new: [String], writes: inout BatchWrites, commit: inout BatchCommit
    ) {
        // The first scopes ever seen are not a change.
        guard !old.isEmpty, Set(old) != Set(new) else { return }
        let added = new.filter { !old.contains($0) }
        let removed = old.filter { !new.contains($0) }
        var parts: [String] = []
        if !added.isEmpty { parts.append("granted: " + added.joined(separator: ", ")) }
        if !removed.isEmpty { parts.append("removed: " + removed.joined(separator: ", ")) }
        writes.events.append((target.rowID, .permissionsChanged, parts.joined(separator: "; ")))
        commit.permissionsChanged.append(target.pageID)
    }

    /// Records that a run did not reach these pages; their status stays as it was.
    public func markUnchecked(rowIDs: [Int64], note: String) async throws(StoreError) {
        guard !rowIDs.isEmpty else { return }
        try await write { db in
            for chunk in stride(from: 0, to: rowIDs.count, by: 500) {
                let slice = Array(rowIDs[chunk..<min(chunk + 500, rowIDs.count)])
                try db.execute(
                    sql:
                        "UPDATE page SET last_check_error = ? WHERE id IN (\(databaseQuestionMarks(count: slice.count)))",
                    arguments: StatementArguments([note] as [any DatabaseValueConvertible]) + StatementArguments(slice))
            }
        }
    }
}
