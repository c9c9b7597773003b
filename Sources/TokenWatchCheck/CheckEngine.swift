import Foundation
import Logging
import TokenWatchGraph
import TokenWatchModel
import TokenWatchStore

/// What a check run is asked to do.
public struct CheckOptions: Sendable {
    /// Only these pages (a one-off run after a renewal); nil for every watched page.
    public var pageIDs: [String]?
    /// Ask Graph and report verdicts, write nothing.
    public var dryRun: Bool
    /// Batch requests in flight at once.
    public var concurrency: Int
    /// Tokens per batch request (≤ 50).
    public var batchSize: Int
    /// Who is running it, for the page log: `cron`, `cli:<user>`.
    public var actor: String
    /// Share Graph's back-off through the store with the other shards of the run: a rate
    /// limit met here is recorded, and one recorded by any shard stops this one's new requests.
    public var sharesThrottle = false
    /// Check only this shard's pages (`check --shard I/N`); nil for the whole fleet.
    public var shard: Shard? {
        didSet { sharesThrottle = shard != nil }
    }

    public init(
        pageIDs: [String]? = nil, dryRun: Bool = false, concurrency: Int = 8, batchSize: Int = 50,
        actor: String = "cron"
    ) {
        self.pageIDs = pageIDs
        self.dryRun = dryRun
        self.concurrency = concurrency
        self.batchSize = batchSize
        self.actor = actor
    }
}

/// What the checking part of a run found.
public struct CheckOutcome: Sendable {
    public var runID: Int64?
    public var startedAt: Date
    public var endedAt: Date
    /// Pages loaded for the run.
    public var total = 0
    /// Pages that were valid before the run (the mass-invalidation guard's base).
    public var validBefore = 0
    public var valid = 0
    public var invalid = 0
    public var unknown = 0
    /// Pages the run did not reach (rate limit, deadline).
    public var unchecked = 0
    public var newlyInvalid: [String] = []
    /// Of those, the pages that were valid before the run: the mass-invalidation guard's wave.
    public var invalidFromValid = 0
    public var becameValid: [String] = []
    /// Pages whose status changed in this run.
    public var changedPageIDs: Set<String> = []
    public var rateLimited = false
    public var deadlineReached = false
    /// A stop was requested (SIGTERM, SIGINT): no batch was started after it.
    public var interrupted = false
    /// Graph could not be reached for `CheckEngine.unreachableAfter`: no batch was started after.
    public var graphUnreachable = false
    /// Why pages were left undecided, with how many pages each.
    public var undecidedCauses: [String: Int] = [:]
    /// Requests that failed on TLS (a CA bundle or a Graph URL that cannot work).
    public var tlsFailures = 0
    public var servedVersion: String?
    public var requests = GraphRequestCounts()
    /// Every verdict, by Page ID: filled for dry runs (which print them) only.
    public var verdicts: [(target: CheckTarget, verdict: Verdict)] = []
}

/// A whole run could not go on. Descriptions carry Graph's code and message, never a secret.
public enum CheckError: Error, Sendable, CustomStringConvertible {
    /// Graph rejected our own credentials or request (190, 101, 104, 100 on the whole request).
    case credentialsRejected(GraphError, httpStatus: Int)
    case store(StoreError)

    public var description: String {
        switch self {
        case .credentialsRejected(let error, let status):
            let setting =
                switch error.code {
                case 101: "TOKENWATCH_APP_ID"
                case 104: "TOKENWATCH_APP_ID and TOKENWATCH_APP_SECRET (no app token was sent)"
                default: "TOKENWATCH_APP_ID and TOKENWATCH_APP_SECRET (or TOKENWATCH_APP_SECRET_FILE)"
                }
            return
                "Graph API rejected our app credentials (HTTP \(status), \(error.codeText)\(error.type.map { ", \($0)" } ?? "")): \"\(error.message)\" — check \(setting)"
        case .store(let error):
            return error.description
        }
    }

