import Foundation
import GRDB
import TokenWatchModel

/// One notification in the outbox: a page for one Owner address.
public struct OutboxItem: Sendable, Equatable {
    public var id: Int64
    /// The page's row, for its log.
    public var pageRef: Int64
    public var ownerEmail: String
    public var kind: NoticeKind
    public var reason: InvalidReason?
    public var since: Date
    public var attempts: Int
    public var company: String
    public var pageID: String
    public var pageName: String
    /// The page's status now.
    public var pageStatus: PageStatus
    public var expiresAt: Date?

    public init(
        id: Int64, pageRef: Int64, ownerEmail: String, kind: NoticeKind, reason: InvalidReason?, since: Date,
        attempts: Int, company: String, pageID: String, pageName: String, pageStatus: PageStatus, expiresAt: Date?
    ) {
        self.id = id
        self.pageRef = pageRef
        self.ownerEmail = ownerEmail
        self.kind = kind
        self.reason = reason
        self.since = since
        self.attempts = attempts
        self.company = company
        self.pageID = pageID
        self.pageName = pageName
        self.pageStatus = pageStatus
        self.expiresAt = expiresAt
    }
}

extension OutboxItem {
    /// Why a waiting notification must not be sent any more, or nil while it still should: its
    /// Owner left the company, the page was disconnected, or the page's status no longer
    /// matches the notice. The one policy both stores apply in `dropStaleNotices`.
    public static func staleReason(
        kind: NoticeKind, status: PageStatus, ownerStillOwns: Bool, email: String, company: String
    ) -> String? {
        if !ownerStillOwns { return "\(email) is no longer an Owner of \(company)" }
        if status == .disconnected { return "the page was disconnected" }
        if kind == .recovered { return status == .valid ? nil : "the page is no longer valid" }
        if kind.needsInvalidPage {
            switch status {
            case .valid: return "the page is valid again"
            case .unknown: return "the page was renewed and awaits its first check"
            default: return nil
            }
        }
        if status == .invalid { return "the page became invalid; its alert replaces the expiry warning" }
        return status == .valid ? nil : "the page is no longer valid"
    }
}

/// Outbox rows per state.
public struct OutboxCounts: Sendable, Equatable {
    /// `pending` counts the notices that make a digest; `recoveries` the "Back to Valid"
    /// notices waiting to ride along with the next one (they never make a run partial).
    public var staged = 0, pending = 0, held = 0, sent = 0, failed = 0, dropped = 0, recoveries = 0

    public init() {}

    /// Takes the number of rows in one state (`recovered` counts the recovery notices).
    public mutating func record(_ count: Int, rowsIn state: String) {
        switch state {
        case "recovered": recoveries = count
        case "staged": staged = count
        case "pending": pending = count
        case "held": held = count
        case "sent": sent = count
        case "failed": failed = count
        case "dropped": dropped = count
        default: break
        }
    }
}

/// The mass-invalidation guard's input: what the staged rows add up to.
public struct StagedWave: Sendable, Equatable {
    /// Pages with staged rows that were valid before they turned invalid, from any run.
    public var wave = 0
    /// Pages valid before the wave: valid now plus the wave.
    public var validBefore = 0
    /// Pages with staged rows at all.
    public var pages = 0

    public init(wave: Int = 0, validBefore: Int = 0, pages: Int = 0) {
        self.wave = wave
        self.validBefore = validBefore
        self.pages = pages
    }
}

// Every statement that writes the outbox is in this file: rows are staged by the batch commit
// (through `stageNotice`), promoted or held after the guard, claimed by one sender at a time,
// then sent, failed or dropped. `OutboxPolicy` in TokenWatchMail is the only caller.
extension AppDatabase {
    /// Adds one notification. Invalid-page rows are `staged` until the run that decided them
    /// (or the next one, if it was killed) passes the guard; other notices are `pending`.
    static func stageNotice(
        _ db: Database, pageRef: Int64, ownerEmail: String, kind: NoticeKind, reason: InvalidReason?, since: Date,
        runID: Int64?, fromValid: Bool, now: Date
    ) throws {
        try db.cachedStatement(
            sql: """
                INSERT INTO outbox (page_ref, owner_email, kind, reason_code, reason_detail, since, run_id, created_at,
                                    state, from_valid)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """
        ).execute(arguments: [
            pageRef, ownerEmail, kind.rawValue, reason?.code, reason?.detail, since, runID, now,
            kind == .invalid ? "staged" : "pending", fromValid,
        ])
    }

