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
        if TestStore.isPostgres {
            // TOKENWATCH_TEST_STORE=postgres: the same tests against a fresh PostgreSQL database.
            configuration = Configuration(
                databasePath: try await PostgresServer.shared().createDatabase(named: "pipeline"))
            configuration.keyFile = directory.file("tw.key")
        }
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

extension PipelineHarness {
    /// The environment that points the built binary at this installation: its database and
    /// reports, the simulator, and `smtpURL` for mail (the harness's `.eml` directory when nil).
    func binaryEnvironment(smtpURL: String? = nil, _ extra: [String: String] = [:]) -> [String: String] {
        [
            "TOKENWATCH_DB": configuration.databasePath,
            "TOKENWATCH_KEY_FILE": configuration.keyFile,
            "TOKENWATCH_REPORTS_DIR": configuration.reportsDirectory,
            "TOKENWATCH_GRAPH_URL": simulator.baseURL,
            "TOKENWATCH_APP_ID": Self.appID,
            "TOKENWATCH_APP_SECRET": Self.appSecret,
            "TOKENWATCH_SMTP_URL": smtpURL ?? configuration.smtpURL ?? "",
            "TOKENWATCH_MAIL_FROM": "tokenwatch@platform.example",
            "TOKENWATCH_HTTP_TIMEOUT": String(Int(configuration.httpTimeout)),
        ].merging(extra) { $1 }
    }

    /// The Owner addresses a page's log says were emailed, one entry per `owner_notified`.
    func notifiedOwners(_ pageID: String) async throws -> [String] {
        let (_, events) = try await workspace.database.pageLog(pageID: pageID)
        return events.filter { $0.kind == .ownerNotified }.compactMap {
            $0.detail?.components(separatedBy: " sent to ").last?.lowercased()
        }
    }
}

/// Polls `condition` every 25 ms until it holds or `seconds` have passed; returns whether it
/// held. For waiting on another process (a row committed, a message received), never on time.
func eventually(within seconds: Double, _ condition: () async throws -> Bool) async throws -> Bool {
    let deadline = ContinuousClock.now + .milliseconds(Int(seconds * 1000))
    while ContinuousClock.now < deadline {
        if try await condition() { return true }
        try await Task.sleep(for: .milliseconds(25))
    }
    return try await condition()
}

/// Which store the pipeline tests run against: SQLite, or PostgreSQL when the environment says
/// `TOKENWATCH_TEST_STORE=postgres` (scripts/test.sh runs them both ways).
enum TestStore {
    static let isPostgres = ProcessInfo.processInfo.environment["TOKENWATCH_TEST_STORE"] == "postgres"
    static var isSQLite: Bool { !isPostgres }
}
