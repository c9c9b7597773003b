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

    /// Runs a check. `mailTransport` nil means `--no-email`: digests stay pending.
    /// - Throws: `RunLockError` when another run holds the lock, `StoreError` when the pages
    ///   cannot be loaded — the run never started, so nothing reports it.
    public func run(_ options: CheckOptions, metricsFile: String?) async throws -> CheckRunResult {
        let started = now()
        // Step 1: one run per database. A dry run writes nothing and takes no lock.
        let lock = options.dryRun ? nil : try RunLock.acquire(databasePath: configuration.databasePath)
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
        let checked: CheckOutcome
        switch result {
        case .success(let value):
            checked = value
        case .failure(let error):
            logger.error("check ended: \(error)")
            outcome.status = error.isConfiguration ? .configurationError : .failed
            outcome.reasons = [error.description]
            return await finish(outcome, metricsFile: metricsFile, writeReport: false)
        }
        outcome.absorb(checked)
        // An outage must not pass unseen, not even under -q: one warning that names the cause.
        if outcome.pagesTotal > 0, (outcome.undecided + outcome.unchecked) * 2 > outcome.pagesTotal {
            logger.warning(
                "\(outcome.undecidedCause ?? "Graph did not answer"): \(outcome.undecided + outcome.unchecked) of \(outcome.pagesTotal) pages not confirmed in this run; they keep their previous status"
            )
        }
        // Every request failing on TLS is not an outage: the CA bundle or the URL cannot work.
        if checked.tlsFailures > 0, checked.requests.ok == 0, outcome.valid + outcome.invalid == 0 {
            outcome.status = .configurationError
            outcome.reasons = [
                "every Graph request failed on TLS (\(outcome.undecidedCause ?? "TLS failure")): check TOKENWATCH_CA_FILE and TOKENWATCH_GRAPH_URL"
            ]
            return await finish(outcome, metricsFile: metricsFile, writeReport: !options.dryRun)
        }

        if options.dryRun {
            outcome.endedAt = now()
            outcome.status = outcome.undecided + outcome.unchecked > 0 ? .partial : .completed
            outcome.reasons = Self.pageReasons(outcome)
            return CheckRunResult(outcome: outcome, verdicts: checked.verdicts)
        }

        var failures: [String] = []
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
            return await finish(outcome, metricsFile: metricsFile, writeReport: true)
        }
        // Step 7's guard, over the whole wave: whatever staged rows wait for it, from this run
        // or from one that was killed before it passed them on.
        do {
            outcome.massInvalidation = try await MassInvalidationGuard(
                minimum: configuration.massInvalidMin, percent: configuration.massInvalidPercent
            ).judge(database, actor: options.actor, now: now())
        } catch {
            failures.append(error.description)
        }
        if let wave = outcome.massInvalidation, wave.held {
            logger.critical(
                "MASS INVALIDATION: \(wave.wave) of the \(wave.validBefore) pages valid before this wave became invalid. Digests are HELD, not sent: this is more often an incident at Meta or here than \(wave.wave) admins at once. Look, then `tokenwatch notify --release-held` or `--drop-held`."
            )
        }
        do {
            let notices = try await database.scheduleNotices(
                expiryWarningDays: configuration.expiryWarningDays, remindAfterDays: configuration.remindAfterDays,
                actor: options.actor, now: now())
            if notices.expiring + notices.reminders > 0 {
                logger.info(
                    "notices queued",
                    metadata: ["expiring": "\(notices.expiring)", "reminders": "\(notices.reminders)"])
            }
        } catch {
            failures.append(error.description)
        }
        if let orphans = try? await database.companiesWithoutOwners(), !orphans.isEmpty {
            logger.warning(
                "no Owner to notify for these companies; add one with `tokenwatch owners add`",
                metadata: ["companies": "\(orphans.joined(separator: ", "))"])
        }

        // The digests, within the run's time.
        var mailProblem: String?
        if let mailTransport {
            do {
                let dispatch = try await workspace.digestDispatcher(
                    templates: templates, transport: mailTransport, actor: options.actor, sender: "check:\(runID ?? 0)",
                    logger: logger
                ).dispatch(
                    now: now, deadline: started.addingTimeInterval(configuration.runTimeout),
                    shouldStop: stopRequested)
                outcome.digests.sent = dispatch.sent
                outcome.digests.failed = dispatch.failed
                outcome.digests.dropped = dispatch.droppedRows
                outcome.notified = dispatch.notified
                mailProblem = dispatch.stoppedEarly
            } catch {
                mailProblem = "\(error)"
                logger.error("digests not sent: \(error)")
            }
        } else {
            mailProblem = "email is off for this run (--no-email)"
        }
        if let counts = try? await database.outboxCounts() {
            outcome.digests.pending = counts.pending
            outcome.digests.held = counts.held
        }

        // The outcome, decided once.
        if stopRequested() { outcome.interrupted = true }
        outcome.endedAt = now()
        var reasons = failures + Self.pageReasons(outcome)
        if outcome.heldWave {
            reasons.append(
                "mass invalidation: \(outcome.digests.held) notifications held until `notify --release-held`")
        } else if outcome.digests.held > 0 {
            reasons.append("\(outcome.digests.held) notifications held by the mass-invalidation guard")
        }
        if outcome.digests.failed > 0 { reasons.append("\(outcome.digests.failed) digests failed") }
        if outcome.digests.pending > 0 {
            reasons.append(
                "\(outcome.digests.pending) notifications pending" + (mailProblem.map { " (\($0))" } ?? ""))
        }
        outcome.reasons = reasons
        outcome.status = !failures.isEmpty ? .failed : reasons.isEmpty ? .completed : .partial
        return await finish(outcome, metricsFile: metricsFile, writeReport: true)
    }

    /// Step 2, every watched page (least recently checked first, tokens still sealed: the
    /// engine opens them a batch at a time), the run record, and steps 3–5. Returns the run's
    /// ID, how many pages it took, and what the check found or why it ended.
    private func loadAndCheck(_ options: CheckOptions, started: Date) async throws -> (
        runID: Int64?, total: Int, result: Result<CheckOutcome, CheckError>
    ) {
        let database = workspace.database
        let targets = try await database.checkTargets(pageIDs: options.pageIDs)
        let runID =
            options.dryRun
            ? nil
            : try await database.startRun(
                actor: options.actor, configuredVersion: configuration.graphVersion, pagesTotal: targets.count,
                now: started)
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

    /// Renders everything that reports the run from its outcome: the report, the metrics, the
    /// stored run record and the summary line. Output that cannot be written turns the status
    /// into 73; what was already written from the outcome keeps the status it had then.
    private func finish(_ decided: RunOutcome, metricsFile: String?, writeReport: Bool) async -> CheckRunResult {
        var outcome = decided
        var reportFiles: ReportFiles?
        if writeReport {
            do {
                reportFiles = try await ReportRun(workspace: workspace, templates: templates, now: now).write(
                    outcome: outcome)
            } catch {
                logger.error("report not written: \(error)")
                outcome.reasons.append("report not written: \(error)")
                if outcome.status == .completed || outcome.status == .partial { outcome.status = .cannotWrite }
            }
        }
        if let metricsFile {
            do {
                try await writeMetrics(metricsFile, outcome: outcome)
            } catch {
                logger.error("\(error)")
                outcome.reasons.append("\(error)")
                if outcome.status == .completed || outcome.status == .partial { outcome.status = .cannotWrite }
            }
        }
        if let runID = outcome.runID {
            do {
                try await workspace.database.finishRun(CheckRunRecord(runID: runID, outcome: outcome))
            } catch {
                logger.error("run record not written: \(error)")
            }
        }
        // Debug: the command prints the summary itself (on stdout, and under -q when the run
        // did not complete), so it appears once; -v shows it as a log line too.
        logger.debug("\(outcome.summary)")
        return CheckRunResult(outcome: outcome, reportFiles: reportFiles)
    }

    private func writeMetrics(_ path: String, outcome: RunOutcome) async throws {
        let database = workspace.database
        let counts = (try? await database.statusCounts()) ?? [:]
        let lastSuccess = try? await database.lastSuccessfulRunEnd()
        let expiring =
            (try? await database.expiringCount(now: outcome.endedAt, warningDays: configuration.expiryWarningDays)) ?? 0
        let metrics = RunMetrics(outcome: outcome, pagesByStatus: counts, expiring: expiring)
        _ = try await BlockingWork.run {
            try MetricsWriter(path: path).write(metrics, lastSuccessFallback: lastSuccess)
        }
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
