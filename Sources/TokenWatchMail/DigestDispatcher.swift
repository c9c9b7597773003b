import Foundation
import Logging
import Synchronization
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
///
/// Up to `connections` digests are in flight at once, each claimed by a worker of its own;
/// the first goes alone, so a server that is down still costs one failed digest.
public struct DigestDispatcher: Sendable {
    let database: any PageStore
    let composer: DigestComposer
    let transport: any MailTransport
    let maxAttempts: Int
    /// Digests in flight at once (TOKENWATCH_SMTP_CONNECTIONS): each worker holds one SMTP
    /// exchange at a time.
    let connections: Int
    let actor: String
    /// Who claims the rows: `check:<run>` or `notify:<pid>`. Every worker of a dispatch claims
    /// as this one sender: a claim's lease, not its holder, keeps the others off its rows.
    let sender: String
    /// How long a claim lasts: a sender that died lets the rows go after this.
    let lease: TimeInterval
    let logger: Logger
    /// What a transport's reply or error passes before it is logged or stored (outbox
    /// `last_error`, the page log): any `MailTransport` may quote a server that echoes secrets.
    let redactor: Redactor

    /// - Parameters:
    ///   - connections: digests sent at once (TOKENWATCH_SMTP_CONNECTIONS); 1 sends them one
    ///     after another. Values below 1 count as 1.
    ///   - redactor: the process's secrets (the SMTP password among them).
    public init(
        database: any PageStore, composer: DigestComposer, transport: any MailTransport, maxAttempts: Int,
        connections: Int = 1, actor: String, sender: String, lease: TimeInterval, logger: Logger,
        redactor: Redactor
    ) {
        self.database = database
        self.composer = composer
        self.transport = transport
        self.maxAttempts = maxAttempts
        self.connections = max(1, connections)
        self.actor = actor
        self.sender = sender
        self.lease = lease
        self.logger = logger
        self.redactor = redactor
    }

    /// Sends what is due.
    ///
    /// The first digest the mail server answers is sent alone (the probe); only then do the
    /// other workers start, so a server that cannot be reached fails one digest and stops the
    /// dispatch. A connection-level failure, the deadline or a stop request keeps every worker
    /// from starting another digest; the digests already in flight finish and are recorded.
    /// - Parameters:
    ///   - now: the clock; read again before each digest.
    ///   - deadline: no digest is started after it (TOKENWATCH_RUN_TIMEOUT).
    ///   - ignoreBackoff: send rows waiting for an automatic retry too (a person ran `notify`).
    ///   - shouldStop: a stop request (SIGTERM): the digests in flight finish, no new one starts.
    public func dispatch(
        now: @escaping @Sendable () -> Date, deadline: Date? = nil, ignoreBackoff: Bool = false,
        shouldStop: @escaping @Sendable () -> Bool = { false }
    ) async throws(StoreError) -> DispatchOutcome {
        let droppedRows = try await database.dropStaleNotices(actor: actor, now: now())
        let run = DispatchRun(now: now, deadline: deadline, ignoreBackoff: ignoreBackoff, shouldStop: shouldStop)
        var digests: [DigestResult] = []
        if try await work(run, probing: true, into: &digests) {
            digests += await withTaskGroup(of: [DigestResult].self, returning: [DigestResult].self) { group in
                for _ in 0..<connections {
                    group.addTask {
                        var results: [DigestResult] = []
                        do throws(StoreError) {
                            _ = try await work(run, probing: false, into: &results)
                        } catch {
                            // The others finish what they have on the wire, so it is recorded.
                            run.fail(error)
                        }
                        return results
                    }
                }
                var all: [DigestResult] = []
                for await results in group { all += results }
                return all
            }
        }
        if let failure = run.failure { throw failure }
        var outcome = DispatchOutcome()
        outcome.droppedRows = droppedRows
        // In claim order: with one connection, exactly what a single loop would have counted.
        for digest in digests.sorted(by: { $0.order < $1.order }) { outcome.add(digest.outcome) }
        outcome.stoppedEarly = run.stoppedEarly
        return outcome
    }

