import ArgumentParser
import TokenWatchMail
import TokenWatchModel
import TokenWatchTemplates

struct TemplatesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "templates", abstract: "The report and email templates.", subcommands: [Export.self])

    struct Export: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write the built-in templates into DIR, to edit.",
            discussion: """
                Point TOKENWATCH_TEMPLATES_DIR at DIR: a file there replaces the
                built-in template of the same name.
                """)
        @Argument(help: "The directory (created if missing; no file is overwritten).") var directory: String

        func run() async throws {
            try await execute {
                for path in try TemplateSet.exportBuiltIns(to: directory) { writeOutput("wrote \(path)") }
                return .ok
            }
        }
    }
}
