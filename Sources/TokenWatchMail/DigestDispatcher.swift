import Foundation
import Logging
import TokenWatchModel
import TokenWatchStore

/// What a dispatch did with the outbox.
public struct DispatchOutcome: Sendable, Equatable {
    /// Digests (messages) handed to the transport.
    public var sent = 0
    /// Digests that failed this time (still pending, or given up).
    public var failed = 0
    /// Digests refused for good or given up after their last attempt in this dispatch.
    public var gaveUp = 0
    /// Outbox rows dropped as no longer news (page valid again, disconnected, Owner removed).
    public var droppedRows = 0
    /// Page ID → the Owner addresses a digest about it went to in this dispatch.
    public var notified: [String: [String]] = [:]
    /// Why sending stopped before the outbox was empty (a connection failure, the deadline,
    /// a stop request); nil when every due digest was attempted.
    public var stoppedEarly: String?

    public init() {}
}

/// Sends the outbox as digests: one message per Owner address with every page due for them.
///
/// This is the outbox's sending policy, in one place: a sender claims one Owner's rows at a
/// time (a lease, so two senders — two `notify`, or `check` and `notify` — never send the same
/// digest), marks them sent in the transaction that logs them (never sent twice), fails a
/// permanent refusal at once, spaces automatic retries by a backoff, and stops at the first
/// connection-level failure (one timeout per run, not one per Owner) or at the deadline.
public struct DigestDispatcher: Sendable {
    let database: any PageStore
    let composer: DigestComposer
    let transport: any MailTransport
    let maxAttempts: Int
    let actor: String
    /// Who claims the rows: `check:<run>` or `notify:<pid>`.
    let sender: String
    /// How long a claim lasts: a sender that died lets the rows go after this.
    let lease: TimeInterval
    let logger: Logger
    /// What a transport's reply or error passes before it is logged or stored (outbox
    /// `last_error`, the page log): any `MailTransport` may quote a server that echoes secrets.
    let redactor: Redactor

    /// - Parameter redactor: the process's secrets (the SMTP password among them).
    public init(
        database: any PageStore, composer: DigestComposer, transport: any MailTransport, maxAttempts: Int,
        actor: String,
        sender: String, lease: TimeInterval, logger: Logger, redactor: Redactor
    ) {
        self.database = database
        self.composer = composer
        self.transport = transport
        self.maxAttempts = maxAttempts
        self.actor = actor
        self.sender = sender
        self.lease = lease
        self.logger = logger
        self.redactor = redactor
    }

    /// Sends what is due.
    /// - Parameters:
    ///   - now: the clock; read again before each digest.
    ///   - deadline: no digest is started after it (TOKENWATCH_RUN_TIMEOUT).
    ///   - ignoreBackoff: send rows waiting for an automatic retry too (a person ran `notify`).
    ///   - shouldStop: a stop request (SIGTERM): the digest in flight finishes, no new one starts.
    public func dispatch(
        now: @Sendable () -> Date, deadline: Date? = nil, ignoreBackoff: Bool = false,
        shouldStop: @Sendable () -> Bool = { false }
    ) async throws(StoreError) -> DispatchOutcome {
        var outcome = DispatchOutcome()
        outcome.droppedRows = try await database.dropStaleNotices(actor: actor, now: now())
        var tried: Set<String> = []
        // Pages already reported to the platform team in this dispatch: a company's several
        // Owners make one mail to the team, not one each.
        var toPlatformTeam: Set<String> = []
        while true {
            if shouldStop() {
                outcome.stoppedEarly = "stopped by a signal"
                break
            }
            let start = now()
            if let deadline, start >= deadline {
                outcome.stoppedEarly = "the run's time (TOKENWATCH_RUN_TIMEOUT) ran out"
                break
            }
            guard
                let items = try await database.claimNextDigest(
                    sender: sender, now: start, leaseUntil: start.addingTimeInterval(lease),
                    ignoreBackoff: ignoreBackoff,
                    skipping: tried, recoveryAlone: composer.options.recoveryAlone)
            else { break }
            guard let first = items.first else { continue }
            tried.insert(first.ownerEmail.lowercased())
            var ownerItems = items
            if let ops = composer.options.opsEmail {
                let platform = items.filter { $0.kind.needsInvalidPage && ($0.reason?.isPlatformSide ?? false) }
                if !platform.isEmpty {
                    ownerItems = items.filter { item in !platform.contains { $0.id == item.id } }
                    let fresh = platform.filter { !toPlatformTeam.contains($0.pageID) }
                    let attempt = try await forward(platform, sending: fresh, to: ops, now: now, into: &outcome)
                    if case .unreachable(let failure) = attempt {
                        try await database.releaseClaims(ownerItems, sender: sender)
                        outcome.stoppedEarly = failure
                        break
                    }
                    // Only a message the team got counts: after a refusal, the next Owner's
                    // rows about the page try again rather than pass as already forwarded.
                    if case .sent = attempt { toPlatformTeam.formUnion(fresh.map(\.pageID)) }
                }
            }
            guard !ownerItems.isEmpty else { continue }
            let attempt = try await send(ownerItems, to: first.ownerEmail, now: now, into: &outcome)
            if case .unreachable(let failure) = attempt {
                outcome.stoppedEarly = failure
                break
            }
        }
        return outcome
    }