    /// A page became valid: each Owner who was emailed that it was invalid (not a notice
    /// forwarded to the platform team instead, and not yet told it recovered since) gets a `recovered` notice, pending, for the "Back to Valid" section
    /// of their next digest (or a mail of its own with TOKENWATCH_NOTIFY_RECOVERY=1).
    static func stageRecovery(_ db: Database, pageRef: Int64, now: Date) throws {
        try db.cachedStatement(
            sql: """
                INSERT INTO outbox (page_ref, owner_email, kind, since, created_at, state)
                SELECT ?, told.owner_email, 'recovered', ?, ?, 'pending'
                FROM (SELECT owner_email, MAX(sent_at) AS last_told FROM outbox
                      WHERE page_ref = ? AND kind IN ('invalid', 'reminder') AND state = 'sent'
                        AND (message_id IS NULL OR message_id NOT LIKE 'forwarded:%')
                      GROUP BY lower(owner_email)) AS told
                WHERE EXISTS (SELECT 1 FROM owner JOIN page ON page.company_id = owner.company_id
                              WHERE page.id = ? AND owner.email = told.owner_email)
                  AND NOT EXISTS (SELECT 1 FROM outbox AS later
                                  WHERE later.page_ref = ? AND later.kind = 'recovered'
                                    AND lower(later.owner_email) = lower(told.owner_email)
                                    AND later.created_at >= told.last_told AND later.state != 'dropped')
                """
        ).execute(arguments: [pageRef, now, now, pageRef, pageRef, pageRef])
    }

    /// The staged rows as the guard sees them, whichever run staged them.
    public func stagedWave() async throws(StoreError) -> StagedWave {
        try await read { db in
            var wave = StagedWave()
            wave.wave =
                try Int.fetchOne(
                    db, sql: "SELECT COUNT(DISTINCT page_ref) FROM outbox WHERE state = 'staged' AND from_valid = 1")
                ?? 0
            wave.pages =
                try Int.fetchOne(db, sql: "SELECT COUNT(DISTINCT page_ref) FROM outbox WHERE state = 'staged'") ?? 0
            let valid = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM page WHERE status = 'valid'") ?? 0
            wave.validBefore = valid + wave.wave
            return wave
        }
    }

    /// Moves every staged row (this run's, and any a killed run left) to `pending`, or to
    /// `held` when the mass-invalidation guard tripped; a hold is logged on each page.
    public func promoteStaged(hold: Bool, actor: String, now: Date) async throws(StoreError) -> Int {
        try await write { db in
            if hold {
                let pages = try Int64.fetchAll(db, sql: "SELECT DISTINCT page_ref FROM outbox WHERE state = 'staged'")
                for page in pages {
                    try Self.appendEvent(
                        db, pageRef: page, kind: .notificationHeld, actor: actor,
                        detail:
                            "digest held by the mass-invalidation guard; release with `tokenwatch notify --release-held`",
                        at: now)
                }
            }
            try db.execute(
                sql: "UPDATE outbox SET state = ? WHERE state = 'staged'", arguments: [hold ? "held" : "pending"])
            return db.changesCount
        }
    }

    /// Drops the pending and held rows that are no longer news, with a log entry on each page:
    /// the Owner was removed, the page was disconnected, an alert's page is no longer invalid,
    /// an expiry warning's page is no longer valid. Returns how many rows were dropped.
    ///
    /// Rows another sender has claimed are left alone while its lease lasts: their digest may
    /// already be on the wire, and its sender logs what happened to it (sent, or failed and
    /// released, to be judged again by the next dispatch).
    public func dropStaleNotices(actor: String, now: Date) async throws(StoreError) -> Int {
        try await write { db in
            let rows = try Row.fetchAll(
                db,
                sql: """
                    SELECT outbox.id, outbox.page_ref, outbox.owner_email, outbox.kind, outbox.state,
                           page.status, company.name AS company,
                           EXISTS (SELECT 1 FROM owner WHERE owner.company_id = page.company_id
                                   AND owner.email = outbox.owner_email) AS is_owner
                    FROM outbox JOIN page ON page.id = outbox.page_ref JOIN company ON company.id = page.company_id
                    WHERE outbox.state IN ('pending', 'held')
                      AND (outbox.claimed_by IS NULL OR outbox.claim_expires_at <= ?)
                    """, arguments: [now])
            var dropped = 0
            for row in rows {
                let status = PageStatus(rawValue: row["status"]) ?? .unknown
                let kind = NoticeKind(rawValue: row["kind"]) ?? .invalid
                let email: String = row["owner_email"]
                let why = OutboxItem.staleReason(
                    kind: kind, status: status, ownerStillOwns: row["is_owner"], email: email, company: row["company"])
                guard let why else { continue }
                try Self.drop(
                    db, id: row["id"], pageRef: row["page_ref"], email: email, reason: why, actor: actor, now: now)
                dropped += 1
            }
            return dropped
        }
    }

