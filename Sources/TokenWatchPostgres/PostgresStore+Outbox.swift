import Foundation
import Logging
import PostgresNIO
import TokenWatchModel
import TokenWatchStore

// Every statement that writes the outbox is in this file, as in `AppDatabase+Outbox.swift`,
// with the same states and transitions. Where SQLite serialises writers, PostgreSQL's
// senders and shards run at once: a claim locks its Owner (a transaction advisory lock on the
// address) and its rows (`FOR UPDATE SKIP LOCKED`), so no two senders ever claim one row, nor
// split one Owner's digest in two.
extension PostgresStore {
    /// The advisory lock class (first key) of an Owner's claim: "TkWO".
    static let claimLockClass: Int32 = 0x546B_574F

    /// Adds one notification. Invalid-page rows are `staged` until their run passes the guard;
    /// other notices are `pending`.
    static func stageNotice(
        _ connection: PostgresConnection, pageRef: Int64, ownerEmail: String, kind: NoticeKind,
        reason: InvalidReason?, since: Date, runID: Int64?, fromValid: Bool, now: Date, logger: Logger
    ) async throws {
        try await connection.run(
            """
            INSERT INTO outbox (page_ref, owner_email, kind, reason_code, reason_detail, since, run_id, created_at,
                                state, from_valid)
            VALUES (\(pageRef), \(ownerEmail), \(kind.rawValue), \(reason?.code), \(reason?.detail), \(since), \(runID),
                    \(now), \(kind == .invalid ? "staged" : "pending"), \(fromValid))
            """, logger)
    }

    /// A page became valid: each Owner who was emailed that it was invalid (not forwarded to
    /// the platform team, not yet told it recovered since) gets a `recovered` notice, pending.
    /// The address kept is the one of the Owner's latest sent row, as SQLite's bare column
    /// beside `MAX(sent_at)` gives.
    static func stageRecovery(_ connection: PostgresConnection, pageRef: Int64, now: Date, logger: Logger)
        async throws
    {
        try await connection.run(
            """
            INSERT INTO outbox (page_ref, owner_email, kind, since, created_at, state)
            SELECT \(pageRef), told.owner_email, 'recovered', \(now), \(now), 'pending'
            FROM (SELECT (array_agg(owner_email ORDER BY sent_at DESC NULLS LAST, id DESC))[1] AS owner_email,
                         MAX(sent_at) AS last_told
                  FROM outbox
                  WHERE page_ref = \(pageRef) AND kind IN ('invalid', 'reminder') AND state = 'sent'
                    AND (message_id IS NULL OR message_id NOT LIKE 'forwarded:%')
                  GROUP BY lower(owner_email)) AS told
            WHERE EXISTS (SELECT 1 FROM owner JOIN page ON page.company_id = owner.company_id
                          WHERE page.id = \(pageRef) AND lower(owner.email) = lower(told.owner_email))
              AND NOT EXISTS (SELECT 1 FROM outbox AS later
                              WHERE later.page_ref = \(pageRef) AND later.kind = 'recovered'
                                AND lower(later.owner_email) = lower(told.owner_email)
                                AND later.created_at >= told.last_told AND later.state != 'dropped')
            """, logger)
    }

    /// The staged rows as the guard sees them, whichever run (or shard) staged them.
    public func stagedWave() async throws(StoreError) -> StagedWave {
        try await read { connection in
            let wave =
                try await connection.value(
                    Int.self, "SELECT COUNT(DISTINCT page_ref) FROM outbox WHERE state = 'staged' AND from_valid",
                    logger) ?? 0
            let pages =
                try await connection.value(
                    Int.self, "SELECT COUNT(DISTINCT page_ref) FROM outbox WHERE state = 'staged'", logger) ?? 0
            let valid =
                try await connection.value(Int.self, "SELECT COUNT(*) FROM page WHERE status = 'valid'", logger) ?? 0
            return StagedWave(wave: wave, validBefore: valid + wave, pages: pages)
        }
    }

    /// Moves every staged row to `pending`, or to `held` when the mass-invalidation guard
    /// tripped; a hold is logged on each page.
    public func promoteStaged(hold: Bool, actor: String, now: Date) async throws(StoreError) -> Int {
        try await write { connection in
            let rows = try await connection.rows(
                """
                UPDATE outbox SET state = \(hold ? "held" : "pending") WHERE state = 'staged' RETURNING page_ref
                """, logger)
            if hold {
                var pages: [Int64] = []
                for row in rows { pages.append(try row.decode(Int64.self)) }
                for page in Set(pages).sorted() {
                    try await Self.appendEvent(
                        connection, pageRef: page, kind: .notificationHeld, actor: actor,
                        detail:
                            "digest held by the mass-invalidation guard; release with `tokenwatch notify --release-held`",
                        at: now, logger: logger)
                }
            }
            return rows.count
        }
    }