    /// Our own setup is wrong (credentials rejected, the key): exit 78, not a failure.
    public var isConfiguration: Bool {
        switch self {
        case .credentialsRejected: true
        case .store(let error): error.isConfiguration
        }
    }
}

/// Checks pages against Graph: batches of up to 50 tokens, a TaskGroup of bounded width,
/// bounded retries with backoff, a stop on rate limits and at the run deadline, and one
/// transaction per batch of verdicts.
public struct CheckEngine: Sendable {
    let database: any PageStore
    let graph: any GraphAPI
    let rules: VerdictRules
    let retry: RetryPolicy
    /// Seconds for the whole run; measured on `now`, so tests can move time.
    let runTimeout: TimeInterval
    let configuredVersion: String
    let clock: any Clock<Duration>
    let now: @Sendable () -> Date
    let logger: Logger
    /// Called after each batch with (pages decided so far, pages in the run).
    let progress: (@Sendable (Int, Int) -> Void)?
    /// True once the run should stop: no new batch starts, those in flight finish and commit.
    let stopRequested: @Sendable () -> Bool
    /// Opens sealed tokens (`CheckTarget.sealedToken`) a batch at a time, as it is sent.
    let cipher: TokenCipher?

    public init(
        database: any PageStore, graph: any GraphAPI, cipher: TokenCipher? = nil, rules: VerdictRules,
        retry: RetryPolicy = RetryPolicy(),
        runTimeout: TimeInterval, configuredVersion: String, clock: any Clock<Duration> = ContinuousClock(),
        now: @escaping @Sendable () -> Date = { Date() }, logger: Logger,
        progress: (@Sendable (Int, Int) -> Void)? = nil, stopRequested: @escaping @Sendable () -> Bool = { false }
    ) {
        self.stopRequested = stopRequested
        self.database = database
        self.graph = graph
        self.cipher = cipher
        self.rules = rules
        self.retry = retry
        self.runTimeout = runTimeout
        self.configuredVersion = configuredVersion
        self.clock = clock
        self.now = now
        self.logger = logger
        self.progress = progress
    }

    /// One batch request's worth of pages, and which attempt this is.
    struct Job: Sendable {
        var targets: [CheckTarget]
        var attempt: Int
    }

    enum JobResult: Sendable {
        /// The batch's answer, with the tokens that were sent (opened for this request only).
        case answered(Job, [Secret], DebugTokenBatch)
        case failed(Job, GraphClientError)
        /// A token could not be opened with the key: the run cannot go on.
        case unreadable(StoreError)
        /// A transaction of decided pages ended: what it changed, or why it failed.
        case committed([PageCheckResult], Result<BatchCommit, StoreError>)
    }

    /// Pages committed in one transaction at most: decided batches that wait while another
    /// transaction runs are committed together. The one writer is what a run at L = 0 waits
    /// for (without its commits a 100,000-page first run checks in half the time): at 1,000
    /// rather than 500 it pays its cost per transaction half as often, and the check took a
    /// fifth less time. A run killed meanwhile loses at most two transactions' verdicts, which
    /// the next run decides again.
    static let commitLimit = 1_000

    /// Seconds without any answer from Graph after which a run that keeps failing to reach it
    /// stops sending: retrying every batch against a Graph that is not there took 285 s at
    /// 100,000 pages (connections refused at once), hours when they time out.
    static let unreachableAfter: TimeInterval = 30
    /// Requests in a row that must have failed to reach Graph, per request the run keeps in
    /// flight, before it gives up: a slow request or two is not an outage.
    static let unreachableFailuresPerSlot = 3