    /// Claims the next Owner's due rows for `sender` until `leaseUntil`, in the transaction
    /// that selects them, so no other sender takes them; nil when nothing is left to send.
    /// A claim whose lease has run out (its sender crashed) is taken over.
    /// - Parameters:
    ///   - ignoreBackoff: send rows waiting for their automatic retry too (`notify` by hand).
    ///   - skipping: Owner addresses this sender already tried in this dispatch (compared
    ///     without case).
    ///   - recoveryAlone: whether `recovered` notices make a digest on their own
    ///     (TOKENWATCH_NOTIFY_RECOVERY); otherwise they wait for the Owner's next digest.
    public func claimNextDigest(
        sender: String, now: Date, leaseUntil: Date, ignoreBackoff: Bool, skipping: Set<String>,
        recoveryAlone: Bool = true
    ) async throws(StoreError) -> [OutboxItem]? {
        try await write { db in
            let (sql, arguments) = Self.nextOwnerQuery(
                now: now, ignoreBackoff: ignoreBackoff, recoveryAlone: recoveryAlone)
            // The pending rows in Owner order, through the index; the Owners this dispatch
            // skips are passed over here. An Owner whose digest went out has no pending row
            // left, so the walk passes over only the rows of Owners tried and still pending
            // (a failed digest's, usually none): the skip list, growing by one Owner per digest,
            // is never handed to SQLite (as a JSON array rebuilt and re-parsed per claim it was
            // quadratic in the Owners told). The dispatcher's addresses are lowercased already; a
            // byte scan checks.
            let skipped =
                skipping.allSatisfy { !$0.utf8.contains { (0x41...0x5A).contains($0) } }
                ? skipping : Set(skipping.map { $0.lowercased() })
            let candidates = try String.fetchCursor(db.cachedStatement(sql: sql), arguments: arguments)
            var found: String?
            var previous: String?
            while let candidate = try candidates.next() {
                if candidate == previous { continue }
                if !skipped.contains(candidate) {
                    found = candidate
                    break
                }
                previous = candidate
            }
            guard let owner = found else { return nil }

            var itemSQL = """
                SELECT outbox.id, outbox.page_ref, outbox.owner_email, outbox.kind, outbox.reason_code,
                       outbox.reason_detail, outbox.since, outbox.attempts, company.name AS company, page.page_id,
                       page.page_name, page.status, page.expires_at
                FROM outbox JOIN page ON page.id = outbox.page_ref JOIN company ON company.id = page.company_id
                WHERE outbox.state = 'pending' AND outbox.owner_email = ? -- NOCASE, through the index
                  AND (outbox.claimed_by IS NULL OR outbox.claim_expires_at <= ?)
                """
            var itemArguments: StatementArguments = [owner, now]
            if !ignoreBackoff {
                itemSQL += " AND (outbox.next_attempt_at IS NULL OR outbox.next_attempt_at <= ?)"
                itemArguments += [now]
            }
            itemSQL += " ORDER BY company.name, page.page_name, outbox.id"
            let items = try Row.fetchAll(db, sql: itemSQL, arguments: itemArguments).map(Self.outboxItem)
            for item in items {
                try db.cachedStatement(sql: "UPDATE outbox SET claimed_by = ?, claim_expires_at = ? WHERE id = ?")
                    .execute(arguments: [sender, leaseUntil, item.id])
            }
            return items
        }
    }

