import ArgumentParser
import Foundation
import Synchronization
import TokenWatch
import TokenWatchCheck
import TokenWatchHTTP
import TokenWatchModel
import TokenWatchStore
import TokenWatchTemplates

struct CheckCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check", abstract: "Check every watched page's token against Graph.",
        discussion: """
            Records each page's verdict and every transition in its log, writes
            the report, and emails each Owner one digest of the pages that newly
            became invalid. Ends with a one-line summary.

            Exit 0: every page has a verdict and every digest was sent;
            75: completed in part (unchecked pages, pending or held digests,
            another run holds the lock); 78: configuration error.
            """)

    @OptionGroup var global: GlobalOptions
    @Option(name: .customLong("page"), help: "Check only this Page ID (repeatable).") var pages: [String] = []
    @Flag(name: .customLong("dry-run"), help: "Ask Graph and print the verdicts; write nothing, send nothing.")
    var dryRun = false
    @Flag(name: .customLong("no-email"), help: "Leave digests pending (a later `notify` sends them).") var noEmail =
        false
    // Ranges and defaults are the settings' own (Settings): a bad value is a usage error.
    @Option(help: ArgumentHelp(Settings.concurrency.key.flagHelp)) var concurrency: Int?
    @Option(name: .customLong("batch-size"), help: ArgumentHelp(Settings.batchSize.key.flagHelp)) var batchSize: Int?
    @Option(name: .customLong("metrics-file"), help: ArgumentHelp(ConfigurationKey.metricsFile.flagHelp))
    var metricsFile: String?
    @Option(name: .customLong("keep-reports"), help: ArgumentHelp(Settings.keepReportsDays.key.flagHelp))
    var keepReports: Int?
    @Option(
        help: ArgumentHelp(
            "Check only shard I of N (0-based, e.g. 2/4): the pages whose page ID hashes to it; implies --no-email, and `finish` ends the wave (a Kubernetes Indexed Job sets it through JOB_COMPLETION_INDEX and TOKENWATCH_SHARDS).",
            valueName: "I/N"))
    var shard: Shard?

    func validate() throws {
        if shard != nil && !pages.isEmpty { throw ValidationError("--shard and --page exclude each other") }
    }

    func run() async throws {
        try await execute {
            let logger = global.makeLogger()
            let configuration = try global.loadConfiguration(
                [
                    "TOKENWATCH_CONCURRENCY": concurrency.map(String.init),
                    "TOKENWATCH_BATCH_SIZE": batchSize.map(String.init),
                    "TOKENWATCH_METRICS_FILE": metricsFile,
                    "TOKENWATCH_KEEP_REPORTS_DAYS": keepReports.map(String.init),
                ], logger: logger)
            // Everything that can be wrong with the setup is found before any network call.
            let templates = try TemplateSet(overridesDirectory: configuration.templatesDirectory)
            let services = try Services(configuration: configuration, logger: logger)
            let graph = try services.graph()
            // A shard never mails: `finish` sends one digest per Owner for the whole wave.
            let shard = shard ?? (pages.isEmpty ? configuration.jobShard : nil)
            let transport = dryRun || noEmail || shard != nil ? nil : try services.mailTransport()
            // A dry run writes nothing: it works on a read-only database too.
            let workspace = try await Workspace.open(configuration, mode: dryRun ? .readOnly : .readWrite)
            var options = CheckOptions(
                pageIDs: pages.isEmpty ? nil : pages, dryRun: dryRun, concurrency: configuration.concurrency,
                batchSize: configuration.batchSize,
                actor: configuration.actor ?? (isatty(0) == 1 && isatty(1) == 1 ? Workspace.cliActor() : "cron"))
            options.shard = shard
            let progress = LazyProgress()
            let stop = StopSignals(logger: logger)
            let result = try await CheckRun(
                workspace: workspace, graph: graph, mailTransport: transport, templates: templates, logger: logger,
                progress: { done, total in progress.update(done: done, total: total) },
                stopRequested: { stop.isRequested }
            ).run(options, metricsFile: dryRun ? nil : configuration.metricsFile)
            progress.finish()
            let outcome = result.outcome
            if dryRun { writeOutput(DryRunOutput.table(result.verdicts)) }
            // Quiet and fine prints nothing, so cron (which mails any output) stays silent.
            if !global.quiet || outcome.status != .completed {
                if let files = result.reportFiles { writeOutput("report: \(files.html)") }
                writeOutput(outcome.summary)
            }
            return ExitStatus(outcome.status)
        }
    }
}

/// The progress line appears once the run knows its total; the engine reports absolute
/// counts, the reporter takes increments.
final class LazyProgress: Sendable {
    private struct State {
        var reporter: ProgressReporter?
        var done = 0
    }
    private let state = Mutex(State())

    func update(done: Int, total: Int) {
        state.withLock { state in
            let reporter = state.reporter ?? ProgressReporter(total: total)
            state.reporter = reporter
            reporter.advance(by: done - state.done)
            state.done = done
        }
    }

    func finish() {
        state.withLock { $0.reporter?.finish() }
    }
}

extension Shard: ExpressibleByArgument {
    public init?(argument: String) {
        self.init(argument)
    }
}