    /// Drops the pending and held rows that are no longer news, with a log entry on each page.
    /// Rows another sender has claimed are left alone while its lease lasts, and so are rows
    /// another transaction is changing right now (`SKIP LOCKED`): the next dispatch judges them.
    public func dropStaleNotices(actor: String, now: Date) async throws(StoreError) -> Int {
        try await write { connection in
            let rows = try await connection.rows(
                """
                SELECT outbox.id, outbox.page_ref, outbox.owner_email, outbox.kind, page.status, company.name,
                       EXISTS (SELECT 1 FROM owner WHERE owner.company_id = page.company_id
                               AND lower(owner.email) = lower(outbox.owner_email))
                FROM outbox JOIN page ON page.id = outbox.page_ref JOIN company ON company.id = page.company_id
                WHERE outbox.state IN ('pending', 'held')
                  AND (outbox.claimed_by IS NULL OR outbox.claim_expires_at <= \(now))
                ORDER BY outbox.id
                FOR UPDATE OF outbox SKIP LOCKED
                """, logger)
            var dropped = 0
            for row in rows {
                let (id, pageRef, email, kindName, statusName, company, isOwner) = try row.decode(
                    (Int64, Int64, String, String, String, String, Bool).self)
                let status = PageStatus(rawValue: statusName) ?? .unknown
                let kind = NoticeKind(rawValue: kindName) ?? .invalid
                let why = OutboxItem.staleReason(
                    kind: kind, status: status, ownerStillOwns: isOwner, email: email, company: company)
                guard let why else { continue }
                if try await Self.drop(
                    connection, id: id, pageRef: pageRef, email: email, reason: why, actor: actor, now: now,
                    logger: logger)
                {
                    dropped += 1
                }
            }
            return dropped
        }
    }

    /// Claims the next Owner's due rows for `sender` until `leaseUntil`, in the transaction
    /// that selects them; nil when nothing is left to claim. A claim whose lease has run out
    /// (its sender crashed) is taken over.
    ///
    /// Owners are tried in address order; an Owner another sender is claiming right now (its
    /// advisory lock is held) is passed over, not waited for, and rows locked by another
    /// transaction are skipped (`FOR UPDATE SKIP LOCKED`).
    public func claimNextDigest(
        sender: String, now: Date, leaseUntil: Date, ignoreBackoff: Bool, skipping: Set<String>,
        recoveryAlone: Bool
    ) async throws(StoreError) -> [OutboxItem]? {
        let skipped = skipping.map { $0.lowercased() }.sorted()
        return try await write { connection in
            var after: String? = nil
            while true {
                var candidates = QueryBuilder(
                    "SELECT DISTINCT lower(owner_email) AS owner FROM outbox WHERE state = 'pending'")
                let nowPlaceholder = candidates.bind(now)
                candidates.append(" AND (claimed_by IS NULL OR claim_expires_at <= \(nowPlaceholder))")
                if !ignoreBackoff {
                    candidates.append(" AND (next_attempt_at IS NULL OR next_attempt_at <= \(nowPlaceholder))")
                }
                if !recoveryAlone { candidates.append(" AND kind != 'recovered'") }
                if !skipped.isEmpty {
                    candidates.append(" AND lower(owner_email) <> ALL(\(candidates.bind(skipped))::text[])")
                }
                if let after { candidates.append(" AND lower(owner_email) > \(candidates.bind(after))") }
                candidates.append(" ORDER BY 1 LIMIT 32")
                var owners: [String] = []
                for try await owner in try await connection.query(candidates.query, logger: logger).decode(
                    String.self)
                {
                    owners.append(owner)
                }
                guard !owners.isEmpty else { return nil }
                for owner in owners {
                    let locked = try await connection.value(
                        Bool.self, "SELECT pg_try_advisory_xact_lock(\(Self.claimLockClass), hashtext(\(owner)))",
                        logger)
                    guard locked == true else { continue }
                    let items = try await claimRows(
                        connection, owner: owner, sender: sender, now: now, leaseUntil: leaseUntil,
                        ignoreBackoff: ignoreBackoff)
                    if !items.isEmpty { return items }
                }
                after = owners.last
            }
        }
    }

