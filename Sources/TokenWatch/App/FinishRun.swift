import Foundation
import Logging
import TokenWatchMail
import TokenWatchModel
import TokenWatchStore
import TokenWatchTemplates

/// `tokenwatch finish`: run once after the shards of a wave (`check --shard I/N`), it makes
/// the wave one run again — the mass-invalidation guard over every shard's staged rows, one
/// digest per Owner gathering the pages of all shards, one report of the whole fleet, one run
/// record and one set of metrics. A shard that has not run, has not finished, failed, or last
/// ran in an earlier wave is named, and the run is partial (75).
public struct FinishRun: Sendable {
    let workspace: Workspace
    let mailTransport: (any MailTransport)?
    let templates: TemplateSet
    let logger: Logger
    let now: @Sendable () -> Date
    let stopRequested: @Sendable () -> Bool

    /// - Parameter mailTransport: nil leaves the digests pending (`--no-email`).
    public init(
        workspace: Workspace, mailTransport: (any MailTransport)?, templates: TemplateSet, logger: Logger,
        now: @escaping @Sendable () -> Date = { Date() }, stopRequested: @escaping @Sendable () -> Bool = { false }
    ) {
        self.workspace = workspace
        self.mailTransport = mailTransport
        self.templates = templates
        self.logger = logger
        self.now = now
        self.stopRequested = stopRequested
    }

    /// Finishes the wave of a fleet split `shards` ways.
    /// - Throws: `RunLockError` when a whole-fleet check or another `finish` holds the lock,
    ///   `StoreError` when the shards' runs cannot be read.
    public func run(shards: Int, actor: String, metricsFile: String?) async throws -> CheckRunResult {
        let started = now()
        // The fleet's lock: a whole-fleet check or a second finish waits for the next time.
        let lock = try await workspace.database.acquireRunLock(shard: nil)
        defer { lock.release() }
        let database = workspace.database
        let configuration = workspace.configuration

        let runs = try await database.lastShardRuns(count: shards)
        let wave = Self.wave(runs, shards: shards, window: configuration.runTimeout)
        let changes = try await database.changes(inRuns: wave.runs.map(\.id))
        let counts = try await database.statusCounts()

        var outcome = RunOutcome(
            runID: nil, actor: actor, startedAt: wave.runs.map(\.startedAt).min() ?? started, endedAt: started,
            configuredVersion: configuration.graphVersion)
        outcome.servedVersion = wave.runs.compactMap(\.servedVersion).first
        outcome.pagesTotal = wave.runs.reduce(0) { $0 + $1.pagesTotal }
        outcome.valid = wave.runs.reduce(0) { $0 + $1.valid }
        outcome.invalid = wave.runs.reduce(0) { $0 + $1.invalid }
        outcome.undecided = wave.runs.reduce(0) { $0 + $1.unknown }
        outcome.unchecked = wave.runs.reduce(0) { $0 + $1.unchecked }
        outcome.newlyInvalid = changes.newlyInvalid
        outcome.becameValid = changes.becameValid
        outcome.changedPageIDs = Set(changes.newlyInvalid + changes.becameValid)
        if wave.runs.isEmpty {
            // No shard ran: the report still shows the fleet as the store has it.
            outcome.pagesTotal = counts.filter { $0.key != .disconnected }.values.reduce(0, +)
        }
        outcome.runID = try await database.startRun(
            actor: actor, configuredVersion: configuration.graphVersion, pagesTotal: outcome.pagesTotal, shard: nil,
            now: started)
        for problem in wave.problems { logger.warning("\(problem)") }
        logger.info(
            "finishing the wave", metadata: ["shards": "\(shards)", "finished": "\(wave.runs.count)"])

        return await RunConclusion(
            workspace: workspace, mailTransport: mailTransport, templates: templates, logger: logger, now: now,
            stopRequested: stopRequested
        ).conclude(
            outcome, actor: actor, sender: "finish:\(outcome.runID ?? 0)",
            mailDeadline: started.addingTimeInterval(configuration.runTimeout), metricsFile: metricsFile,
            incomplete: wave.problems)
    }

    /// The shards' runs that belong to this wave, and what is wrong with the others.
    struct Wave: Sendable {
        var runs: [CheckRunRecord] = []
        var problems: [String] = []
    }

    /// A wave is the shards' latest runs: a shard whose latest run started more than `window`
    /// (TOKENWATCH_RUN_TIMEOUT) before the newest shard's is from an earlier wave.
    static func wave(_ runs: [Int: CheckRunRecord], shards: Int, window: TimeInterval) -> Wave {
        var wave = Wave()
        let newest = runs.values.map(\.startedAt).max()
        for index in 0..<shards {
            let name = "shard \(index)/\(shards)"
            guard let run = runs[index] else {
                wave.problems.append("\(name) has not run")
                continue
            }
            let started = run.startedAt.formatted(.iso8601)
            if let newest, run.startedAt < newest.addingTimeInterval(-window) {
                wave.problems.append("\(name) last ran at \(started), in an earlier wave")
            } else if run.endedAt == nil {
                wave.problems.append(
                    "\(name) has not finished (started \(started)): still running, or its process died and it must run again"
                )
            } else if let code = run.exitCode, code != 0, code != 75 {
                wave.problems.append("\(name) failed (exit \(code)): \(run.message ?? "no message")")
                wave.runs.append(run)
            } else {
                wave.runs.append(run)
            }
        }
        return wave
    }
}
