import Foundation
import TokenWatchModel
import TokenWatchReports
import TokenWatchStore
import TokenWatchSystem
import TokenWatchTemplates

/// Builds a report from stored state and a run's outcome (after a check), or from stored state
/// alone (`tokenwatch report`), and writes the timestamped pair plus `latest.*`.
public struct ReportRun: Sendable {
    let workspace: Workspace
    let templates: TemplateSet
    let now: @Sendable () -> Date

    /// Log entries shown per page; a page with more says how many older ones
    /// `tokenwatch pages log` shows.
    static let recentEventCount = 20

    public init(workspace: Workspace, templates: TemplateSet, now: @escaping @Sendable () -> Date = { Date() }) {
        self.workspace = workspace
        self.templates = templates
        self.now = now
    }

    /// Loads the pages and starts the report's CSV and spreadsheet pages before the run's
    /// outcome is decided: after a check, they are written while the digests go out (a page's
    /// row does not change after its check; the digests change only the outbox and the log,
    /// which `write` reads later). nil when that fails: `write` then starts over and says why.
    /// The spreadsheet's pages are written while the pages are read (the SQLite store hands
    /// each over as it reads it), not after.
    func start() async -> StartedReport? {
        let directory = workspace.configuration.reportsDirectory
        let streamed = try? ReportWriter().streamSpreadsheet(in: directory)
        do {
            let feed = streamed?.feed
            let pages = try await workspace.database.pagesInReportOrder { page in feed?.push(page) }
            feed?.finish()
            let input = ReportInput(generatedAt: now(), pages: pages)
            return try await BlockingWork.run {
                try ReportWriter().start(input, in: directory, streamed: streamed)
            }
        } catch {
            if let streamed { _ = try? await BlockingWork.run { streamed.abandon() } }
            return nil
        }
    }

    /// Writes the report; `outcome` nil regenerates it from stored state without a run.
    /// - Parameter started: the report `start()` began for this run: its pages are used, and
    ///   its CSV and spreadsheet finished.
    public func write(outcome: RunOutcome?, started: StartedReport? = nil) async throws -> ReportFiles {
        do {
            return try await writeReport(outcome: outcome, started: started)
        } catch {
            // A failure on the way leaves no temporary file, and no renderer waiting (it waits
            // on a Dispatch thread: abandoned off the cooperative pool too).
            if let started { _ = try? await BlockingWork.run { started.abandon() } }
            throw error
        }
    }

