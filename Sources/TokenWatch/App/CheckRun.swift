import Foundation
import Logging
import TokenWatchCheck
import TokenWatchGraph
import TokenWatchMail
import TokenWatchModel
import TokenWatchReports
import TokenWatchStore
import TokenWatchSystem
import TokenWatchTemplates

/// How a `check` went: the one outcome, and what was written from it.
public struct CheckRunResult: Sendable {
    /// The run's outcome; its status is the exit code.
    public var outcome: RunOutcome
    /// The report written from the outcome; nil for a dry run or when it could not be written.
    public var reportFiles: ReportFiles?
    /// Every verdict, for `--dry-run` to print.
    public var verdicts: [(target: CheckTarget, verdict: Verdict)] = []
}

/// The whole `check` (SPEC.md steps 1–8): lock, load, check, commit, guard, mail, then the run
/// outcome, decided once, from which the report, the metrics, the run record and the summary
/// are rendered. Everything external comes in through the initialiser.
public struct CheckRun: Sendable {
    let workspace: Workspace
    let graph: any GraphAPI
    let mailTransport: (any MailTransport)?
    let templates: TemplateSet
    let logger: Logger
    let clock: any Clock<Duration>
    let now: @Sendable () -> Date
    let progress: (@Sendable (Int, Int) -> Void)?
    let stopRequested: @Sendable () -> Bool

    /// - Parameter stopRequested: true once SIGTERM or SIGINT asked the run to stop: no new
    ///   batch or message starts; the batch commit and the message in flight finish, and the
    ///   report and metrics are written.
    public init(
        workspace: Workspace, graph: any GraphAPI, mailTransport: (any MailTransport)?, templates: TemplateSet,
        logger: Logger, clock: any Clock<Duration> = ContinuousClock(),
        now: @escaping @Sendable () -> Date = { Date() },
        progress: (@Sendable (Int, Int) -> Void)? = nil, stopRequested: @escaping @Sendable () -> Bool = { false }
    ) {
        self.stopRequested = stopRequested
        self.workspace = workspace
        self.graph = graph
        self.mailTransport = mailTransport
        self.templates = templates
        self.logger = logger
        self.clock = clock
        self.now = now
        self.progress = progress
    }

    var configuration: Configuration { workspace.configuration }

    /// What every run ends with: the guard, the digests, then the report, metrics and record.
    var conclusion: RunConclusion {
        RunConclusion(
            workspace: workspace, mailTransport: mailTransport, templates: templates, logger: logger, now: now,
            stopRequested: stopRequested)
    }

    /// Runs a check. `mailTransport` nil means `--no-email`: digests stay pending.
    /// - Throws: `RunLockError` when another run holds the lock, `StoreError` when the pages
    ///   cannot be loaded — the run never started, so nothing reports it.
    public func run(_ options: CheckOptions, metricsFile: String?) async throws -> CheckRunResult {
        let started = now()
        // Step 1: one run per database. A dry run writes nothing and takes no lock.
        // A shard locks only itself: the shards of one wave run at once.
        let lock = options.dryRun ? nil : try await workspace.database.acquireRunLock(shard: options.shard)
        defer { lock?.release() }

        // Steps 2–5. The targets (every page with its sealed token) live in `loadAndCheck`
        // only, and are released before the report loads the pages again: at 1,000,000 pages
        // the two together would be most of the memory the run may use.
        let database = workspace.database
        let (runID, total, result) = try await loadAndCheck(options, started: started)
        // The targets are gone: their memory goes back before the report loads the pages.
        MemoryRelease.trim()
        var outcome = RunOutcome(
            runID: runID, actor: options.actor, startedAt: started, endedAt: started,
            configuredVersion: configuration.graphVersion)
        outcome.pagesTotal = total
        outcome.shard = options.shard
        let checked: CheckOutcome
        switch result {
        case .success(let value):
            checked = value
        case .failure(let error):
            logger.error("check ended: \(error)")
            outcome.status = error.isConfiguration ? .configurationError : .failed
            outcome.reasons = [error.description]
            return await conclusion.finish(outcome, metricsFile: metricsFile, writeReport: false)
        }
        outcome.absorb(checked)
        // An outage must not pass unseen, not even under -q: one warning that names the cause.
        if let warning = outcome.unconfirmedWarning { logger.warning("\(warning)") }
        // Every request failing on TLS is not an outage: the CA bundle or the URL cannot work.
        if checked.tlsFailures > 0, checked.requests.ok == 0, outcome.valid + outcome.invalid == 0 {
            outcome.status = .configurationError
            outcome.reasons = [
                "every Graph request failed on TLS (\(outcome.undecidedCause ?? "TLS failure")): check TOKENWATCH_CA_FILE and TOKENWATCH_GRAPH_URL"
            ]
            return await conclusion.finish(outcome, metricsFile: metricsFile, writeReport: !options.dryRun)
        }

        if options.dryRun {
            outcome.endedAt = now()
            outcome.status = outcome.undecided + outcome.unchecked > 0 ? .partial : .completed
            outcome.reasons = Self.pageReasons(outcome)
            return CheckRunResult(outcome: outcome, verdicts: checked.verdicts)
        }

        if outcome.interrupted {
            // A stopped run leaves its staged notifications to the next run, whose guard judges
            // the whole wave; and it starts no message (SPEC step 9).
            outcome.endedAt = now()
            if let counts = try? await database.outboxCounts() {
                outcome.digests.pending = counts.pending
                outcome.digests.held = counts.held
            }
            outcome.reasons = Self.pageReasons(outcome)
            outcome.status = .partial
            return await conclusion.finish(outcome, metricsFile: metricsFile, writeReport: options.shard == nil)
        }
        if options.shard != nil {
            // The wave is the fleet's, not a shard's: `finish` judges it, sends the digests and
            // writes the one report, once every shard has run.
            outcome.endedAt = now()
            outcome.reasons = Self.pageReasons(outcome)
            outcome.status = outcome.reasons.isEmpty ? .completed : .partial
            logger.info("shard checked: `tokenwatch finish` sends the digests and writes the report of the fleet")
            return await conclusion.finish(outcome, metricsFile: metricsFile, writeReport: false)
        }
        return await conclusion.conclude(
            outcome, actor: options.actor, sender: "check:\(runID ?? 0)",
            mailDeadline: started.addingTimeInterval(configuration.runTimeout), metricsFile: metricsFile)
    }