    /// Runs the check over `targets` (already loaded). With `runID` nil (dry run) nothing
    /// is written.
    public func check(_ targets: [CheckTarget], options: CheckOptions, runID: Int64?) async throws(CheckError)
        -> CheckOutcome
    {
        var outcome = CheckOutcome(runID: runID, startedAt: now(), endedAt: now())
        outcome.total = targets.count
        outcome.validBefore = targets.count { $0.status == .valid }
        let batchSize = max(1, min(options.batchSize, 50))
        let width = max(1, options.concurrency)
        let deadline = now().addingTimeInterval(runTimeout)

        // The first attempts are cut from `targets` as they are sent (least recently checked
        // first), so only the batches in flight are copies: 1,000,000 pages are held once.
        var nextFirst = 0
        var retryBuckets: [Int: [CheckTarget]] = [:]
        var unchecked: [CheckTarget] = []
        var decidedCount = 0
        var stopReason: String?
        var warnedUnbelievable = false
        // When Graph last answered (an answer or an error of its own), and the requests that
        // failed to reach it since.
        var lastAnsweredAt = now()
        var unreachedInARow = 0
        func heardFromGraph() {
            lastAnsweredAt = now()
            unreachedInARow = 0
        }
        // The other shards' back-off is read at most once a second, not per batch.
        var nextThrottleRead = Date.distantPast
        var throttledByOtherShard = false
        var regainMinutes: Int?

        func readSharedThrottle() async {
            guard options.sharesThrottle, stopReason == nil, now() >= nextThrottleRead else { return }
            nextThrottleRead = now().addingTimeInterval(1)
            guard let until = try? await database.graphThrottledUntil(), until > now() else { return }
            stopReason = "rate limited: Graph asked another shard to back off until \(until.formatted(.iso8601))"
            throttledByOtherShard = true
            outcome.rateLimited = true
            logger.warning(
                "Graph asked another shard to back off: no new requests this run",
                metadata: ["until": "\(until.formatted(.iso8601))"])
        }

        func nextJob(flushRetries: Bool) -> Job? {
            if nextFirst < targets.count {
                let end = min(nextFirst + batchSize, targets.count)
                defer { nextFirst = end }
                return Job(targets: Array(targets[nextFirst..<end]), attempt: 1)
            }
            for attempt in retryBuckets.keys.sorted() {
                guard var bucket = retryBuckets[attempt], !bucket.isEmpty else { continue }
                // A partial retry batch waits for more failures unless nothing else is left.
                if bucket.count < batchSize && !flushRetries { continue }
                let take = Array(bucket.prefix(batchSize))
                bucket.removeFirst(take.count)
                retryBuckets[attempt] = bucket.isEmpty ? nil : bucket
                return Job(targets: take, attempt: attempt)
            }
            return nil
        }

        do {
            try await withThrowingTaskGroup(of: JobResult.self) { group in
                var inFlight = 0
                // Decided pages wait here while a transaction runs; one runs at a time, in the
                // order pages were decided, as a child of the group, so the loop goes on
                // reading answers and sending requests meanwhile.
                var waiting: [PageCheckResult] = []
                var committing = false
                func commitWaiting() {
                    guard !committing, !waiting.isEmpty, let runID else { return }
                    let results = Array(waiting.prefix(Self.commitLimit))
                    waiting.removeFirst(results.count)
                    committing = true
                    let (database, scopes, actor, now) = (self.database, rules.requiredScopes, options.actor, self.now)
                    group.addTask {
                        do throws(StoreError) {
                            let commit = try await database.commit(
                                results, requiredScopes: scopes, runID: runID, actor: actor, now: now())
                            return .committed(results, .success(commit))
                        } catch {
                            return .committed(results, .failure(error))
                        }
                    }
                }
                func launch() {
                    // Decided pages waiting for their transaction hold back new requests: what
                    // a run holds stays bounded when answers come faster than commits.
                    while inFlight < width, stopReason == nil, waiting.count < Self.commitLimit {
                        if stopRequested() {
                            stopReason = "stopped by a signal"
                            outcome.interrupted = true
                            break
                        }
                        if now() >= deadline {
                            stopReason = "run deadline reached"
                            outcome.deadlineReached = true
                            break
                        }
                        guard let job = nextJob(flushRetries: inFlight == 0) else { break }
                        let wait = retry.delay(beforeAttempt: job.attempt)
                        // A retry whose backoff would end past the deadline is not started: the
                        // run ends within TOKENWATCH_RUN_TIMEOUT plus one request in flight.
                        if now().addingTimeInterval(Double(wait.components.seconds)) >= deadline {
                            unchecked.append(contentsOf: job.targets)
                            stopReason = "run deadline reached"
                            outcome.deadlineReached = true
                            break
                        }
                        inFlight += 1
                        let graph = self.graph
                        let clock = self.clock
                        let cipher = self.cipher
                        group.addTask {
                            if wait > .zero { try? await clock.sleep(for: wait) }
                            // Opened here, a batch at a time, and dropped with the request.
                            var tokens: [Secret] = []
                            tokens.reserveCapacity(job.targets.count)
                            for target in job.targets {
                                do throws(StoreError) {
                                    tokens.append(try target.openedToken(with: cipher))
                                } catch {
                                    return .unreadable(error)
                                }
                            }
                            do {
                                return .answered(job, tokens, try await graph.debugTokens(tokens))
                            } catch let error as GraphClientError {
                                return .failed(job, error)
                            } catch {
                                return .failed(job, .transport(.curl(code: -1, String(describing: error))))
                            }
                        }
                    }
                }
                await readSharedThrottle()
                launch()
                while let result = try await group.next() {
                    // Every child but a transaction was a request in flight.
                    if case .committed = result {} else { inFlight -= 1 }
                    var decided: [PageCheckResult] = []
                    switch result {
                    case .committed(let results, .success(let commit)):
                        committing = false
                        apply(commit, of: results, into: &outcome)
                        decidedCount += results.count
                        progress?(decidedCount, targets.count)
                        commitWaiting()
                        launch()
                        continue
                    case .committed(_, .failure(let error)):
                        group.cancelAll()
                        throw CheckError.store(error)
                    case .unreadable(let error):
                        group.cancelAll()
                        throw CheckError.store(error)
                    case .answered(let job, let tokens, let batch):
                        heardFromGraph()
                        noteVersion(batch.servedVersion, into: &outcome)
                        if batch.usage.demandsStop, stopReason == nil {
                            stopReason = "rate limited (usage at \(batch.usage.highestPercent ?? 0) %)"
                            outcome.rateLimited = true
                            regainMinutes = batch.usage.minutesToRegainAccess
                            logger.warning(
                                "Graph usage at \(batch.usage.highestPercent ?? 0) %: no new requests this run",
                                metadata: [
                                    "minutes_to_regain": "\(batch.usage.minutesToRegainAccess.map(String.init) ?? "?")"
                                ])
                        }
                        if let problem = BatchIntegrity.problem(
                            targets: job.targets, tokens: tokens, outcomes: batch.outcomes)
                        {
                            // Not one item of it is believed: its pages are retried, and stay
                            // undecided (never invalid) if that never gets a trustworthy answer.
                            outcome.requests.error += 1
                            if !warnedUnbelievable {
                                warnedUnbelievable = true
                                logger.warning(
                                    "Graph batch answer not believed: \(problem); its pages are retried",
                                    metadata: ["pages": "\(job.targets.count)", "attempt": "\(job.attempt)"])
                            }
                            retryOrGiveUp(
                                job, why: "batch answer not believed: \(problem)", error: nil, into: &decided,
                                buckets: &retryBuckets)
                        } else {
                            outcome.requests.ok += 1
                            for (target, itemOutcome) in zip(job.targets, batch.outcomes) {
                                switch rules.decide(itemOutcome, pageID: target.pageID, now: now()) {
                                case .decided(let verdict):
                                    decided.append(PageCheckResult(target: target, verdict: verdict))
                                case .retry(let why, let error):
                                    if job.attempt < retry.maxAttempts {
                                        retryBuckets[job.attempt + 1, default: []].append(target)
                                    } else {
                                        decided.append(
                                            PageCheckResult(target: target, verdict: .unknown(why, error: error)))
                                    }
                                case .stop(let error):
                                    unchecked.append(target)
                                    if stopReason == nil {
                                        stopReason = "rate limited by Graph (\(error.codeText))"
                                        outcome.rateLimited = true
                                        logger.warning(
                                            "Graph rate limit hit: no new requests this run",
                                            metadata: ["code": "\(error.codeText)"])
                                    }
                                }
                            }
                        }
                    case .failed(let job, let error):
                        switch error {
                        case .rejected(let graphError, let status, let usage, let version):
                            heardFromGraph()
                            noteVersion(version, into: &outcome)
                            if VerdictRules.isOwnConfigurationError(graphError) {
                                outcome.requests.error += 1
                                group.cancelAll()
                                throw CheckError.credentialsRejected(graphError, httpStatus: status)
                            }
                            if graphError.isRateLimit || VerdictRules.blocksApp(graphError.code) || usage.demandsStop {
                                outcome.requests.rateLimited += 1
                                unchecked.append(contentsOf: job.targets)
                                if stopReason == nil {
                                    stopReason = "rate limited by Graph (\(graphError.codeText))"
                                    outcome.rateLimited = true
                                    regainMinutes = usage.minutesToRegainAccess
                                    logger.warning(
                                        "Graph rate limit hit: no new requests this run",
                                        metadata: ["code": "\(graphError.codeText)"])
                                }
                            } else if VerdictRules.isTransient(graphError) {
                                outcome.requests.error += 1
                                retryOrGiveUp(
                                    job, why: error.description, error: graphError.reference, into: &decided,
                                    buckets: &retryBuckets)
                            } else {
                                outcome.requests.error += 1
                                decided += job.targets.map {
                                    PageCheckResult(
                                        target: $0, verdict: .unknown(error.description, error: graphError.reference))
                                }
                            }
                        case .transport(let httpError):
                            if case .tls = httpError { outcome.tlsFailures += 1 }
                            if case .timedOut = httpError {
                                outcome.requests.timeout += 1
                            } else {
                                outcome.requests.error += 1
                            }
                            retryOrGiveUp(
                                job, why: error.description, error: nil, into: &decided, buckets: &retryBuckets)
                            unreachedInARow += 1
                            let silence = now().timeIntervalSince(lastAnsweredAt)
                            if stopReason == nil, silence >= Self.unreachableAfter,
                                unreachedInARow >= Self.unreachableFailuresPerSlot * width
                            {
                                stopReason = "Graph unreachable for \(Int(silence)) s (\(error.description))"
                                outcome.graphUnreachable = true
                                logger.error(
                                    "Graph unreachable: no new requests this run",
                                    metadata: [
                                        "seconds": "\(Int(silence))", "failed_in_a_row": "\(unreachedInARow)",
                                        "error": "\(error.description)",
                                    ])
                            }
                        case .malformed:
                            outcome.requests.error += 1
                            retryOrGiveUp(
                                job, why: error.description, error: nil, into: &decided, buckets: &retryBuckets)
                        }
                    }
                    // Refill the group before committing, so requests are in flight while
                    // the batch's transaction runs.
                    await readSharedThrottle()
                    launch()
                    if !decided.isEmpty {
                        count(decided, into: &outcome)
                        if runID == nil || options.dryRun {
                            record(decided, into: &outcome)
                            decidedCount += decided.count
                            progress?(decidedCount, targets.count)
                        } else {
                            waiting += decided
                            commitWaiting()
                        }
                    }
                }
            }
        } catch let error as CheckError {
            throw error
        } catch {
            throw CheckError.store(.database(String(describing: error)))
        }

        // This shard's own rate limit holds every shard back: until Graph's estimate of when
        // access returns, or ten minutes when it gave none (the shards of one wave run together).
        if options.sharesThrottle, outcome.rateLimited, !throttledByOtherShard, !options.dryRun {
            let until = now().addingTimeInterval(Double(regainMinutes ?? 10) * 60)
            do {
                try await database.throttleGraph(until: until)
            } catch {
                logger.error("Graph's back-off could not be shared with the other shards: \(error)")
            }
        }

        // What was never sent (stop, deadline) is "not checked": its status stays.
        unchecked.append(contentsOf: targets[nextFirst...])
        for bucket in retryBuckets.values { unchecked.append(contentsOf: bucket) }
        outcome.unchecked = unchecked.count
        if runID != nil, !options.dryRun, !unchecked.isEmpty {
            do {
                try await database.markUnchecked(
                    rowIDs: unchecked.map(\.rowID), note: PageRecord.notCheckedPrefix + (stopReason ?? "stopped"))
            } catch {
                throw CheckError.store(error)
            }
        }
        if options.dryRun {
            outcome.verdicts += unchecked.map {
                ($0, Verdict.unknown("not checked: \(stopReason ?? "stopped")", error: nil))
            }
        }
        outcome.endedAt = now()
        return outcome
    }

