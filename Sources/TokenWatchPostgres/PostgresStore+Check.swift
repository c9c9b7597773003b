import Foundation
import Logging
import PostgresNIO
import TokenWatchModel
import TokenWatchStore

extension PostgresStore {
    /// Every watched page (or only `pageIDs`, or only `shard`'s), least recently checked
    /// first, tokens still sealed. The shard is picked in SQL, from the stored hash. Unknown or
    /// disconnected IDs in `pageIDs` are `StoreError.notFound`, naming them.
    public func checkTargets(pageIDs: [String]?, shard: Shard?) async throws(StoreError) -> [CheckTarget] {
        var builder = QueryBuilder(
            """
            SELECT page.id, page.page_id, page.page_name, company.name, page.status, page.scopes,
                   page.token_updated_at, page.token_sealed
            FROM page JOIN company ON company.id = page.company_id
            WHERE page.status != 'disconnected' AND page.token_sealed IS NOT NULL
            """)
        if let pageIDs { builder.append(" AND page.page_id = ANY(\(builder.bind(pageIDs))::text[])") }
        if let shard { Self.shardCondition(shard, into: &builder) }
        builder.append(" ORDER BY page.last_checked_at IS NOT NULL, page.last_checked_at, page.id")
        let query = builder.query
        let targets: [CheckTarget] = try await read { connection in
            var targets: [CheckTarget] = []
            for try await (id, pageID, name, company, status, scopes, updated, sealed) in try await connection.query(
                query, logger: logger
            ).decode((Int64, String, String, String, String, String, Date, Data?).self) {
                targets.append(
                    CheckTarget(
                        rowID: id, pageID: pageID, pageName: name, company: company,
                        status: PageStatus(rawValue: status) ?? .unknown, scopes: Self.splitScopes(scopes),
                        tokenUpdatedAt: updated, sealedToken: sealed))
            }
            return targets
        }
        try CheckTarget.requireAll(pageIDs, in: targets)
        return targets
    }

    /// A page's row as the batch found it.
    struct StoredState {
        var status: PageStatus
        var scopes: [String]
        var tokenUpdatedAt: Date
        var companyID: Int64
        var neverChecked: Bool
    }

    /// Commits one batch's verdicts in one transaction, as `AppDatabase.commit` does: statuses,
    /// last-checked times, scopes and expiry fields, a log entry for every transition, staged
    /// outbox rows per Owner for pages that turned invalid, "Back to Valid" notices. The batch's
    /// rows are locked (`FOR UPDATE`, in ID order) while it decides, so a shard, a disconnect
    /// or an import on another host cannot change them under it.
    public func commit(
        _ results: [PageCheckResult], requiredScopes: [String], runID: Int64, actor: String, now: Date
    ) async throws(StoreError) -> BatchCommit {
        try await write { connection in
            var commit = BatchCommit()
            var current: [Int64: StoredState] = [:]
            let ids = results.map(\.target.rowID)
            for try await (id, status, scopes, updated, companyID, neverChecked) in try await connection.query(
                """
                SELECT id, status, scopes, token_updated_at, company_id, last_checked_at IS NULL FROM page
                WHERE id = ANY(\(ids)::bigint[]) ORDER BY id FOR UPDATE
                """, logger: logger
            ).decode((Int64, String, String, Date, Int64, Bool).self) {
                current[id] = StoredState(
                    status: PageStatus(rawValue: status) ?? .unknown, scopes: Self.splitScopes(scopes),
                    tokenUpdatedAt: updated, companyID: companyID, neverChecked: neverChecked)
            }
            var owners: [Int64: [String]] = [:]
            for result in results {
                guard let state = current[result.target.rowID] else { continue }
                try await self.commit(
                    result, state: state, runID: runID, actor: actor, now: now, connection: connection,
                    owners: &owners, into: &commit)
            }
            return commit
        }
    }

