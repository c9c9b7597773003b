import ArgumentParser
import Foundation
import TokenWatch
import TokenWatchStore
import TokenWatchTemplates

struct ReportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report", abstract: "Write the report from stored state, offline.")

    @OptionGroup var global: GlobalOptions
    @Option(name: .customLong("keep-reports"), help: ArgumentHelp(Settings.keepReportsDays.key.flagHelp))
    var keepReports: Int?

    func run() async throws {
        try await execute {
            let logger = global.makeLogger()
            let configuration = try global.loadConfiguration(
                ["TOKENWATCH_KEEP_REPORTS_DAYS": keepReports.map(String.init)], logger: logger)
            let templates = try TemplateSet(overridesDirectory: configuration.templatesDirectory)
            let workspace = try await Workspace.open(configuration, mode: .readOnly)
            let files = try await ReportRun(workspace: workspace, templates: templates)
                .write(outcome: nil)
            writeOutput("report: \(files.html)")
            writeOutput("        \(files.csv)")
            if !files.xlsx.isEmpty { writeOutput("        \(files.xlsx)") }
            writeOutput("index:  \((files.html as NSString).deletingLastPathComponent)/index.html")
            return .ok
        }
    }
}
