import Foundation
import Logging
import TokenWatchCheck
import TokenWatchMail
import TokenWatchModel
import TokenWatchReports
import TokenWatchStore
import TokenWatchSystem
import TokenWatchTemplates

/// How a run that changed pages ends (SPEC steps 7–10): the mass-invalidation guard over the
/// whole staged wave, the scheduled notices, the digests, and then the one outcome, from
/// which the report, the metrics, the run record and the summary are rendered. A `check` of
/// the whole fleet ends with it, and so does `finish` after the shards of a wave.
struct RunConclusion: Sendable {
    let workspace: Workspace
    let mailTransport: (any MailTransport)?
    let templates: TemplateSet
    let logger: Logger
    let now: @Sendable () -> Date
    let stopRequested: @Sendable () -> Bool

    var configuration: Configuration { workspace.configuration }

    /// Judges the wave, queues notices, sends the digests as `sender`, decides the outcome.
    /// - Parameters:
    ///   - mailDeadline: no digest starts after it (the run's TOKENWATCH_RUN_TIMEOUT).
    ///   - incomplete: what keeps the run from being complete besides its pages (a shard that
    ///     has not finished): partial (75) at least.
    func conclude(
        _ checked: RunOutcome, actor: String, sender: String, mailDeadline: Date, metricsFile: String?,
        incomplete: [String] = []
    ) async -> CheckRunResult {
        var outcome = checked
        var failures: [String] = []
        let database = workspace.database
        // The report's pages, CSV and spreadsheet pages start now, beside the guard and the
        // digests: their rows are final once the check has committed them, and the pages are
        // read in one read transaction of their own while the digests write the outbox.
        async let started = ReportRun(workspace: workspace, templates: templates, now: now).start()
        // Step 7's guard, over the whole wave: whatever staged rows wait for it, from this run
        // or from one that was killed before it passed them on.
        do {
            outcome.massInvalidation = try await MassInvalidationGuard(
                minimum: configuration.massInvalidMin, percent: configuration.massInvalidPercent
            ).judge(database, actor: actor, now: now())
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
                actor: actor, now: now())
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
                    templates: templates, transport: mailTransport, actor: actor, sender: sender,
                    logger: logger
                ).dispatch(
                    now: now, deadline: mailDeadline,
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
        var reasons = failures + incomplete + CheckRun.pageReasons(outcome)
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
        let report = await started
        return await finish(outcome, metricsFile: metricsFile, writeReport: true, report: report)
    }

    /// Renders everything that reports the run from its outcome: the report, the metrics, the
    /// stored run record and the summary line. Output that cannot be written turns the status
    /// into 73; what was already written from the outcome keeps the status it had then.
    /// - Parameter report: the report `ReportRun.start()` began for this run, if any (only a
    ///   run that writes its report starts one).
    func finish(_ decided: RunOutcome, metricsFile: String?, writeReport: Bool, report: StartedReport? = nil)
        async -> CheckRunResult
    {
        var outcome = decided
        var reportFiles: ReportFiles?
        // What the metrics count is read now, beside the report: the report changes no page.
        let endedAt = outcome.endedAt
        let facts = metricsFile.map { _ in Task { await metricsFacts(at: endedAt) } }
        if writeReport {
            do {
                reportFiles = try await ReportRun(workspace: workspace, templates: templates, now: now).write(
                    outcome: outcome, started: report)
            } catch {
                logger.error("report not written: \(error)")
                outcome.reasons.append("report not written: \(error)")
                if outcome.status == .completed || outcome.status == .partial { outcome.status = .cannotWrite }
            }
        }
        if let metricsFile, let facts {
            do {
                try await writeMetrics(metricsFile, outcome: outcome, facts: await facts.value)
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

    /// What the metrics read from the store: pages by status, the last successful run's end,
    /// and the pages expiring as of `now`.
    struct MetricsFacts: Sendable {
        var counts: [PageStatus: Int]
        var lastSuccess: Date?
        var expiring: Int
    }

    private func metricsFacts(at now: Date) async -> MetricsFacts {
        let database = workspace.database
        return MetricsFacts(
            counts: (try? await database.statusCounts()) ?? [:],
            lastSuccess: (try? await database.lastSuccessfulRunEnd()) ?? nil,
            expiring: (try? await database.expiringCount(now: now, warningDays: configuration.expiryWarningDays)) ?? 0)
    }

    private func writeMetrics(_ path: String, outcome: RunOutcome, facts: MetricsFacts) async throws {
        let metrics = RunMetrics(outcome: outcome, pagesByStatus: facts.counts, expiring: facts.expiring)
        _ = try await BlockingWork.run {
            try MetricsWriter(path: path).write(metrics, lastSuccessFallback: facts.lastSuccess)
        }
    }
}