    /// The query for the Owners with pending rows nobody holds, lowercased, one row per
    /// outbox row, in Owner order.
    ///
    /// Ordered by the column's NOCASE collation, which orders as `lower()` does (both fold
    /// ASCII letters only) and is the `outbox_by_state` index's: the first pending Owner is
    /// where the index starts, instead of a sort of every pending row once per digest —
    /// quadratic in the Owners told, 0.5 s of a first run's 500 digests at 100,000 pages.
    static func nextOwnerQuery(now: Date, ignoreBackoff: Bool, recoveryAlone: Bool)
        -> (sql: String, arguments: StatementArguments)
    {
        var sql = """
            SELECT lower(owner_email) FROM outbox
            WHERE state = 'pending' AND (claimed_by IS NULL OR claim_expires_at <= ?)
            """
        var arguments: StatementArguments = [now]
        if !ignoreBackoff {
            sql += " AND (next_attempt_at IS NULL OR next_attempt_at <= ?)"
            arguments += [now]
        }
        if !recoveryAlone { sql += " AND kind != 'recovered'" }
        sql += " ORDER BY owner_email"
        return (sql, arguments)
    }

    private static func outboxItem(_ row: Row) -> OutboxItem {
        OutboxItem(
            id: row["id"], pageRef: row["page_ref"], ownerEmail: row["owner_email"],
            kind: NoticeKind(rawValue: row["kind"]) ?? .invalid,
            reason: (row["reason_code"] as String?).flatMap { InvalidReason(code: $0, detail: row["reason_detail"]) },
            since: row["since"], attempts: row["attempts"], company: row["company"], pageID: row["page_id"],
            pageName: row["page_name"], pageStatus: PageStatus(rawValue: row["status"]) ?? .unknown,
            expiresAt: row["expires_at"])
    }

    /// Marks `sender`'s claimed rows sent in the same transaction that logs `owner_notified` on
    /// each page, so a sent digest is never sent again. Returns the rows it marked.
    /// - Parameter forwardedTo: the address the notices went to instead of the Owner (the
    ///   platform team, TOKENWATCH_OPS_EMAIL), for the page log.
    @discardableResult
    public func markSent(
        _ items: [OutboxItem], sender: String, messageID: String, actor: String, now: Date,
        forwardedTo: String? = nil
    )
        async throws(StoreError) -> Int
    {
        // A forwarded row keeps the team's Message-ID, marked so that a recovery is never
        // announced to an Owner who was not told.
        let storedID = forwardedTo == nil ? messageID : "forwarded:" + messageID
        return try await write { db in
            var marked = 0
            for item in items {
                try db.cachedStatement(
                    sql: """
                        UPDATE outbox SET state = 'sent', sent_at = ?, message_id = ?, attempts = attempts + 1,
                            last_attempt_at = ?, last_error = NULL, claimed_by = NULL, claim_expires_at = NULL
                        WHERE id = ? AND state = 'pending' AND claimed_by = ?
                        """
                ).execute(arguments: [now, storedID, now, item.id, sender])
                guard db.changesCount > 0 else { continue }
                marked += 1
                try Self.appendEvent(
                    db, pageRef: item.pageRef, kind: .ownerNotified, actor: actor,
                    detail: forwardedTo.map { "digest for \(item.ownerEmail) sent to the platform team, \($0)" }
                        ?? "\(item.kind == .invalid ? "digest" : item.kind.rawValue) sent to \(item.ownerEmail)",
                    at: now)
            }
            return marked
        }
    }

    /// Records a failed send of `sender`'s claimed rows and releases them: attempts + 1, the
    /// error, the next automatic try. A permanent failure, or the last allowed attempt, makes
    /// the rows `failed`, logged on each page. Returns true when the rows gave up.
    public func markAttemptFailed(
        _ items: [OutboxItem], sender: String, error: String, permanent: Bool, nextAttemptAt: Date, maxAttempts: Int,
        actor: String, now: Date
    ) async throws(StoreError) -> Bool {
        try await write { db in
            var gaveUp = false
            for item in items {
                let givesUp = permanent || item.attempts + 1 >= maxAttempts
                try db.execute(
                    sql: """
                        UPDATE outbox SET attempts = attempts + 1, last_error = ?, last_attempt_at = ?, next_attempt_at = ?,
                            state = ?, claimed_by = NULL, claim_expires_at = NULL
                        WHERE id = ? AND state = 'pending' AND claimed_by = ?
                        """, arguments: [error, now, nextAttemptAt, givesUp ? "failed" : "pending", item.id, sender])
                guard db.changesCount > 0, givesUp else { continue }
                gaveUp = true
                let why =
                    permanent
                    ? "the mail server refused it for good: \(error)"
                    : "gave up after \(item.attempts + 1) attempts: \(error)"
                try Self.appendEvent(
                    db, pageRef: item.pageRef, kind: .notificationFailed, actor: actor,
                    detail: "emailing \(item.ownerEmail) failed; \(why)", at: now)
            }
            return gaveUp
        }
    }