    /// One worker: claims an Owner's rows, sends their digest, records it, and again, until
    /// nothing is left for this dispatch or sending stops. With `probing`, it returns after the
    /// first digest the mail server answered.
    /// - Returns: whether the others may start: the server answered, nothing stops sending,
    ///   and there may be more to send.
    private func work(_ run: DispatchRun, probing: Bool, into results: inout [DigestResult])
        async throws(StoreError) -> Bool
    {
        while !run.isStopped {
            if run.shouldStop() {
                run.stop("stopped by a signal")
                return false
            }
            let start = run.now()
            if let deadline = run.deadline, start >= deadline {
                run.stop("the run's time (TOKENWATCH_RUN_TIMEOUT) ran out")
                return false
            }
            guard
                let items = try await database.claimNextDigest(
                    sender: sender, now: start, leaseUntil: start.addingTimeInterval(lease),
                    ignoreBackoff: run.ignoreBackoff, skipping: run.tried,
                    recoveryAlone: composer.options.recoveryAlone)
            else { return false }
            guard let first = items.first else { continue }
            guard let order = run.claimed(first.ownerEmail) else {
                // Another worker tried this Owner in this dispatch and its rows were let go
                // between this worker reading `tried` and claiming: not twice in one dispatch.
                try await database.releaseClaims(items, sender: sender)
                continue
            }
            if run.isStopped {
                // Another worker stopped the dispatch while this one claimed: not started.
                try await database.releaseClaims(items, sender: sender)
                return false
            }
            var result = DigestResult(order: order)
            let answered = try await deliver(items, to: first.ownerEmail, run, into: &result.outcome)
            results.append(result)
            if probing && answered { return !run.isStopped }
        }
        return false
    }

    /// Sends one claimed Owner's rows: the platform-side notices to the platform team (with
    /// TOKENWATCH_OPS_EMAIL set), the rest as the Owner's digest. A connection-level failure
    /// stops the dispatch.
    /// - Returns: whether the mail server answered (accepted or refused a message).
    private func deliver(
        _ items: [OutboxItem], to owner: String, _ run: DispatchRun, into outcome: inout DispatchOutcome
    ) async throws(StoreError) -> Bool {
        var ownerItems = items
        var answered = false
        if let ops = composer.options.opsEmail {
            let platform = items.filter { $0.kind.needsInvalidPage && ($0.reason?.isPlatformSide ?? false) }
            if !platform.isEmpty {
                ownerItems = items.filter { item in !platform.contains { $0.id == item.id } }
                // One forward at a time: the check of what the team already has, its send and
                // its record are one step, so two workers never forward one page. Rare enough
                // that waiting costs nothing.
                let attempt = try await run.forwarding.withLock { () async throws(StoreError) -> Attempt? in
                    // A connection failure elsewhere while this worker waited: not started.
                    guard !run.isStopped else { return nil }
                    let fresh = platform.filter { !run.platformTeamHas($0.pageID) }
                    let attempt = try await forward(platform, sending: fresh, to: ops, now: run.now, into: &outcome)
                    // Only a message the team got counts: after a refusal, the next Owner's
                    // rows about the page try again rather than pass as already forwarded.
                    if case .sent = attempt { run.platformTeamGot(fresh.map(\.pageID)) }
                    return attempt
                }
                guard let attempt else {
                    try await database.releaseClaims(items, sender: sender)
                    return false
                }
                if case .unreachable(let failure) = attempt {
                    try await database.releaseClaims(ownerItems, sender: sender)
                    run.stop(failure)
                    return false
                }
                answered = attempt.answered
            }
        }
        guard !ownerItems.isEmpty else { return answered }
        let attempt = try await send(ownerItems, to: owner, now: run.now, into: &outcome)
        if case .unreachable(let failure) = attempt { run.stop(failure) }
        return answered || attempt.answered
    }

    /// How one message went.
    enum Attempt: Equatable {
        /// Recorded as sent; `answered` when a message reached the mail server (a forward with
        /// nothing new to send sends none).
        case sent(answered: Bool)
        /// Refused or never handed over, and recorded; `answered` when the server refused it.
        case failed(answered: Bool)
        /// A connection-level failure, recorded: sending stops (the reason).
        case unreachable(String)

