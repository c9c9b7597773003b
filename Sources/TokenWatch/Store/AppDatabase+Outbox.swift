import Foundation
import GRDB

/// One notification waiting in the outbox: a page for one Owner address.
public struct OutboxItem: Sendable, Equatable {
    public var id: Int64
    /// The page's row, for its log.
    public var pageRef: Int64
    public var ownerEmail: String
    /// `invalid`, `reminder` or `expiring`.
    public var kind: String
    public var reason: InvalidReason?
    public var since: Date
    public var attempts: Int
    public var company: String
    public var pageID: String
    public var pageName: String
    /// The page's status now: a row whose page is no longer invalid is dropped, not sent.
    public var pageStatus: PageStatus
    public var expiresAt: Date?
}

/// Outbox rows per state.
public struct OutboxCounts: Sendable, Equatable {
    public var staged = 0, pending = 0, held = 0, sent = 0, failed = 0, dropped = 0
}

extension AppDatabase {
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

    /// Rows staged and not yet promoted (left by a run that was killed before it finished).
    public func stagedPageCount() async throws(StoreError) -> Int {
        try await read { db in
            try Int.fetchOne(db, sql: "SELECT COUNT(DISTINCT page_ref) FROM outbox WHERE state = 'staged'") ?? 0
        }
    }

