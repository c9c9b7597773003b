import Foundation
import GraphSimulator
import Logging
import TokenWatchTestSupport

@testable import TokenWatch
@testable import TokenWatchCheck
@testable import TokenWatchMail
@testable import TokenWatchModel
@testable import TokenWatchStore
@testable import TokenWatchTemplates

/// A TokenWatch installation in a temporary directory wired to a running GraphSimulator:
/// real SQLite, real libcurl over loopback, `.eml` files for mail.
final class PipelineHarness: Sendable {
    static let appID = "1234567890"
    static let appSecret = "test-app-secret-1f2e3d"

    let directory: TestDirectory
    let simulator: GraphSimulator
    let configuration: Configuration
    let workspace: Workspace
    let logger: Logger

    init(configure: (inout Configuration) -> Void = { _ in }) async throws {
        directory = try TestDirectory()
        simulator = GraphSimulator(appID: Self.appID, appSecret: Self.appSecret)
        try await simulator.start()
        var configuration = Configuration(databasePath: directory.file("tw.sqlite3"))
        configuration.reportsDirectory = directory.file("reports")
        configuration.graphURL = simulator.baseURL
        configuration.appID = Self.appID
        configuration.appSecret = Secret(Self.appSecret)
        configuration.smtpURL = "file://" + directory.file("mail")
        configuration.mailFrom = "TokenWatch <tokenwatch@platform.example>"
        configuration.renewURL = "https://dashboard.example/renew?page={page_id}"
        configuration.httpTimeout = 5
        configure(&configuration)
        self.configuration = configuration
        _ = try await Workspace.initialise(configuration)
        workspace = try await Workspace.open(configuration)
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        self.logger = logger
    }

    /// Stores pages `(pageID, behaviour)` for `company` with tokens by the simulator's naming.
    func seed(_ pages: [(String, TokenBehaviour)], company: String = "Acme", owners: [String] = ["owner@acme.example"])
        async throws
    {
        if !owners.isEmpty { _ = try await workspace.database.addOwners(company: company, emails: owners, now: Date()) }
        _ = try await workspace.database.upsertPages(
            pages.map {
                PageUpsert(
                    company: company, pageID: $0.0, pageName: "Page \($0.0)",
                    token: Secret(GraphSimulator.token($0.1, page: $0.0, suffix: "t")), source: "test")
            }, cipher: workspace.cipher, actor: "test", now: Date())
    }

    func check(
        _ options: CheckOptions = CheckOptions(concurrency: 4, batchSize: 50, actor: "cron"), email: Bool = true,
        now: @escaping @Sendable () -> Date = { Date() }
    ) async throws -> CheckRunResult {
        let services = try Services(configuration: configuration, logger: logger)
        return try await CheckRun(
            workspace: workspace, graph: try services.graph(),
            mailTransport: email ? try services.mailTransport() : nil,
            templates: try TemplateSet(), logger: logger, clock: ImmediateClock(), now: now
        ).run(options, metricsFile: directory.file("metrics.prom"))
    }

    func status(_ pageID: String) async throws -> PageStatus? {
        try await workspace.database.pages().first { $0.pageID == pageID }?.status
    }

    func page(_ pageID: String) async throws -> PageRecord? {
        try await workspace.database.pages().first { $0.pageID == pageID }
    }

    var mailFiles: [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: directory.file("mail"))) ?? []).filter {
            $0.hasSuffix(".eml")
        }.sorted()
    }

    func mail(_ name: String) -> String {
        (try? String(contentsOfFile: directory.file("mail") + "/" + name, encoding: .utf8)) ?? ""
    }

    func stop() async { await simulator.stop() }
}