    private func commit(
        _ result: PageCheckResult, state: StoredState, runID: Int64, actor: String, now: Date,
        connection: PostgresConnection, owners: inout [Int64: [String]], into commit: inout BatchCommit
    ) async throws {
        let target = result.target
        let status = state.status
        if status == .disconnected || state.tokenUpdatedAt > target.tokenUpdatedAt {
            commit.discarded.append(target.pageID)
            return
        }
        let oldScopes = state.scopes
        switch result.verdict {
        case .unknown(let why, let error):
            try await connection.run(
                """
                UPDATE page SET last_check_error = \(why), error_code = \(error?.code), error_subcode = \(error?.subcode)
                WHERE id = \(target.rowID)
                """, logger)

        case .valid(let info):
            try await connection.run(
                """
                UPDATE page SET status = 'valid',
                    status_since = CASE WHEN status = 'valid' THEN status_since ELSE \(now) END,
                    reason_code = NULL, reason_detail = NULL, error_code = NULL, error_subcode = NULL,
                    last_checked_at = \(now), last_check_error = NULL, scopes = \(Self.joinScopes(info.scopes)),
                    missing_scopes = '', expires_at = \(info.expiresAt), data_access_expires_at = \(info.dataAccessExpiresAt)
                WHERE id = \(target.rowID)
                """, logger)
            if status != .valid {
                try await Self.appendEvent(
                    connection, pageRef: target.rowID, kind: .becameValid, actor: actor,
                    detail: status == .invalid ? "token accepted again" : "first successful check", at: now,
                    runID: runID, logger: logger)
                commit.becameValid.append(target.pageID)
                if state.neverChecked { commit.firstChecks.append(target.pageID) }
                try await Self.stageRecovery(connection, pageRef: target.rowID, now: now, logger: logger)
            }
            try await logScopeChange(
                connection, target: target, old: oldScopes, new: info.scopes, actor: actor, now: now, runID: runID,
                commit: &commit)

        case .invalid(let reason, let info, let error):
            let scopes = info?.scopes ?? oldScopes
            var missing: [String] = []
            if case .missingPermissions(let lacking) = reason { missing = lacking }
            try await connection.run(
                """
                UPDATE page SET status = 'invalid',
                    status_since = CASE WHEN status = 'invalid' THEN status_since ELSE \(now) END,
                    reason_code = \(reason.code), reason_detail = \(reason.detail), error_code = \(error?.code),
                    error_subcode = \(error?.subcode), last_checked_at = \(now), last_check_error = NULL,
                    scopes = \(Self.joinScopes(scopes)), missing_scopes = \(Self.joinScopes(missing)),
                    expires_at = COALESCE(\(info?.expiresAt)::timestamptz, expires_at),
                    data_access_expires_at = COALESCE(\(info?.dataAccessExpiresAt)::timestamptz, data_access_expires_at)
                WHERE id = \(target.rowID)
                """, logger)
            if info != nil {
                try await logScopeChange(
                    connection, target: target, old: oldScopes, new: scopes, actor: actor, now: now, runID: runID,
                    commit: &commit)
            }
            if status != .invalid {
                try await Self.appendEvent(
                    connection, pageRef: target.rowID, kind: .becameInvalid, actor: actor, detail: reason.sentence,
                    at: now, runID: runID, logger: logger)
                commit.newlyInvalid.append(target.pageID)
                if owners[state.companyID] == nil {
                    owners[state.companyID] = try await Self.ownerEmails(
                        connection, companyID: state.companyID, logger: logger)
                }
                for email in owners[state.companyID] ?? [] {
                    try await Self.stageNotice(
                        connection, pageRef: target.rowID, ownerEmail: email, kind: .invalid, reason: reason,
                        since: now, runID: runID, fromValid: status == .valid, now: now, logger: logger)
                    commit.outboxRows += 1
                }
            }
        }
    }

    private func logScopeChange(
        _ connection: PostgresConnection, target: CheckTarget, old: [String], new: [String], actor: String, now: Date,
        runID: Int64, commit: inout BatchCommit
    ) async throws {
        // The first scopes ever seen are not a change.
        guard !old.isEmpty, Set(old) != Set(new) else { return }
        let added = new.filter { !old.contains($0) }
        let removed = old.filter { !new.contains($0) }
        var parts: [String] = []
        if !added.isEmpty { parts.append("granted: " + added.joined(separator: ", ")) }
        if !removed.isEmpty { parts.append("removed: " + removed.joined(separator: ", ")) }
        try await Self.appendEvent(
            connection, pageRef: target.rowID, kind: .permissionsChanged, actor: actor,
            detail: parts.joined(separator: "; "), at: now, runID: runID, logger: logger)
        commit.permissionsChanged.append(target.pageID)
    }

    /// Records that a run did not reach these pages; their status stays as it was.
    public func markUnchecked(rowIDs: [Int64], note: String) async throws(StoreError) {
        guard !rowIDs.isEmpty else { return }
        try await write { connection in
            try await connection.run(
                "UPDATE page SET last_check_error = \(note) WHERE id = ANY(\(rowIDs)::bigint[])", logger)
        }
    }
}