    /// Claims one Owner's due rows (those no other transaction holds), with the Owner's lock held.
    private func claimRows(
        _ connection: PostgresConnection, owner: String, sender: String, now: Date, leaseUntil: Date,
        ignoreBackoff: Bool
    ) async throws -> [OutboxItem] {
        var query = QueryBuilder(
            """
            SELECT outbox.id, outbox.page_ref, outbox.owner_email, outbox.kind, outbox.reason_code,
                   outbox.reason_detail, outbox.since, outbox.attempts, company.name, page.page_id,
                   page.page_name, page.status, page.expires_at
            FROM outbox JOIN page ON page.id = outbox.page_ref JOIN company ON company.id = page.company_id
            WHERE outbox.state = 'pending'
            """)
        query.append(" AND lower(outbox.owner_email) = \(query.bind(owner))")
        let nowPlaceholder = query.bind(now)
        query.append(" AND (outbox.claimed_by IS NULL OR outbox.claim_expires_at <= \(nowPlaceholder))")
        if !ignoreBackoff {
            query.append(" AND (outbox.next_attempt_at IS NULL OR outbox.next_attempt_at <= \(nowPlaceholder))")
        }
        query.append(" ORDER BY company.name, page.page_name, outbox.id FOR UPDATE OF outbox SKIP LOCKED")
        var items: [OutboxItem] = []
        for row in try await connection.rows(query.query, logger) {
            items.append(try Self.outboxItem(row))
        }
        guard !items.isEmpty else { return [] }
        try await connection.run(
            """
            UPDATE outbox SET claimed_by = \(sender), claim_expires_at = \(leaseUntil)
            WHERE id = ANY(\(items.map(\.id))::bigint[])
            """, logger)
        return items
    }

    private static func outboxItem(_ row: PostgresRow) throws -> OutboxItem {
        let columns = row.makeRandomAccess()
        let reason = try columns[4].decode(String?.self).flatMap {
            InvalidReason(code: $0, detail: try columns[5].decode(String?.self))
        }
        return OutboxItem(
            id: try columns[0].decode(Int64.self), pageRef: try columns[1].decode(Int64.self),
            ownerEmail: try columns[2].decode(String.self),
            kind: NoticeKind(rawValue: try columns[3].decode(String.self)) ?? .invalid, reason: reason,
            since: try columns[6].decode(Date.self), attempts: try columns[7].decode(Int.self),
            company: try columns[8].decode(String.self), pageID: try columns[9].decode(String.self),
            pageName: try columns[10].decode(String.self),
            pageStatus: PageStatus(rawValue: try columns[11].decode(String.self)) ?? .unknown,
            expiresAt: try columns[12].decode(Date?.self))
    }

    /// Marks `sender`'s claimed rows sent in the transaction that logs `owner_notified` on each
    /// page. Returns the rows it marked: a row the sender no longer holds is left alone.
    public func markSent(
        _ items: [OutboxItem], sender: String, messageID: String, actor: String, now: Date, forwardedTo: String?
    ) async throws(StoreError) -> Int {
        let storedID = forwardedTo == nil ? messageID : "forwarded:" + messageID
        return try await write { connection in
            var marked = 0
            for item in items {
                let updated = try await connection.rows(
                    """
                    UPDATE outbox SET state = 'sent', sent_at = \(now), message_id = \(storedID),
                        attempts = attempts + 1, last_attempt_at = \(now), last_error = NULL, claimed_by = NULL,
                        claim_expires_at = NULL
                    WHERE id = \(item.id) AND state = 'pending' AND claimed_by = \(sender)
                    RETURNING id
                    """, logger)
                guard !updated.isEmpty else { continue }
                marked += 1
                try await Self.appendEvent(
                    connection, pageRef: item.pageRef, kind: .ownerNotified, actor: actor,
                    detail: forwardedTo.map { "digest for \(item.ownerEmail) sent to the platform team, \($0)" }
                        ?? "\(item.kind == .invalid ? "digest" : item.kind.rawValue) sent to \(item.ownerEmail)",
                    at: now, logger: logger)
            }
            return marked
        }
    }