    /// How one message went.
    enum Attempt: Equatable {
        /// Handed to the transport (or, for a forward, nothing new to send) and recorded.
        case sent
        /// Refused or not composed, and recorded.
        case failed
        /// A connection-level failure, recorded: sending stops (the reason).
        case unreachable(String)
    }

    /// Sends the platform team (TOKENWATCH_OPS_EMAIL) the `fresh` pages among an Owner's
    /// platform-side notices, then marks all of `items` sent as forwarded: their cause is not
    /// the Owner's to fix. A failed send records all of `items` as an attempt that failed.
    private func forward(
        _ items: [OutboxItem], sending fresh: [OutboxItem], to ops: String, now: @Sendable () -> Date,
        into outcome: inout DispatchOutcome
    ) async throws(StoreError) -> Attempt {
        var messageID = "forwarded"
        if !fresh.isEmpty {
            let digest = Digest(
                recipient: ops, entries: fresh.map(Self.entry), key: "ops:" + Self.digestKey(fresh),
                forPlatformTeam: true)
            do {
                let message = try composer.compose(digest, now: now())
                let reply = redactor.redact(try await transport.send(message))
                messageID = message.messageID
                outcome.sent += 1
                logger.info("digest sent", metadata: ["to": "\(ops)", "pages": "\(fresh.count)", "reply": "\(reply)"])
            } catch {
                return try await recordFailure(items, owner: ops, error: error, now: now(), into: &outcome)
            }
        }
        try await database.markSent(
            items, sender: sender, messageID: messageID, actor: actor, now: now(), forwardedTo: ops)
        for item in items { outcome.notified[item.pageID, default: []].append(ops) }
        return .sent
    }

    static func entry(_ item: OutboxItem) -> DigestEntry {
        DigestEntry(
            kind: item.kind, company: item.company, pageID: item.pageID, pageName: item.pageName,
            reason: item.reason, since: item.since, expiresAt: item.expiresAt)
    }

    /// Sends one Owner's digest.
    private func send(
        _ items: [OutboxItem], to owner: String, now: @Sendable () -> Date, into outcome: inout DispatchOutcome
    ) async throws(StoreError) -> Attempt {
        let digest = Digest(
            recipient: owner,
            entries: items.map { item in
                DigestEntry(
                    kind: item.kind, company: item.company, pageID: item.pageID, pageName: item.pageName,
                    reason: item.reason, since: item.since, expiresAt: item.expiresAt)
            },
            key: Self.digestKey(items))
        let message: MailMessage
        let reply: String
        do {
            message = try composer.compose(digest, now: now())
            reply = redactor.redact(try await transport.send(message))
        } catch {
            return try await recordFailure(items, owner: owner, error: error, now: now(), into: &outcome)
        }
        try await database.markSent(items, sender: sender, messageID: message.messageID, actor: actor, now: now())
        outcome.sent += 1
        for item in items { outcome.notified[item.pageID, default: []].append(item.ownerEmail) }
        logger.info("digest sent", metadata: ["to": "\(owner)", "pages": "\(items.count)", "reply": "\(reply)"])
        return .sent
    }

    private func recordFailure(
        _ items: [OutboxItem], owner: String, error: any Error, now: Date, into outcome: inout DispatchOutcome
    ) async throws(StoreError) -> Attempt {
        let mailError = error as? MailError
        // A 5xx refusal or a message that cannot be composed will not get better by waiting.
        let permanent = mailError.map { !$0.isTransient } ?? true
        outcome.failed += 1
        let attempts = (items.map(\.attempts).max() ?? 0) + 1
        let wait = min(pow(2.0, Double(attempts - 1)) * 60, 6 * 3600)
        let text = redactor.redact(String(describing: error))
        let gaveUp = try await database.markAttemptFailed(
            items, sender: sender, error: text, permanent: permanent, nextAttemptAt: now.addingTimeInterval(wait),
            maxAttempts: maxAttempts, actor: actor, now: now)
        if gaveUp { outcome.gaveUp += 1 }
        logger.error(
            "digest not sent",
            metadata: [
                "to": "\(owner)", "pages": "\(items.count)", "attempt": "\(attempts)", "error": "\(text)",
                "gave_up": "\(gaveUp)",
            ])
        if case .transport = mailError { return .unreachable("the mail server could not be reached: \(text)") }
        return .failed
    }

    /// A digest's identity: the outbox rows it carries. The same rows give the same key, so
    /// a retry reuses the Message-ID (the composer hashes the key into it).
    static func digestKey(_ items: [OutboxItem]) -> String {
        items.map(\.id).sorted().map(String.init).joined(separator: ",")
    }
}