    /// Step 2, every watched page (least recently checked first, tokens still sealed: the
    /// engine opens them a batch at a time), the run record, and steps 3–5. Returns the run's
    /// ID, how many pages it took, and what the check found or why it ended.
    private func loadAndCheck(_ options: CheckOptions, started: Date) async throws -> (
        runID: Int64?, total: Int, result: Result<CheckOutcome, CheckError>
    ) {
        let database = workspace.database
        let targets = try await database.checkTargets(pageIDs: options.pageIDs, shard: options.shard)
        let runID =
            options.dryRun
            ? nil
            : try await database.startRun(
                actor: options.actor, configuredVersion: configuration.graphVersion, pagesTotal: targets.count,
                shard: options.shard, now: started)
        logger.info("check started", metadata: ["pages": "\(targets.count)", "dry_run": "\(options.dryRun)"])
        if targets.isEmpty && options.pageIDs == nil {
            // Not a failure, but a monitor watching nothing must not look like a healthy one.
            logger.warning(
                "no pages are watched: import them with `tokenwatch pages import FILE` or connect one with `tokenwatch pages connect`"
            )
        }
        let engine = CheckEngine(
            database: database, graph: graph, cipher: workspace.cipher,
            rules: VerdictRules(appID: configuration.appID ?? "", requiredScopes: configuration.requiredScopes),
            runTimeout: configuration.runTimeout, configuredVersion: configuration.graphVersion, clock: clock, now: now,
            logger: logger, progress: progress, stopRequested: stopRequested)
        do {
            return (runID, targets.count, .success(try await engine.check(targets, options: options, runID: runID)))
        } catch {
            return (runID, targets.count, .failure(error))
        }
    }

    /// Why pages lack a fresh verdict, in plain words.
    static func pageReasons(_ outcome: RunOutcome) -> [String] {
        var reasons: [String] = []
        if outcome.interrupted { reasons.append("stopped by a signal (SIGTERM or SIGINT)") }
        if outcome.undecided > 0 {
            reasons.append(
                "\(outcome.undecided) pages not confirmed in this run"
                    + (outcome.undecidedCause.map { " (\($0))" } ?? ""))
        }
        if outcome.unchecked > 0 {
            reasons.append("\(outcome.unchecked) pages not checked (\(outcome.uncheckedCause))")
        }
        return reasons
    }

}

extension RunOutcome {
    /// Takes the checking part's figures.
    mutating func absorb(_ checked: CheckOutcome) {
        valid = checked.valid
        invalid = checked.invalid
        undecided = checked.unknown
        unchecked = checked.unchecked
        newlyInvalid = checked.newlyInvalid
        becameValid = checked.becameValid
        changedPageIDs = checked.changedPageIDs
        graphRequests = checked.requests
        rateLimited = checked.rateLimited
        deadlineReached = checked.deadlineReached
        interrupted = checked.interrupted
        graphUnreachable = checked.graphUnreachable
        servedVersion = checked.servedVersion
        undecidedCause = checked.undecidedCauses.max { ($0.value, $1.key) < ($1.value, $0.key) }?.key
    }
}

extension CheckRunRecord {
    /// The stored record of a run, from its outcome.
    init(runID: Int64, outcome: RunOutcome) {
        self.init(id: runID, startedAt: outcome.startedAt, actor: outcome.actor)
        endedAt = outcome.endedAt
        self.outcome = outcome.status.phrase
        exitCode = outcome.exitCode
        pagesTotal = outcome.pagesTotal
        checked = outcome.checked
        valid = outcome.valid
        invalid = outcome.invalid
        newlyInvalid = outcome.newlyInvalid.count
        unknown = outcome.undecided
        unchecked = outcome.unchecked
        configuredVersion = outcome.configuredVersion
        servedVersion = outcome.servedVersion
        massInvalidationHeld = outcome.heldWave
        message = outcome.reasons.first
    }
}
