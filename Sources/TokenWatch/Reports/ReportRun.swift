import Foundation

/// Builds a report from stored state (after a check, or for `tokenwatch report`) and writes
/// the timestamped pair plus `latest.*`.
public struct ReportRun: Sendable {
    let workspace: Workspace
    let templates: TemplateSet
    let now: @Sendable () -> Date

    /// Log entries shown per page.
    static let recentEventCount = 5

    public init(workspace: Workspace, templates: TemplateSet, now: @escaping @Sendable () -> Date = { Date() }) {
        self.workspace = workspace
        self.templates = templates
        self.now = now
    }

    /// Writes the report; `outcome` nil regenerates it from stored state without a run.
    public func write(outcome: CheckOutcome?, runStartedAt: Date?, status: ExitStatus?, heldWave: Bool) async throws
        -> ReportFiles
    {
        let configuration = workspace.configuration
        let database = workspace.database
        let pages = try await database.pages()
        let events = try await database.recentEvents(limit: Self.recentEventCount)
        var notices: [String] = []
        if heldWave, let outcome {
            notices.append(
                "Mass invalidation: \(outcome.newlyInvalid.count) pages became invalid in this run. The Owner digests are held, not sent, until an operator runs “tokenwatch notify --release-held” (or “--drop-held”)."
            )
        }
        let counts = try await database.outboxCounts()
        if counts.held > 0 && !heldWave {
            notices.append(
                "\(counts.held) notifications are held by the mass-invalidation guard: “tokenwatch notify --release-held” sends them, “--drop-held” discards them."
            )
        }
        if counts.failed > 0 {
            notices.append(
                "\(counts.failed) notifications could not be delivered after \(configuration.mailMaxAttempts) attempts; see each page's log."
            )
        }
        if let served = outcome?.servedVersion, served != configuration.graphVersion {
            notices.append(
                "Graph served API version \(served), not the configured \(configuration.graphVersion): the configured version may have expired. Update TOKENWATCH_GRAPH_VERSION."
            )
        }
        if let outcome, outcome.unchecked > 0 {
            notices.append(
                "\(outcome.unchecked) pages were not checked in this run (\(outcome.rateLimited ? "Graph rate limit" : outcome.deadlineReached ? "run deadline" : "stopped")); they keep their previous status."
            )
        }
        let orphans = try await database.companiesWithoutOwners()
        if !orphans.isEmpty {
            notices.append(
                "No Owner to notify for: \(orphans.joined(separator: ", ")). Add one with “tokenwatch owners add”.")
        }
        var run: ReportRunInfo?
        if let outcome, let runStartedAt {
            run = ReportRunInfo(
                startedAt: runStartedAt, endedAt: outcome.endedAt,
                outcome: status == .ok ? "completed" : "completed in part",
                exitCode: (status ?? .ok).rawValue, checked: outcome.valid + outcome.invalid + outcome.unknown,
                unchecked: outcome.unchecked, newlyInvalid: outcome.newlyInvalid.count,
                configuredVersion: configuration.graphVersion, servedVersion: outcome.servedVersion, dryRun: false)
        }
        let input = ReportInput(
            generatedAt: runStartedAt ?? now(), run: run, pages: pages, recentEvents: events,
            changedPageIDs: outcome?.changedPageIDs ?? [], expiryWarningDays: configuration.expiryWarningDays,
            notices: notices)
        let templates = self.templates
        let directory = configuration.reportsDirectory
        let files = try await BlockingWork.run { try ReportWriter().write(input, templates: templates, to: directory) }
        if let keep = configuration.keepReportsDays {
            let pruneAt = now()
            _ = try await BlockingWork.run {
                try ReportWriter().prune(directory: directory, keepDays: keep, now: pruneAt)
            }
        }
        return files
    }
}