    private func retryOrGiveUp(
        _ job: Job, why: String, error: GraphErrorCode?, into decided: inout [PageCheckResult],
        buckets: inout [Int: [CheckTarget]]
    ) {
        if job.attempt < retry.maxAttempts {
            buckets[job.attempt + 1, default: []].append(contentsOf: job.targets)
        } else {
            decided += job.targets.map { PageCheckResult(target: $0, verdict: .unknown(why, error: error)) }
        }
    }

    private func noteVersion(_ served: String?, into outcome: inout CheckOutcome) {
        guard let served, outcome.servedVersion == nil else { return }
        outcome.servedVersion = served
        if served != configuredVersion {
            logger.warning(
                "Graph served API version \(served), not the configured \(configuredVersion): the configured version may have expired (TOKENWATCH_GRAPH_VERSION)"
            )
        }
    }

    /// Counts a batch's verdicts.
    private func count(_ results: [PageCheckResult], into outcome: inout CheckOutcome) {
        for result in results {
            switch result.verdict {
            case .valid: outcome.valid += 1
            case .invalid: outcome.invalid += 1
            case .unknown(let why, _):
                outcome.unknown += 1
                outcome.undecidedCauses[why, default: 0] += 1
            }
        }
    }

    /// A dry run's verdicts, kept for the caller to print instead of committed.
    private func record(_ results: [PageCheckResult], into outcome: inout CheckOutcome) {
        for result in results {
            outcome.verdicts.append((result.target, result.verdict))
            if case .invalid = result.verdict, result.target.status != .invalid {
                outcome.newlyInvalid.append(result.target.pageID)
            }
        }
    }