    /// Records a failed send of `sender`'s claimed rows and releases them. A permanent failure,
    /// or the last allowed attempt, makes the rows `failed`, logged on each page. Returns true
    /// when the rows gave up.
    public func markAttemptFailed(
        _ items: [OutboxItem], sender: String, error: String, permanent: Bool, nextAttemptAt: Date, maxAttempts: Int,
        actor: String, now: Date
    ) async throws(StoreError) -> Bool {
        try await write { connection in
            var gaveUp = false
            for item in items {
                let givesUp = permanent || item.attempts + 1 >= maxAttempts
                let updated = try await connection.rows(
                    """
                    UPDATE outbox SET attempts = attempts + 1, last_error = \(error), last_attempt_at = \(now),
                        next_attempt_at = \(nextAttemptAt), state = \(givesUp ? "failed" : "pending"),
                        claimed_by = NULL, claim_expires_at = NULL
                    WHERE id = \(item.id) AND state = 'pending' AND claimed_by = \(sender)
                    RETURNING id
                    """, logger)
                guard !updated.isEmpty, givesUp else { continue }
                gaveUp = true
                let why =
                    permanent
                    ? "the mail server refused it for good: \(error)"
                    : "gave up after \(item.attempts + 1) attempts: \(error)"
                try await Self.appendEvent(
                    connection, pageRef: item.pageRef, kind: .notificationFailed, actor: actor,
                    detail: "emailing \(item.ownerEmail) failed; \(why)", at: now, logger: logger)
            }
            return gaveUp
        }
    }

    /// Gives back claimed rows that were not attempted (the sender stopped early).
    public func releaseClaims(_ items: [OutboxItem], sender: String) async throws(StoreError) {
        guard !items.isEmpty else { return }
        try await write { connection in
            try await connection.run(
                """
                UPDATE outbox SET claimed_by = NULL, claim_expires_at = NULL
                WHERE id = ANY(\(items.map(\.id))::bigint[]) AND claimed_by = \(sender)
                """, logger)
        }
    }

    /// Held rows become pending (`notify --release-held`), logged on each page. Returns how many.
    public func releaseHeld(actor: String, now: Date) async throws(StoreError) -> Int {
        try await write { connection in
            let rows = try await connection.rows(
                "UPDATE outbox SET state = 'pending', next_attempt_at = NULL WHERE state = 'held' RETURNING page_ref",
                logger)
            var pages: [Int64] = []
            for row in rows { pages.append(try row.decode(Int64.self)) }
            for page in Set(pages).sorted() {
                try await Self.appendEvent(
                    connection, pageRef: page, kind: .notificationHeld, actor: actor,
                    detail: "held digest released for sending", at: now, logger: logger)
            }
            return rows.count
        }
    }

    /// Drops every held row (`notify --drop-held`), logged on each page. Returns how many.
    public func dropHeld(reason: String, actor: String, now: Date) async throws(StoreError) -> Int {
        try await write { connection in
            let rows = try await connection.rows(
                "SELECT id, page_ref, owner_email FROM outbox WHERE state = 'held' ORDER BY id FOR UPDATE", logger)
            for row in rows {
                let (id, pageRef, email) = try row.decode((Int64, Int64, String).self)
                try await Self.drop(
                    connection, id: id, pageRef: pageRef, email: email, reason: reason, actor: actor, now: now,
                    logger: logger)
            }
            return rows.count
        }
    }

    /// Drops one row and logs it; false when the row was no longer droppable.
    @discardableResult
    private static func drop(
        _ connection: PostgresConnection, id: Int64, pageRef: Int64, email: String, reason: String, actor: String,
        now: Date, logger: Logger
    ) async throws -> Bool {
        let updated = try await connection.rows(
            """
            UPDATE outbox SET state = 'dropped', last_error = \(reason), claimed_by = NULL, claim_expires_at = NULL
            WHERE id = \(id) AND state IN ('pending', 'held', 'staged')
            RETURNING id
            """, logger)
        guard !updated.isEmpty else { return false }
        try await appendEvent(
            connection, pageRef: pageRef, kind: .notificationDropped, actor: actor,
            detail: "notification to \(email) dropped: \(reason)", at: now, logger: logger)
        return true
    }

    /// Outbox rows per state; pending "Back to Valid" notices counted apart.
    public func outboxCounts() async throws(StoreError) -> OutboxCounts {
        try await read { connection in
            var counts = OutboxCounts()
            for try await (state, n) in try await connection.query(
                """
                SELECT CASE WHEN kind = 'recovered' AND state = 'pending' THEN 'recovered' ELSE state END,
                       COUNT(*)
                FROM outbox GROUP BY 1
                """, logger: logger
            ).decode((String, Int).self) {
                counts.record(n, rowsIn: state)
            }
            return counts
        }
    }