    private func writeReport(outcome: RunOutcome?, started: StartedReport?) async throws -> ReportFiles {
        let configuration = workspace.configuration
        let database = workspace.database
        let owners = try await database.ownersByCompany()
        let origin = ReportOrigin(
            host: ProcessInfo.processInfo.hostName, appID: configuration.appID,
            database: Self.displayDatabase(configuration.databasePath),
            configuredVersion: configuration.graphVersion)
        var lastRun: StoredRun?
        if outcome == nil, let record = try await database.lastRun() {
            lastRun = StoredRun(
                startedAt: record.startedAt, endedAt: record.endedAt, actor: record.actor,
                outcome: record.outcome ?? "ended without a record", exitCode: record.exitCode,
                reportFile: ReportIndex.reportFile(startedAt: record.startedAt, in: configuration.reportsDirectory))
        }
        let waiting = try await database.waitingNotifications()
        var notifications: [String: PageNotification] = [:]
        for (pageID, states) in waiting {
            notifications[pageID] = PageNotification(pending: states["pending"] ?? [], held: states["held"] ?? [])
        }
        for (pageID, owners) in outcome?.notified ?? [:] {
            notifications[pageID, default: PageNotification()].notified = owners
        }

        var notices: [String] = []
        if let wave = outcome?.massInvalidation, wave.held {
            notices.append(
                "Mass invalidation: \(wave.wave) of the \(wave.validBefore) pages that were valid became invalid. The Owner digests are held, not sent, until an operator runs “tokenwatch notify --release-held” (or “--drop-held”)."
            )
        }
        let counts = try await database.outboxCounts()
        if counts.held > 0 && !(outcome?.heldWave ?? false) {
            notices.append(
                "\(counts.held) notifications are held by the mass-invalidation guard: “tokenwatch notify --release-held” sends them, “--drop-held” discards them."
            )
        }
        if counts.failed > 0 {
            notices.append(
                "\(counts.failed) notifications could not be delivered; see each page's log.")
        }
        if let outcome, outcome.versionMismatch, let served = outcome.servedVersion {
            notices.append(
                "Graph served API version \(served), not the configured \(outcome.configuredVersion): the configured version may have expired. Update TOKENWATCH_GRAPH_VERSION."
            )
        }
        if let outcome, outcome.unchecked > 0 {
            notices.append(
                "\(outcome.unchecked) pages were not checked in this run (\(outcome.uncheckedCause)); they keep their previous status."
            )
        }
        let orphans = try await database.companiesWithoutOwners()
        if !orphans.isEmpty {
            notices.append(
                "No Owner to notify for: \(orphans.joined(separator: ", ")). Add one with “tokenwatch owners add”.")
        }
        var input: ReportInput
        if let started {
            // The started pages, in report order already: no second read, no second sort.
            input = started.pages
            input.generatedAt = outcome?.startedAt ?? now()
            input.run = outcome
            input.notifications = notifications
            input.changedPageIDs = outcome?.changedPageIDs ?? []
            input.expiryWarningDays = configuration.expiryWarningDays
            input.notices = notices
            input.owners = owners
            input.origin = origin
            input.lastRun = lastRun
        } else {
            input = ReportInput(
                generatedAt: outcome?.startedAt ?? now(), run: outcome, notifications: notifications,
                pages: try await database.pagesInReportOrder(), changedPageIDs: outcome?.changedPageIDs ?? [],
                expiryWarningDays: configuration.expiryWarningDays,
                notices: notices, owners: owners, origin: origin, lastRun: lastRun)
        }
        // Only the pages shown in full show their log: the hourly report of a large, quiet fleet
        // reads a few pages' entries, not every page's.
        let shownInFull = input.pageIDsShownInFull
        if shownInFull.count * 2 >= input.pages.count {
            input.recentEvents = try await database.recentEvents(limit: Self.recentEventCount)
            input.logEntryCounts = try await database.logEntryCounts()
        } else {
            input.recentEvents = try await database.recentEvents(limit: Self.recentEventCount, pageIDs: shownInFull)
            input.logEntryCounts = try await database.logEntryCounts(pageIDs: shownInFull)
        }
        // Sorted here, in place, while this is the only copy of the pages: the writer then takes
        // them as they are.
        input.putInReportOrder()
        let templates = self.templates
        let directory = configuration.reportsDirectory
        let ordered = input
        let files: ReportFiles
        if let started {
            let pair = try await BlockingWork.run {
                try ReportWriter().writeHTMLAndCSV(ordered, templates: templates, to: directory, started: started)
            }
            // The spreadsheet, the longest file, is often still being written: meanwhile the
            // core the HTML leaves idle copies the run's writes into the database file, which
            // closing the database would otherwise do at the very end.
            async let checkpointed: Void = database.checkpoint()
            files = try await BlockingWork.run {
                defer { started.abandon() }
                return try ReportWriter().finish(pair, started: started)
            }
            await checkpointed
        } else {
            files = try await BlockingWork.run {
                try ReportWriter().write(ordered, templates: templates, to: directory)
            }
        }
        if let keep = configuration.keepReportsDays {
            let pruneAt = now()
            _ = try await BlockingWork.run {
                try ReportWriter().prune(directory: directory, keepDays: keep, now: pruneAt)
            }
        }
        // A run killed while writing leaves hidden temporary files; a day later they go.
        let cleanAt = now()
        _ = try? await BlockingWork.run { ReportWriter().removeStaleTemporaries(in: directory, now: cleanAt) }
        // After pruning, so the index lists exactly the reports kept.
        try await BlockingWork.run { try ReportIndex.write(directory: directory) }
        return files
    }

    /// The database as the report's header shows it: a path as is, a URL without its
    /// user and password.
    static func displayDatabase(_ database: String) -> String {
        guard database.contains("://"), var components = URLComponents(string: database) else { return database }
        components.user = nil
        components.password = nil
        return components.string ?? database
    }
}