    /// Takes what a committed transaction of `results` changed into the outcome.
    private func apply(_ commit: BatchCommit, of results: [PageCheckResult], into outcome: inout CheckOutcome) {
        outcome.newlyInvalid += commit.newlyInvalid
        let wasValid = Set(results.filter { $0.target.status == .valid }.map(\.target.pageID))
        outcome.invalidFromValid += commit.newlyInvalid.count { wasValid.contains($0) }
        outcome.becameValid += commit.becameValid
        outcome.changedPageIDs.formUnion(commit.newlyInvalid)
        // A page's first successful check is not a change auditors look for: on the first run
        // after an import it would mark every page, and give each its full report row.
        outcome.changedPageIDs.formUnion(Set(commit.becameValid).subtracting(commit.firstChecks))
        let newlyInvalid = Set(commit.newlyInvalid)
        for result in results where newlyInvalid.contains(result.target.pageID) {
            guard case .invalid(let reason, _, let error) = result.verdict else { continue }
            logger.notice(
                "page became invalid",
                metadata: [
                    "page_id": "\(result.target.pageID)", "page": "\(result.target.pageName)",
                    "company": "\(result.target.company)", "reason": "\(reason.code)",
                    "code": "\(error?.codeText ?? "-")",
                ])
        }
    }
}