    /// Gives back claimed rows that were not attempted (the sender stopped early).
    public func releaseClaims(_ items: [OutboxItem], sender: String) async throws(StoreError) {
        guard !items.isEmpty else { return }
        try await write { db in
            for item in items {
                try db.execute(
                    sql: "UPDATE outbox SET claimed_by = NULL, claim_expires_at = NULL WHERE id = ? AND claimed_by = ?",
                    arguments: [item.id, sender])
            }
        }
    }

    /// Held rows become pending (`notify --release-held`), logged on each page. Returns how many.
    public func releaseHeld(actor: String, now: Date) async throws(StoreError) -> Int {
        try await write { db in
            let pages = try Int64.fetchAll(db, sql: "SELECT DISTINCT page_ref FROM outbox WHERE state = 'held'")
            for page in pages {
                try Self.appendEvent(
                    db, pageRef: page, kind: .notificationHeld, actor: actor,
                    detail: "held digest released for sending", at: now)
            }
            try db.execute(sql: "UPDATE outbox SET state = 'pending', next_attempt_at = NULL WHERE state = 'held'")
            return db.changesCount
        }
    }

    /// Drops every held row (`notify --drop-held`), logged on each page. Returns how many.
    public func dropHeld(reason: String, actor: String, now: Date) async throws(StoreError) -> Int {
        try await write { db in
            let rows = try Row.fetchAll(db, sql: "SELECT id, page_ref, owner_email FROM outbox WHERE state = 'held'")
            for row in rows {
                try Self.drop(
                    db, id: row["id"], pageRef: row["page_ref"], email: row["owner_email"], reason: reason,
                    actor: actor,
                    now: now)
            }
            return rows.count
        }
    }

    private static func drop(
        _ db: Database, id: Int64, pageRef: Int64, email: String, reason: String, actor: String, now: Date
    ) throws {
        try db.execute(
            sql: """
                UPDATE outbox SET state = 'dropped', last_error = ?, claimed_by = NULL, claim_expires_at = NULL
                WHERE id = ? AND state IN ('pending', 'held', 'staged')
                """, arguments: [reason, id])
        guard db.changesCount > 0 else { return }
        try appendEvent(
            db, pageRef: pageRef, kind: .notificationDropped, actor: actor,
            detail: "notification to \(email) dropped: \(reason)", at: now)
    }

    public func outboxCounts() async throws(StoreError) -> OutboxCounts {
        try await read { db in
            var counts = OutboxCounts()
            for row in try Row.fetchAll(
                db,
                sql: """
                    SELECT CASE WHEN kind = 'recovered' AND state = 'pending' THEN 'recovered' ELSE state END AS state,
                           COUNT(*) AS n
                    FROM outbox GROUP BY 1
                    """)
            {
                let n: Int = row["n"]
                counts.record(n, rowsIn: row["state"])
            }
            return counts
        }
    }

    /// Page ID → the Owner addresses whose notification waits, by state (`pending`, `held`).
    public func waitingNotifications() async throws(StoreError) -> [String: [String: [String]]] {
        try await read { db in
            var waiting: [String: [String: [String]]] = [:]
            for row in try Row.fetchAll(
                db,
                sql: """
                    SELECT page.page_id, outbox.state, outbox.owner_email FROM outbox JOIN page ON page.id = outbox.page_ref
                    WHERE outbox.state IN ('pending', 'held') AND outbox.kind != 'recovered'
                    ORDER BY outbox.owner_email
                    """)
            {
                waiting[row["page_id"], default: [:]][row["state"], default: []].append(row["owner_email"])
            }
            return waiting
        }
    }

    /// When the earliest pending row is due for its automatic retry; nil when none waits.
    public func nextAutomaticAttempt() async throws(StoreError) -> Date? {
        try await read { db in
            try Date.fetchOne(
                db,
                sql: """
                    SELECT MIN(COALESCE(next_attempt_at, created_at)) FROM outbox
                    WHERE state = 'pending' AND kind != 'recovered'
                    """)
        }
    }

