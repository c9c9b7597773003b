import Foundation
import Logging

/// How a `check` went, for the CLI to print and exit with.
public struct CheckRunResult: Sendable {
    public var status: ExitStatus
    /// The one-line summary (`checked 1200 pages: 1180 valid, 15 invalid (6 new), …`).
    public var summary: String
    public var outcome: CheckOutcome?
    public var reportFiles: ReportFiles?
    public var dispatch: DispatchOutcome?
    /// Problems for stderr (the run went on past them, or they ended it).
    public var problems: [String] = []
}

/// The whole `check` (SPEC.md steps 1–8): lock, load, check, commit, guard, report, mail,
/// metrics, exit code. Everything external comes in through the initialiser.
public struct CheckRun: Sendable {
    let workspace: Workspace
    let graph: any GraphAPI
    let mailTransport: (any MailTransport)?
    let templates: TemplateSet
    let logger: Logger
    let clock: any Clock<Duration>
    let now: @Sendable () -> Date
    let progress: (@Sendable (Int, Int) -> Void)?

    public init(
        workspace: Workspace, graph: any GraphAPI, mailTransport: (any MailTransport)?, templates: TemplateSet,
        logger: Logger, clock: any Clock<Duration> = ContinuousClock(),
        now: @escaping @Sendable () -> Date = { Date() },
        progress: (@Sendable (Int, Int) -> Void)? = nil
    ) {
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
    public func run(_ options: CheckOptions, metricsFile: String?) async -> CheckRunResult {
        let started = now()
        // Step 1: one run per database. A dry run writes nothing and takes no lock.
        var lock: RunLock?
        if !options.dryRun {
            do {
                lock = try RunLock.acquire(databasePath: configuration.databasePath)
            } catch {
                let message = "\(error)"
                logger.warning("\(message)")
                return CheckRunResult(status: .partial, summary: message, problems: [message])
            }
        }
        defer { lock?.release() }

        let database = workspace.database
        let engine = CheckEngine(
            database: database, graph: graph,
            rules: VerdictRules(appID: configuration.appID ?? "", requiredScopes: configuration.requiredScopes),
            runTimeout: configuration.runTimeout, configuredVersion: configuration.graphVersion, clock: clock, now: now,
            logger: logger, progress: progress)

        // Step 2: every watched page, least recently checked first.
        let targets: [CheckTarget]
        let runID: Int64?
        do {
            targets = try await database.checkTargets(pageIDs: options.pageIDs, cipher: workspace.cipher)
            runID =
                options.dryRun
                ? nil
                : try await database.startRun(
                    actor: options.actor, configuredVersion: configuration.graphVersion, pagesTotal: targets.count,
                    now: started)
        } catch {
            let (status, message) = ErrorClassification.classify(error)
            return CheckRunResult(status: status, summary: message, problems: [message])
        }
        logger.info("check started", metadata: ["pages": "\(targets.count)", "dry_run": "\(options.dryRun)"])

        // Steps 3–5.
        var outcome: CheckOutcome
        do {
            outcome = try await engine.check(targets, options: options, runID: runID)
        } catch {
            let (status, message) = ErrorClassification.classify(error)
            logger.error("check ended: \(message)")
            var run = CheckRunRecord(id: runID ?? 0, startedAt: started, actor: options.actor)
            run.endedAt = now()
            run.outcome = status == .configuration ? "configuration error" : "failed"
            run.exitCode = status.rawValue
            run.pagesTotal = targets.count
            run.message = message
            if runID != nil { try? await database.finishRun(run) }
            await writeMetrics(metricsFile, outcome: nil, dispatch: nil, status: status, started: started)
            return CheckRunResult(status: status, summary: message, problems: [message])
        }

        if options.dryRun {
            let summary = summaryLine(outcome, dispatch: nil, heldWave: false)
            return CheckRunResult(
                status: outcome.unchecked + outcome.unknown > 0 ? .partial : .ok, summary: summary, outcome: outcome)
        }

        var problems: [String] = []
        var status = ExitStatus.ok

        // Step 7's guard is decided now, before anything is sent.
        // The wave is the pages valid before the run that are invalid now: a first check of
        // newly imported pages is not an incident.
        let wave = outcome.invalidFromValid
        let heldWave =
            wave >= configuration.massInvalidMin
            && Double(wave) * 100 > configuration.massInvalidPercent * Double(outcome.validBefore)
        do {
            _ = try await database.promoteStaged(hold: heldWave, actor: options.actor, now: now())
        } catch {
            problems.append(error.description)
            status = .failure
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
            problems.append(error.description)
        }
        if let orphans = try? await database.companiesWithoutOwners(), !orphans.isEmpty {
            logger.warning(
                "no Owner to notify for these companies; add one with `tokenwatch owners add`",
                metadata: ["companies": "\(orphans.joined(separator: ", "))"])
        }
        if heldWave {
            let message =
                "MASS INVALIDATION: \(wave) of the \(outcome.validBefore) pages valid before this run became invalid in it. Digests are HELD, not sent: this is more often an incident at Meta or here than \(wave) admins at once. Look, then `tokenwatch notify --release-held` or `--drop-held`."
            logger.critical("\(message)")
            problems.append(message)
        }

        // Step 6: the report. A failure here keeps the run's status updates.
        var reportFiles: ReportFiles?
        do {
            reportFiles = try await ReportRun(workspace: workspace, templates: templates, now: now).write(
                outcome: outcome, runStartedAt: started, status: status, heldWave: heldWave)
        } catch {
            let (errorStatus, message) = ErrorClassification.classify(error)
            problems.append(message)
            logger.error("report not written: \(message)")
            status = errorStatus == .configuration ? .configuration : .cannotWrite
        }

        // Step 7: the digests.
        var dispatch: DispatchOutcome?
        if let mailTransport {
            do {
                let composer = try DigestComposer(
                    templates: templates, from: configuration.mailFrom ?? "", renewURLTemplate: configuration.renewURL)
                dispatch = try await DigestDispatcher(
                    database: database, composer: composer, transport: mailTransport,
                    maxAttempts: configuration.mailMaxAttempts, actor: options.actor, logger: logger
                ).dispatch(now: now())
            } catch {
                let (_, message) = ErrorClassification.classify(error)
                problems.append("digests not sent: \(message)")
                logger.error("digests not sent: \(message)")
                if status == .ok { status = .partial }
            }
        }
        let counts = (try? await database.outboxCounts()) ?? OutboxCounts()
        if dispatch == nil {
            var pending = DispatchOutcome()
            pending.pendingRows = counts.pending
            pending.heldRows = counts.held
            dispatch = pending
        }

        // Step 8.
        if status == .ok,
            outcome.unchecked > 0 || outcome.unknown > 0 || counts.pending > 0 || counts.held > 0 || heldWave
                || (dispatch?.failed ?? 0) > 0
        {
            status = .partial
        }
        var run = CheckRunRecord(id: runID ?? 0, startedAt: started, actor: options.actor)
        run.endedAt = now()
        run.outcome = status == .ok ? "completed" : status == .partial ? "partial" : "failed"
        run.exitCode = status.rawValue
        run.pagesTotal = outcome.total
        run.checked = outcome.valid + outcome.invalid + outcome.unknown
        run.valid = outcome.valid
        run.invalid = outcome.invalid
        run.newlyInvalid = outcome.newlyInvalid.count
        run.unknown = outcome.unknown
        run.unchecked = outcome.unchecked
        run.configuredVersion = configuration.graphVersion
        run.servedVersion = outcome.servedVersion
        run.massInvalidationHeld = heldWave
        run.message = problems.first
        do {
            try await database.finishRun(run)
        } catch {
            problems.append(error.description)
        }
        await writeMetrics(metricsFile, outcome: outcome, dispatch: dispatch, status: status, started: started)
        let summary = summaryLine(outcome, dispatch: dispatch, heldWave: heldWave)
        logger.info("\(summary)")
        return CheckRunResult(
            status: status, summary: summary, outcome: outcome, reportFiles: reportFiles, dispatch: dispatch,
            problems: problems)
    }

    /// `checked 1200 pages: 1180 valid, 15 invalid (6 new), 5 unknown; 0 unchecked; 12.4 s`.
    func summaryLine(_ outcome: CheckOutcome, dispatch: DispatchOutcome?, heldWave: Bool) -> String {
        let seconds = outcome.endedAt.timeIntervalSince(outcome.startedAt)
        var line =
            "checked \(outcome.total) pages: \(outcome.valid) valid, \(outcome.invalid) invalid (\(outcome.newlyInvalid.count) new), \(outcome.unknown) unknown; \(outcome.unchecked) unchecked; \(String(format: "%.1f", seconds)) s"
        if let dispatch {
            line +=
                "; digests: \(dispatch.sent) sent, \(dispatch.failed) failed, \(dispatch.pendingRows) pending, \(dispatch.heldRows) held"
        }
        if heldWave { line += " — MASS INVALIDATION: digests held" }
        return line
    }

    private func writeMetrics(
        _ path: String?, outcome: CheckOutcome?, dispatch: DispatchOutcome?, status: ExitStatus, started: Date
    ) async {
        guard let path else { return }
        let counts = (try? await workspace.database.statusCounts()) ?? [:]
        let lastSuccess = try? await workspace.database.lastSuccessfulRunEnd()
        let ended = now()
        let expiring =
            (try? await workspace.database.expiringCount(now: ended, warningDays: configuration.expiryWarningDays)) ?? 0
        let requests = outcome?.requests ?? GraphRequestCounts()
        let metrics = RunMetrics(
            pagesByStatus: Dictionary(uniqueKeysWithValues: PageStatus.allCases.map { ($0, counts[$0] ?? 0) }),
            newlyInvalid: outcome?.newlyInvalid.count ?? 0, unchecked: outcome?.unchecked ?? 0, expiring: expiring,
            graphRequests: [
                .ok: requests.ok, .error: requests.error, .rateLimited: requests.rateLimited,
                .timeout: requests.timeout,
            ],
            mailDigests: [
                .sent: dispatch?.sent ?? 0, .failed: dispatch?.failed ?? 0, .pending: dispatch?.pendingRows ?? 0,
                .held: dispatch?.heldRows ?? 0,
            ],
            runDuration: ended.timeIntervalSince(started), finishedAt: ended, exitCode: status.rawValue)
        do {
            _ = try await BlockingWork.run {
                try MetricsWriter(path: path).write(metrics, lastSuccessFallback: lastSuccess)
            }
        } catch {
            logger.error("metrics not written to \(path): \(error)")
        }
    }
}