    /// Page ID → the Owner addresses whose notification waits, by state (`pending`, `held`).
    public func waitingNotifications() async throws(StoreError) -> [String: [String: [String]]] {
        try await read { connection in
            var waiting: [String: [String: [String]]] = [:]
            for try await (pageID, state, email) in try await connection.query(
                """
                SELECT page.page_id, outbox.state, outbox.owner_email FROM outbox JOIN page ON page.id = outbox.page_ref
                WHERE outbox.state IN ('pending', 'held') AND outbox.kind != 'recovered'
                ORDER BY lower(outbox.owner_email), outbox.id
                """, logger: logger
            ).decode((String, String, String).self) {
                waiting[pageID, default: [:]][state, default: []].append(email)
            }
            return waiting
        }
    }

    /// When the earliest pending row is due for its automatic retry; nil when none waits.
    public func nextAutomaticAttempt() async throws(StoreError) -> Date? {
        try await read { connection in
            try await connection.value(
                Date.self,
                """
                SELECT MIN(COALESCE(next_attempt_at, created_at)) FROM outbox
                WHERE state = 'pending' AND kind != 'recovered'
                """, logger)
        }
    }

    /// The most recent send error recorded in the outbox.
    public func lastOutboxError() async throws(StoreError) -> String? {
        try await read { connection in
            try await connection.value(
                String.self,
                """
                SELECT last_error FROM outbox WHERE last_error IS NOT NULL
                ORDER BY last_attempt_at DESC NULLS LAST, id DESC LIMIT 1
                """, logger)
        }
    }

    /// Queues the opt-in notices for Owners, as `AppDatabase.scheduleNotices` does: an
    /// `expiring` warning once per expiry date, and a `reminder` for pages still invalid
    /// `remindAfterDays` after their last digest. Logged on each page.
    public func scheduleNotices(expiryWarningDays: Int, remindAfterDays: Int?, actor: String, now: Date)
        async throws(StoreError) -> ScheduledNotices
    {
        try await write { connection in
            var expiringCount = 0
            let horizon = now.addingTimeInterval(Double(expiryWarningDays) * 86_400)
            let expiring = try await connection.rows(
                """
                SELECT id, company_id, expires_at FROM page
                WHERE status = 'valid' AND expires_at IS NOT NULL AND expires_at <= \(horizon)
                  AND (expiry_warned_for IS NULL OR expiry_warned_for != expires_at)
                ORDER BY id FOR UPDATE
                """, logger)
            for row in expiring {
                let (pageRef, companyID, expiresAt) = try row.decode((Int64, Int64, Date).self)
                let owners = try await Self.ownerEmails(connection, companyID: companyID, logger: logger)
                for email in owners {
                    try await Self.stageNotice(
                        connection, pageRef: pageRef, ownerEmail: email, kind: .expiring, reason: nil,
                        since: expiresAt, runID: nil, fromValid: true, now: now, logger: logger)
                }
                try await connection.run(
                    "UPDATE page SET expiry_warned_for = expires_at WHERE id = \(pageRef)", logger)
                try await Self.appendEvent(
                    connection, pageRef: pageRef, kind: .expiringWarned, actor: actor,
                    detail: "token expires \(ReportTime.iso(expiresAt)); "
                        + (owners.isEmpty ? "no Owner to warn" : "warning queued for \(owners.count) Owner(s)"),
                    at: now, logger: logger)
                expiringCount += 1
            }
            guard let remindAfterDays, remindAfterDays > 0 else {
                return ScheduledNotices(expiring: expiringCount, reminders: 0)
            }
            let cutoff = now.addingTimeInterval(-Double(remindAfterDays) * 86_400)
            let due = try await connection.rows(
                """
                SELECT page.id, page.company_id, page.reason_code, page.reason_detail, page.status_since FROM page
                WHERE page.status = 'invalid'
                  AND (SELECT MAX(sent_at) FROM outbox WHERE outbox.page_ref = page.id
                       AND outbox.kind IN ('invalid', 'reminder') AND outbox.state = 'sent') <= \(cutoff)
                  AND NOT EXISTS (SELECT 1 FROM outbox WHERE outbox.page_ref = page.id
                       AND outbox.state IN ('staged', 'pending', 'held'))
                ORDER BY page.id FOR UPDATE OF page
                """, logger)
            for row in due {
                let (pageRef, companyID, code, detail, since) = try row.decode(
                    (Int64, Int64, String?, String?, Date?).self)
                let reason = code.flatMap { InvalidReason(code: $0, detail: detail) }
                for email in try await Self.ownerEmails(connection, companyID: companyID, logger: logger) {
                    try await Self.stageNotice(
                        connection, pageRef: pageRef, ownerEmail: email, kind: .reminder, reason: reason,
                        since: since ?? now, runID: nil, fromValid: false, now: now, logger: logger)
                }
            }
            return ScheduledNotices(expiring: expiringCount, reminders: due.count)
        }
    }
}
