import Foundation
import Logging
import TokenWatchMail
import TokenWatchModel
import TokenWatchStore
import TokenWatchTemplates

/// What `tokenwatch notify` did.
public struct NotifyResult: Sendable {
    /// Completed (0) when nothing is left pending or held, partial (75) otherwise.
    public var status: RunStatus
    /// One line for the operator: what was sent, and when nothing was, why and what next.
    public var summary: String
}

/// `tokenwatch notify`: send what is pending now, after releasing or dropping held digests.
/// Run by a person, it does not wait for the automatic retries' backoff.
public struct Notify: Sendable {
    let workspace: Workspace
    let templates: TemplateSet
    let transport: any MailTransport
    let logger: Logger
    let now: @Sendable () -> Date
    let stopRequested: @Sendable () -> Bool

    /// - Parameter stopRequested: true once SIGTERM or SIGINT asked to stop: the message in
    ///   flight finishes, no new one starts.
    public init(
        workspace: Workspace, templates: TemplateSet, transport: any MailTransport, logger: Logger,
        now: @escaping @Sendable () -> Date = { Date() }, stopRequested: @escaping @Sendable () -> Bool = { false }
    ) {
        self.stopRequested = stopRequested
        self.workspace = workspace
        self.templates = templates
        self.transport = transport
        self.logger = logger
        self.now = now
    }

    public func run(releaseHeld: Bool, dropHeld: Bool, actor: String) async throws -> NotifyResult {
        let database = workspace.database
        let configuration = workspace.configuration
        var prefix = ""
        if dropHeld {
            let dropped = try await database.dropHeld(
                reason: "held digest dropped by an operator (notify --drop-held)", actor: actor, now: now())
            prefix = "dropped \(dropped) held notifications; "
            logger.notice("held notifications dropped", metadata: ["rows": "\(dropped)"])
        }
        if releaseHeld {
            let released = try await database.releaseHeld(actor: actor, now: now())
            prefix = "released \(released) held notifications; "
            logger.notice("held notifications released", metadata: ["rows": "\(released)"])
        }
        let started = now()
        let dispatch = try await workspace.digestDispatcher(
            templates: templates, transport: transport, actor: actor,
            sender: "notify:\(getpid()):\(UInt32.random(in: 0...UInt32.max))", logger: logger
        ).dispatch(
            now: now, deadline: started.addingTimeInterval(configuration.runTimeout), ignoreBackoff: true,
            shouldStop: stopRequested)
        let counts = try await database.outboxCounts()
        var summary =
            prefix
            + "digests: \(dispatch.sent) sent, \(dispatch.failed) failed; \(counts.pending) notifications pending, \(counts.held) held, \(dispatch.droppedRows) dropped"
        if let stopped = dispatch.stoppedEarly { summary += "; sending stopped: \(stopped)" }
        if dispatch.sent == 0 && dispatch.failed == 0 {
            summary += "; " + (try await nothingSentBecause(counts))
        }
        let status: RunStatus = dispatch.failed > 0 || counts.pending > 0 || counts.held > 0 ? .partial : .completed
        return NotifyResult(status: status, summary: summary)
    }

    /// Says why nothing went out, and when the next automatic try is.
    private func nothingSentBecause(_ counts: OutboxCounts) async throws -> String {
        if counts.held > 0 && counts.pending == 0 {
            return
                "nothing sent: every notification is held by the mass-invalidation guard (`notify --release-held` sends them, `--drop-held` discards them)"
        }
        if counts.pending > 0 {
            let next = try await workspace.database.nextAutomaticAttempt()
            return "nothing sent: the pending notifications are claimed by another sender (a running check or notify)"
                + (next.map { "; next automatic try \(ReportTime.iso($0))" } ?? "")
        }
        return "nothing to send"
    }
}
