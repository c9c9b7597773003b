import Foundation
import GraphSimulator
import Logging
import TokenWatch
import TokenWatchCheck
import TokenWatchMail
import TokenWatchModel
import TokenWatchStore
import TokenWatchTemplates

/// `tokenwatch demo`: a throw-away installation with sample pages, the Graph simulator on a
/// loopback port, and the same `check` pipeline production runs — libcurl, the verdict rules,
/// the database, the report writer and the digest mailer (writing `.eml` files).
public struct Demo: Sendable {
    /// Where everything went.
    public struct Result: Sendable {
        public var directory: String
        public var configuration: Configuration
        public var check: CheckRunResult
        public var mailDirectory: String
        public var metricsFile: String
    }

    let logger: Logger

    public init(logger: Logger) {
        self.logger = logger
    }

    /// Runs the demo in `directory` (created if missing) or in a new temporary directory. Run
    /// again in the same directory, it checks the same pages again (nothing is newly invalid
    /// the second time). TOKENWATCH_* settings are ignored on purpose.
    public func run(directory: String?) async throws -> Result {
        let root = try directory.map(Self.prepare) ?? Self.makeTemporaryDirectory()
        let appID = "1234567890"
        let appSecret = "demo-secret-" + UUID().uuidString.lowercased()
        var configuration = Configuration(databasePath: root + "/tokenwatch.sqlite3")
        configuration.reportsDirectory = root + "/reports"
        configuration.smtpURL = "file://" + root + "/mail"
        configuration.mailFrom = "TokenWatch Demo <tokenwatch@demo.example>"
        configuration.renewURL = "https://dashboard.example.com/company-settings/meta/facebook?renew={page_id}"
        configuration.appID = appID
        configuration.appSecret = Secret(appSecret)
        configuration.metricsFile = root + "/tokenwatch.prom"

        let simulator = GraphSimulator(appID: appID, appSecret: appSecret, servedVersion: configuration.graphVersion)
        try await simulator.start()
        configuration.graphURL = simulator.baseURL
        // Stopped on every path, awaited (a `defer` cannot await).
        let check: CheckRunResult
        do {
            check = try await checkSampleData(configuration)
        } catch {
            await simulator.stop()
            throw error
        }
        await simulator.stop()
        return Result(
            directory: root, configuration: configuration, check: check, mailDirectory: root + "/mail",
            metricsFile: root + "/tokenwatch.prom")
    }

    /// Initialises the installation, seeds it and runs the production check on it.
    func checkSampleData(_ configuration: Configuration) async throws -> CheckRunResult {
        _ = try await Workspace.initialise(configuration)
        let workspace = try await Workspace.open(configuration)
        try await seed(workspace)
        let services = try Services(configuration: configuration, logger: logger)
        return try await CheckRun(
            workspace: workspace, graph: try services.graph(), mailTransport: try services.mailTransport(),
            templates: try TemplateSet(), logger: logger
        ).run(CheckOptions(concurrency: 4, batchSize: 10, actor: "demo"), metricsFile: configuration.metricsFile)
    }

    /// Companies, Owners and pages, once: a second demo run in the same directory reuses them.
    func seed(_ workspace: Workspace) async throws {
        let database = workspace.database
        guard try await database.pages().isEmpty else { return }
        let now = Date()
        for company in DemoDataset.companies where !company.owners.isEmpty {
            _ = try await database.addOwners(company: company.name, emails: company.owners, now: now)
        }
        _ = try await database.upsertPages(
            DemoDataset.pages.map {
                PageUpsert(
                    company: $0.company, pageID: $0.pageID, pageName: $0.name, token: Secret($0.token), source: "demo")
            }, cipher: workspace.cipher, actor: "demo", now: now)
        if let archived = DemoDataset.pages.first(where: { $0.name == DemoDataset.disconnectedPageName }) {
            _ = try await database.disconnect(
                pageID: archived.pageID, reason: "the clinic closed this page", actor: "demo", now: now)
        }
    }

    static func prepare(_ directory: String) throws -> String {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        return URL(fileURLWithPath: directory).standardizedFileURL.path
    }

    static func makeTemporaryDirectory() throws -> String {
        let path = URL(fileURLWithPath: NSTemporaryDirectory())
            .appendingPathComponent("tokenwatch-demo-\(UUID().uuidString.prefix(8).lowercased())").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }
}