        /// The mail server answered: it is up, whatever it said.
        var answered: Bool {
            switch self {
            case .sent(let answered), .failed(let answered): answered
            case .unreachable: false
            }
        }
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
        return .sent(answered: !fresh.isEmpty)
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
        return .sent(answered: true)
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
        switch mailError {
        case .transport: return .unreachable("the mail server could not be reached: \(text)")
        // The server spoke: it refused the message or the login.
        case .rejected, .authentication: return .failed(answered: true)
        // Never reached the server: not composed, a bad envelope, a file not written.
        default: return .failed(answered: false)
        }
    }

    /// A digest's identity: the outbox rows it carries. The same rows give the same key, so
    /// a retry reuses the Message-ID (the composer hashes the key into it).
    static func digestKey(_ items: [OutboxItem]) -> String {
        items.map(\.id).sorted().map(String.init).joined(separator: ",")
    }
}

/// One digest's part of a dispatch's outcome, numbered in claim order.
private struct DigestResult: Sendable {
    let order: Int
    var outcome = DispatchOutcome()
}

extension DispatchOutcome {
    /// Adds one digest's counts and notified addresses (after those already here).
    mutating func add(_ other: DispatchOutcome) {
        sent += other.sent
        failed += other.failed
        gaveUp += other.gaveUp
        droppedRows += other.droppedRows
        for (pageID, addresses) in other.notified { notified[pageID, default: []] += addresses }
    }
}

/// What the workers of one dispatch share: the clock and stop conditions, the Owners tried,
/// the pages the platform team got, and why sending stopped.
private final class DispatchRun: Sendable {
    let now: @Sendable () -> Date
    let deadline: Date?
    let ignoreBackoff: Bool
    let shouldStop: @Sendable () -> Bool
    /// Held while a worker forwards to the platform team (the check, the send, the record).
    let forwarding = AsyncLock()
    private let state = Mutex(State())

    private struct State {
        /// Owner addresses (lowercased) claimed in this dispatch by any worker: each is tried
        /// once per dispatch, even when its rows are let go after a failure.
        var tried: Set<String> = []
        /// Claims so far: the next claim's number.
        var claims = 0
        /// Pages the platform team got in this dispatch: a company's several Owners make one
        /// mail to the team, not one each. Changed only under `forwarding`.
        var toPlatformTeam: Set<String> = []
        /// The first reason sending stopped.
        var stoppedEarly: String?
        /// The first store error of a worker: the dispatch throws it once the others are done.
        var failure: StoreError?
    }

    init(
        now: @escaping @Sendable () -> Date, deadline: Date?, ignoreBackoff: Bool,
        shouldStop: @escaping @Sendable () -> Bool
    ) {
        self.now = now
        self.deadline = deadline
        self.ignoreBackoff = ignoreBackoff
        self.shouldStop = shouldStop
    }

    var tried: Set<String> { state.withLock { $0.tried } }
    var stoppedEarly: String? { state.withLock { $0.stoppedEarly } }
    var failure: StoreError? { state.withLock { $0.failure } }
    /// No worker starts another digest.
    var isStopped: Bool { state.withLock { $0.stoppedEarly != nil || $0.failure != nil } }

    /// Records that a worker claimed `owner`'s rows: the claim's number, or nil when another
    /// worker already tried this Owner in this dispatch.
    func claimed(_ owner: String) -> Int? {
        state.withLock { state in
            guard state.tried.insert(owner.lowercased()).inserted else { return nil }
            defer { state.claims += 1 }
            return state.claims
        }
    }

    /// Stops every worker from starting another digest; the first reason is kept.
    func stop(_ reason: String) {
        state.withLock { state in
            if state.stoppedEarly == nil { state.stoppedEarly = reason }
        }
    }

    /// A worker met a store error: the others start nothing more.
    func fail(_ error: StoreError) {
        state.withLock { state in
            if state.failure == nil { state.failure = error }
        }
    }

    func platformTeamHas(_ pageID: String) -> Bool { state.withLock { $0.toPlatformTeam.contains(pageID) } }

    func platformTeamGot(_ pageIDs: [String]) { state.withLock { $0.toPlatformTeam.formUnion(pageIDs) } }
}
