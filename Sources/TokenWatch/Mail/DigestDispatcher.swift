import Foundation
import Logging

/// What a dispatch did with the outbox.
public struct DispatchOutcome: Sendable, Equatable {
    /// Digests (messages) handed to the transport.
    public var sent = 0
    /// Digests that failed this time (still pending, or given up).
    public var failed = 0
    /// Outbox rows still pending afterwards (failed sends waiting for retry, or --no-email).
    public var pendingRows = 0
    /// Outbox rows held by the mass-invalidation guard.
    public var heldRows = 0
    /// Rows dropped because their page was valid again or disconnected before sending.
    public var droppedRows = 0
    /// Rows that gave up after the last attempt in this dispatch.
    public var gaveUpRows = 0

    public init() {}
}

/// Sends the outbox as digests: one message per Owner address with every page due for
/// them. A digest is marked sent in the same transaction that logs it, so it is never sent
/// twice; a failed send stays pending with its error and retries later with backoff.
public struct DigestDispatcher: Sendable {
    let database: AppDatabase
    let composer: DigestComposer
    let transport: any MailTransport
    let maxAttempts: Int
    let actor: String
    let logger: Logger

    public init(
        database: AppDatabase, composer: DigestComposer, transport: any MailTransport, maxAttempts: Int, actor: String,
        logger: Logger
    ) {
        self.database = database
        self.composer = composer
        self.transport = transport
        self.maxAttempts = maxAttempts
        self.actor = actor
        self.logger = logger
    }

    /// Sends what is due now.
    public func dispatch(now: Date) async throws(StoreError) -> DispatchOutcome {
        var outcome = DispatchOutcome()
        let due = try await database.dueOutbox(now: now)
        // A page that is valid again (or was disconnected) before its digest went out is
        // no longer news: drop it, and say so in its log.
        // An expiry warning is only news while the page is still valid.
        let stale = due.filter { $0.kind == "expiring" ? $0.pageStatus != .valid : $0.pageStatus != .invalid }
        for status in PageStatus.allCases {
            let ids = stale.filter { $0.pageStatus == status }.map(\.id)
            let why =
                switch status {
                case .valid: "the page is valid again"
                case .invalid: "the page became invalid; its alert replaces the expiry warning"
                case .disconnected: "the page was disconnected"
                case .unknown: "the page was renewed and awaits its first check"
                }
            try await database.dropOutbox(ids: ids, reason: why, actor: actor, now: now)
        }
        let recovered = try await database.staleHeldOutboxIDs()
        try await database.dropOutbox(
            ids: recovered, reason: "held by the mass-invalidation guard; the page is no longer invalid", actor: actor,
            now: now)
        outcome.droppedRows = stale.count + recovered.count
        let staleIDs = Set(stale.map(\.id))
        let live = due.filter { !staleIDs.contains($0.id) }

        var byOwner: [String: [OutboxItem]] = [:]
        var order: [String] = []
        for item in live {
            let key = item.ownerEmail.lowercased()
            if byOwner[key] == nil { order.append(key) }
            byOwner[key, default: []].append(item)
        }
        for owner in order {
            guard let items = byOwner[owner], let first = items.first else { continue }
            let digest = Digest(
                recipient: first.ownerEmail,
                entries: items.map { item in
                    DigestEntry(
                        kind: DigestEntry.Kind(rawValue: item.kind) ?? .invalid, company: item.company,
                        pageID: item.pageID,
                        pageName: item.pageName, reason: item.reason, since: item.since, expiresAt: item.expiresAt)
                },
                key: Self.digestKey(items))
            do {
                let message = try composer.compose(digest, now: now)
                let reply = try await transport.send(message)
                try await database.markSent(items, messageID: message.messageID, actor: actor, now: now)
                outcome.sent += 1
                logger.info(
                    "digest sent",
                    metadata: ["to": "\(first.ownerEmail)", "pages": "\(items.count)", "reply": "\(reply)"])
            } catch let error as StoreError {
                throw error
            } catch {
                outcome.failed += 1
                let attempts = (items.map(\.attempts).max() ?? 0) + 1
                let wait = min(pow(2.0, Double(attempts - 1)) * 60, 6 * 3600)
                let gaveUp = try await database.markAttemptFailed(
                    items, error: String(describing: error), nextAttemptAt: now.addingTimeInterval(wait),
                    maxAttempts: maxAttempts, actor: actor, now: now)
                if gaveUp { outcome.gaveUpRows += items.count }
                logger.error(
                    "digest not sent",
                    metadata: [
                        "to": "\(first.ownerEmail)", "pages": "\(items.count)", "attempt": "\(attempts)",
                        "error": "\(error)", "gave_up": "\(gaveUp)",
                    ])
            }
        }
        let counts = try await database.outboxCounts()
        outcome.pendingRows = counts.pending
        outcome.heldRows = counts.held
        return outcome
    }

    /// A digest's identity: the outbox rows it carries. The same rows give the same key, so
    /// a retry reuses the Message-ID (the composer hashes the key into it).
    static func digestKey(_ items: [OutboxItem]) -> String {
        items.map(\.id).sorted().map(String.init).joined(separator: ",")
    }
}
