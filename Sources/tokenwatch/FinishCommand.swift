import ArgumentParser
import Foundation
import TokenWatch
import TokenWatchTemplates

struct FinishCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "finish",
        abstract: "After the shards of a check: one guard, one digest per Owner, one report.",
        discussion: """
            Run once after every `check --shard I/N` of a wave (on Kubernetes, the
            finish CronJob). It applies the mass-invalidation guard to the whole
            wave, sends each Owner one digest gathering the pages of all shards,
            and writes one report of the fleet, the metrics and the run record.

            Exit 0: every shard finished and every digest was sent; 75: a shard
            has not run, not finished, failed or is from an earlier wave (each
            is named), or digests are pending or held; 78: configuration error.
            """)

    @OptionGroup var global: GlobalOptions
    @Option(help: ArgumentHelp(Settings.shards.key.flagHelp)) var shards: Int?
    @Flag(name: .customLong("no-email"), help: "Leave digests pending (a later `notify` sends them).") var noEmail =
        false
    @Option(name: .customLong("metrics-file"), help: ArgumentHelp(ConfigurationKey.metricsFile.flagHelp))
    var metricsFile: String?
    @Option(name: .customLong("keep-reports"), help: ArgumentHelp(Settings.keepReportsDays.key.flagHelp))
    var keepReports: Int?

    func run() async throws {
        try await execute {
            let logger = global.makeLogger()
            let configuration = try global.loadConfiguration(
                [
                    "TOKENWATCH_SHARDS": shards.map(String.init),
                    "TOKENWATCH_METRICS_FILE": metricsFile,
                    "TOKENWATCH_KEEP_REPORTS_DAYS": keepReports.map(String.init),
                ], logger: logger)
            guard let shards = configuration.shards else {
                throw CommandFailure(
                    .configuration,
                    "finish needs the number of shards: --shards N or TOKENWATCH_SHARDS=N, as the check's Job has it")
            }
            let templates = try TemplateSet(overridesDirectory: configuration.templatesDirectory)
            let services = try Services(configuration: configuration, logger: logger)
            let transport = noEmail ? nil : try services.mailTransport()
            let workspace = try await Workspace.open(configuration, logger: logger)
            let stop = StopSignals(logger: logger)
            let result = try await FinishRun(
                workspace: workspace, mailTransport: transport, templates: templates, logger: logger,
                stopRequested: { stop.isRequested }
            ).run(
                shards: shards, actor: configuration.actor ?? (isatty(0) == 1 ? Workspace.cliActor() : "cron"),
                metricsFile: configuration.metricsFile)
            let outcome = result.outcome
            if !global.quiet || outcome.status != .completed {
                if let files = result.reportFiles { writeOutput("report: \(files.html)") }
                writeOutput(outcome.summary)
            }
            return ExitStatus(outcome.status)
        }
    }
}
