import Foundation
import Logging

/// `tokenwatch notify`: send what is pending, after releasing or dropping held digests.
public struct Notify: Sendable {
    let workspace: Workspace
    let templates: TemplateSet
    let transport: any MailTransport
    let logger: Logger
    let now: @Sendable () -> Date

    public init(
        workspace: Workspace, templates: TemplateSet, transport: any MailTransport, logger: Logger,
        now: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.workspace = workspace
        self.templates = templates
        self.transport = transport
        self.logger = logger
        self.now = now
    }

    public func run(releaseHeld: Bool, dropHeld: Bool, actor: String) async throws -> (
        status: ExitStatus, summary: String
    ) {
        let database = workspace.database
        var prefix = ""
        if dropHeld {
            let ids = try await database.heldOutboxIDs()
            try await database.dropOutbox(
                ids: ids, reason: "held digest dropped by an operator (notify --drop-held)", actor: actor, now: now())
            prefix = "dropped \(ids.count) held notifications; "
            logger.notice("held notifications dropped", metadata: ["rows": "\(ids.count)"])
        }
        if releaseHeld {
            let released = try await database.releaseHeld(actor: actor, now: now())
            prefix = "released \(released) held notifications; "
            logger.notice("held notifications released", metadata: ["rows": "\(released)"])
        }
        let composer = try DigestComposer(
            templates: templates, from: workspace.configuration.mailFrom ?? "",
            renewURLTemplate: workspace.configuration.renewURL)
        let outcome = try await DigestDispatcher(
            database: database, composer: composer, transport: transport,
            maxAttempts: workspace.configuration.mailMaxAttempts,
            actor: actor, logger: logger
        ).dispatch(now: now())
        let summary =
            prefix
            + "digests: \(outcome.sent) sent, \(outcome.failed) failed; \(outcome.pendingRows) notifications pending, \(outcome.heldRows) held, \(outcome.droppedRows) dropped"
        let status: ExitStatus = outcome.failed > 0 || outcome.pendingRows > 0 || outcome.heldRows > 0 ? .partial : .ok
        return (status, summary)
    }
}
