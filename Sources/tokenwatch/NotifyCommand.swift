import ArgumentParser
import Foundation
import TokenWatch
import TokenWatchStore
import TokenWatchTemplates

struct NotifyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "notify",
        abstract: "Send pending digests; release or drop held ones.",
        discussion: """
            Digests held by the mass-invalidation guard wait for an operator:
            --release-held sends them, --drop-held discards them.
            """)

    @OptionGroup var global: GlobalOptions
    @Flag(name: .customLong("release-held"), help: "Send the held digests (once, one per Owner).") var releaseHeld =
        false
    @Flag(name: .customLong("drop-held"), help: "Discard the held digests (logged on each page).") var dropHeld = false

    func validate() throws {
        if releaseHeld && dropHeld { throw ValidationError("--release-held and --drop-held exclude each other") }
    }

    func run() async throws {
        try await execute {
            let logger = global.makeLogger()
            let configuration = try global.loadConfiguration(logger: logger)
            let templates = try TemplateSet(overridesDirectory: configuration.templatesDirectory)
            let services = try Services(configuration: configuration, logger: logger)
            let transport = try services.mailTransport()
            let workspace = try await Workspace.open(configuration)
            let stop = StopSignals(logger: logger)
            let result = try await Notify(
                workspace: workspace, templates: templates, transport: transport, logger: logger,
                stopRequested: { stop.isRequested }
            )
            .run(releaseHeld: releaseHeld, dropHeld: dropHeld, actor: Workspace.cliActor())
            writeOutput(result.summary)
            return ExitStatus(result.status)
        }
    }
}