    /// The most recent send error recorded in the outbox, for reports and tests.
    public func lastOutboxError() async throws(StoreError) -> String? {
        try await read { db in
            try String.fetchOne(
                db,
                sql:
                    "SELECT last_error FROM outbox WHERE last_error IS NOT NULL ORDER BY last_attempt_at DESC, id DESC LIMIT 1"
            )
        }
    }
}

/// Notices scheduled beside the invalid-page alerts.
public struct ScheduledNotices: Sendable, Equatable {
    /// Pages whose hard expiry is near, warned once before they break.
    public var expiring = 0
    /// Pages still invalid a period after their last alert.
    public var reminders = 0

    public init(expiring: Int = 0, reminders: Int = 0) {
        self.expiring = expiring
        self.reminders = reminders
    }
}

extension AppDatabase {
    /// Queues the opt-in notices for Owners: an `expiring` warning, once per expiry date, for
    /// valid pages whose non-zero `expires_at` falls within `expiryWarningDays`; and, when
    /// `remindAfterDays` is set, a `reminder` for pages still invalid that long after their
    /// last digest (once per period). Logged on each page.
    public func scheduleNotices(expiryWarningDays: Int, remindAfterDays: Int?, actor: String, now: Date)
        async throws(StoreError) -> ScheduledNotices
    {
        try await write { db in
            var scheduled = ScheduledNotices()
            let horizon = now.addingTimeInterval(Double(expiryWarningDays) * 86_400)
            let expiring = try Row.fetchAll(
                db,
                sql: """
                    SELECT id, company_id, expires_at FROM page
                    WHERE status = 'valid' AND expires_at IS NOT NULL AND expires_at <= ?
                      AND (expiry_warned_for IS NULL OR expiry_warned_for != expires_at)
                    """, arguments: [horizon])
            for row in expiring {
                let pageRef: Int64 = row["id"]
                let expiresAt: Date = row["expires_at"]
                let owners = try Self.ownerEmails(db, companyID: row["company_id"])
                for email in owners {
                    try Self.stageNotice(
                        db, pageRef: pageRef, ownerEmail: email, kind: .expiring, reason: nil, since: expiresAt,
                        runID: nil, fromValid: true, now: now)
                }
                try db.execute(sql: "UPDATE page SET expiry_warned_for = expires_at WHERE id = ?", arguments: [pageRef])
                try Self.appendEvent(
                    db, pageRef: pageRef, kind: .expiringWarned, actor: actor,
                    detail: "token expires \(ReportTime.iso(expiresAt)); "
                        + (owners.isEmpty ? "no Owner to warn" : "warning queued for \(owners.count) Owner(s)"),
                    at: now)
                scheduled.expiring += 1
            }
            guard let remindAfterDays, remindAfterDays > 0 else { return scheduled }
            let cutoff = now.addingTimeInterval(-Double(remindAfterDays) * 86_400)
            let due = try Row.fetchAll(
                db,
                sql: """
                    SELECT page.id, page.company_id, page.reason_code, page.reason_detail, page.status_since FROM page
                    WHERE page.status = 'invalid'
                      AND (SELECT MAX(sent_at) FROM outbox WHERE outbox.page_ref = page.id
                           AND outbox.kind IN ('invalid', 'reminder') AND outbox.state = 'sent') <= ?
                      AND NOT EXISTS (SELECT 1 FROM outbox WHERE outbox.page_ref = page.id
                           AND outbox.state IN ('staged', 'pending', 'held'))
                    """, arguments: [cutoff])
            for row in due {
                let pageRef: Int64 = row["id"]
                let reason = (row["reason_code"] as String?).flatMap {
                    InvalidReason(code: $0, detail: row["reason_detail"])
                }
                for email in try Self.ownerEmails(db, companyID: row["company_id"]) {
                    try Self.stageNotice(
                        db, pageRef: pageRef, ownerEmail: email, kind: .reminder, reason: reason,
                        since: row["status_since"] ?? now, runID: nil, fromValid: false, now: now)
                }
                scheduled.reminders += 1
            }
            return scheduled
        }
    }

    static func ownerEmails(_ db: Database, companyID: Int64) throws -> [String] {
        try String.fetchAll(
            db, sql: "SELECT email FROM owner WHERE company_id = ? ORDER BY email", arguments: [companyID])
    }
}