    /// Pending rows whose retry time has come, with their pages.
    public func dueOutbox(now: Date) async throws(StoreError) -> [OutboxItem] {
        try await read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT outbox.id, outbox.page_ref, outbox.owner_email, outbox.kind, outbox.reason_code, outbox.reason_detail,
                           outbox.since, outbox.attempts, company.name AS company, page.page_id, page.page_name,
                           page.status, page.expires_at
                    FROM outbox JOIN page ON page.id = outbox.page_ref JOIN company ON company.id = page.company_id
                    WHERE outbox.state = 'pending' AND (outbox.next_attempt_at IS NULL OR outbox.next_attempt_at <= ?)
                    ORDER BY outbox.owner_email, company.name, page.page_name, outbox.id
                    """, arguments: [now]
            ).map { row in
                OutboxItem(
                    id: row["id"], pageRef: row["page_ref"], ownerEmail: row["owner_email"], kind: row["kind"],
                    reason: (row["reason_code"] as String?).flatMap {
                        InvalidReason(code: $0, detail: row["reason_detail"])
                    },
                    since: row["since"], attempts: row["attempts"], company: row["company"], pageID: row["page_id"],
                    pageName: row["page_name"], pageStatus: PageStatus(rawValue: row["status"]) ?? .unknown,
                    expiresAt: row["expires_at"])
            }
        }
    }

    /// Marks rows sent in the same transaction that logs `owner_notified` on each page, so a
    /// sent digest is never sent again.
    public func markSent(_ items: [OutboxItem], messageID: String, actor: String, now: Date) async throws(StoreError) {
        try await write { db in
            for item in items {
                try db.execute(
                    sql: """
                        UPDATE outbox SET state = 'sent', sent_at = ?, message_id = ?, attempts = attempts + 1,
                            last_attempt_at = ?, last_error = NULL WHERE id = ? AND state = 'pending'
                        """, arguments: [now, messageID, now, item.id])
                try Self.appendEvent(
                    db, pageRef: item.pageRef, kind: .ownerNotified, actor: actor,
                    detail: "\(item.kind == "invalid" ? "digest" : item.kind) sent to \(item.ownerEmail)", at: now)
            }
        }
    }

    /// Records a failed send: attempts + 1, the error, the next try; after `maxAttempts`
    /// the rows are `failed` and the failure is logged on each page. Returns true when
    /// the rows gave up.
    public func markAttemptFailed(
        _ items: [OutboxItem], error: String, nextAttemptAt: Date, maxAttempts: Int, actor: String, now: Date
    ) async throws(StoreError) -> Bool {
        try await write { db in
            var gaveUp = false
            for item in items {
                let finalAttempt = item.attempts + 1 >= maxAttempts
                try db.execute(
                    sql: """
                        UPDATE outbox SET attempts = attempts + 1, last_error = ?, last_attempt_at = ?, next_attempt_at = ?,
                            state = ? WHERE id = ? AND state = 'pending'
                        """, arguments: [error, now, nextAttemptAt, finalAttempt ? "failed" : "pending", item.id])
                if finalAttempt {
                    gaveUp = true
                    try Self.appendEvent(
                        db, pageRef: item.pageRef, kind: .notificationFailed, actor: actor,
                        detail: "gave up emailing \(item.ownerEmail) after \(item.attempts + 1) attempts: \(error)",
                        at: now)
                }
            }
            return gaveUp
        }
    }

    /// Drops rows with a reason logged on each page (page valid again, disconnected, or
    /// an operator's `notify --drop-held`).
    public func dropOutbox(ids: [Int64], reason: String, actor: String, now: Date) async throws(StoreError) {
        guard !ids.isEmpty else { return }
        try await write { db in
            for id in ids {
                try db.execute(
                    sql:
                        "UPDATE outbox SET state = 'dropped', last_error = ? WHERE id = ? AND state IN ('pending', 'held', 'staged')",
                    arguments: [reason, id])
                if db.changesCount > 0,
                    let row = try Row.fetchOne(
                        db, sql: "SELECT page_ref, owner_email FROM outbox WHERE id = ?", arguments: [id])
                {
                    try Self.appendEvent(
                        db, pageRef: row["page_ref"], kind: .notificationDropped, actor: actor,
                        detail: "notification to \(row["owner_email"] as String) dropped: \(reason)", at: now)
                }
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

    /// IDs of held rows (for `notify --drop-held`).
    public func heldOutboxIDs() async throws(StoreError) -> [Int64] {
        try await read { db in try Int64.fetchAll(db, sql: "SELECT id FROM outbox WHERE state = 'held' ORDER BY id") }
    }

    public func outboxCounts() async throws(StoreError) -> OutboxCounts {
        try await read { db in
            var counts = OutboxCounts()
            for row in try Row.fetchAll(db, sql: "SELECT state, COUNT(*) AS n FROM outbox GROUP BY state") {
                let n: Int = row["n"]
                switch row["state"] as String {
                case "staged": counts.staged = n
                case "pending": counts.pending = n
                case "held": counts.held = n
                case "sent": counts.sent = n
                case "failed": counts.failed = n
                case "dropped": counts.dropped = n
                default: break
                }
            }
            return counts
        }
    }
}

extension AppDatabase {
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
                    try db.execute(
                        sql: """
                            INSERT INTO outbox (page_ref, owner_email, kind, since, created_at, state)
                            VALUES (?, ?, 'expiring', ?, ?, 'pending')
                            """, arguments: [pageRef, email, expiresAt, now])
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
                for email in try Self.ownerEmails(db, companyID: row["company_id"]) {
                    try db.execute(
                        sql: """
                            INSERT INTO outbox (page_ref, owner_email, kind, reason_code, reason_detail, since, created_at, state)
                            VALUES (?, ?, 'reminder', ?, ?, ?, ?, 'pending')
                            """,
                        arguments: [
                            pageRef, email, row["reason_code"], row["reason_detail"], row["status_since"] ?? now, now,
                        ])
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

extension AppDatabase {
    /// Held rows whose page is no longer invalid (valid again, disconnected, renewed): a wave
    /// that was an incident clears itself as the pages recover.
    public func staleHeldOutboxIDs() async throws(StoreError) -> [Int64] {
        try await read { db in
            try Int64.fetchAll(
                db,
                sql: """
                    SELECT outbox.id FROM outbox JOIN page ON page.id = outbox.page_ref
                    WHERE outbox.state = 'held' AND page.status != 'invalid' ORDER BY outbox.id
                    """)
        }
    }
}
