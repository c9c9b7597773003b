import Foundation
import GraphSimulator
import Testing

@testable import TokenWatch
@testable import TokenWatchGraph
@testable import TokenWatchMail
@testable import TokenWatchModel
@testable import TokenWatchStore

/// `pages connect --user-token-stdin`, the server side of "Log in with Facebook": `me/accounts`
/// over real loopback from the simulator, followed across its paging, into a real database.
/// In process through `Workspace.connectFromLogin` with the real Graph client, then the built
/// binary as an operator runs it.
@Suite("Login connect (me/accounts)", .serialized)
struct LoginConnectTests {
    static let pages = (1...7).map {
        SimulatedPage(
            id: String(104_000_000_000_600 + $0), name: "Acme Page \($0)", accessToken: "EAAGpageToken\($0)first")
    }
    static let firstLogin = "EAAGuserTokenFirstLogin111"
    static let secondLogin = "EAAGuserTokenSecondLogin222"
    static let renewedToken = "EAAGpageToken3second"
    static let renamed = "Acme Page 2 (new name)"

    /// The second login: the first five Pages, Page 2 renamed, Page 3 with a new token.
    static var secondLoginPages: [SimulatedPage] {
        var pages = Array(Self.pages.prefix(5))
        pages[1].name = renamed
        pages[2].accessToken = renewedToken
        return pages
    }

    /// The Page ID of Page `number` (1…7).
    static func id(_ number: Int) -> String { pages[number - 1].id }

    /// Runs `body` with a harness whose simulator answers `me/accounts` three Pages at a time,
    /// and stops the simulator afterwards, also when `body` throws.
    func withHarness(_ body: (PipelineHarness, any GraphAPI) async throws -> Void) async throws {
        let harness = try await PipelineHarness()
        harness.simulator.accountsPageSize = 3
        do {
            let graph = try Services(configuration: harness.configuration, logger: harness.logger).graph()
            try await body(harness, graph)
            await harness.stop()
        } catch {
            await harness.stop()
            throw error
        }
    }

    func login(
        _ harness: PipelineHarness, _ graph: any GraphAPI, userToken: String, company: String = "Acme",
        disconnectMissing: Bool = false
    ) async throws -> LoginConnectResult {
        try await harness.workspace.connectFromLogin(
            company: company, userToken: Secret(userToken), graph: graph, disconnectMissing: disconnectMissing,
            actor: "cli:tester", now: Date())
    }

    func events(_ harness: PipelineHarness, _ pageID: String) async throws -> [PageEvent] {
        try await harness.workspace.database.pageLog(pageID: pageID).1
    }

    /// Every page with its whole log, to show that a failed login wrote nothing.
    func snapshot(_ harness: PipelineHarness) async throws -> [String] {
        var lines: [String] = []
        for page in try await harness.workspace.database.pages() {
            lines.append("\(page.company) \(page.pageID) \(page.pageName) \(page.status) \(page.tokenUpdatedAt)")
            for event in try await events(harness, page.pageID) {
                lines.append("  \(event.kind) \(event.detail ?? "-")")
            }
        }
        for target in try await harness.workspace.database.checkTargets(pageIDs: nil, cipher: harness.workspace.cipher)
        {
            lines.append("token \(target.pageID) \(target.token.reveal)")
        }
        return lines
    }

    // MARK: In process

    @Test func aLoginConnectsEveryGrantedPageAndALaterOneReportsTheDeselected() async throws {
        try await withHarness { harness, graph in
            let ids = Self.pages.map(\.id)

            // 1. Seven Pages over three me/accounts answers (3 + 3 + 1).
            harness.simulator.registerUser(token: Self.firstLogin, pages: Self.pages)
            let first = try await login(harness, graph, userToken: Self.firstLogin)
            #expect(harness.simulator.stats.requestsByPath["GET /me/accounts"] == 3)
            #expect(first.summary.added.sorted() == ids)
            #expect(first.summary.renewed.isEmpty && first.summary.renamed.isEmpty && first.summary.unchanged.isEmpty)
            #expect(first.notGranted.isEmpty)
            #expect(first.disconnected.isEmpty)
            let stored = try await harness.workspace.database.pages(company: "Acme")
            #expect(
                Dictionary(uniqueKeysWithValues: stored.map { ($0.pageID, $0.pageName) })
                    == Dictionary(uniqueKeysWithValues: Self.pages.map { ($0.id, $0.name) }))
            #expect(stored.allSatisfy { $0.status == .unknown })
            let targets = try await harness.workspace.database.checkTargets(
                pageIDs: nil, cipher: harness.workspace.cipher)
            #expect(
                Dictionary(uniqueKeysWithValues: targets.map { ($0.pageID, $0.token.reveal) })
                    == Dictionary(uniqueKeysWithValues: Self.pages.map { ($0.id, $0.accessToken) }))
            #expect(try await events(harness, Self.id(1)).map(\.kind) == [.connected])
            #expect(try await events(harness, Self.id(1)).first?.actor == "cli:tester")

            // The Page tokens the login handed out are what check inspects, and they are valid.
            let checked = try await harness.check(email: false)
            #expect(checked.outcome.status == .completed, "\(checked.outcome.summary) \(checked.outcome.reasons)")
            #expect(try await harness.workspace.database.pages(company: "Acme").allSatisfy { $0.status == .valid })
            for page in Self.pages { #expect(harness.simulator.stats.debugCount(for: page.accessToken) == 1) }

            // 2. A new login grants five: Page 2 renamed, Page 3 with a new token; 6 and 7 deselected.
            harness.simulator.registerUser(token: Self.secondLogin, pages: Self.secondLoginPages)
            harness.simulator.resetStats()
            let second = try await login(harness, graph, userToken: Self.secondLogin)
            #expect(harness.simulator.stats.requestsByPath["GET /me/accounts"] == 2)
            #expect(second.summary.added.isEmpty && second.summary.reconnected.isEmpty)
            #expect(second.summary.renamed == [Self.id(2)])
            #expect(second.summary.renewed == [Self.id(3)])
            #expect(second.summary.unchanged.sorted() == [Self.id(1), Self.id(4), Self.id(5)])
            #expect(second.notGranted.map(\.pageID) == [Self.id(6), Self.id(7)])
            #expect(second.notGranted.map(\.name) == ["Acme Page 6", "Acme Page 7"])
            #expect(second.disconnected.isEmpty)
            let renamedLog = try await events(harness, Self.id(2))
            #expect(renamedLog.last?.kind == .renamed)
            #expect(renamedLog.last?.detail == "renamed from \"Acme Page 2\" to \"\(Self.renamed)\"")
            #expect(try await harness.page(Self.id(2))?.pageName == Self.renamed)
            #expect(try await events(harness, Self.id(3)).last?.kind == .renewed)
            #expect(try await harness.status(Self.id(3)) == .unknown)
            let renewedTarget = try await harness.workspace.database.checkTargets(
                pageIDs: [Self.id(3)], cipher: harness.workspace.cipher)
            #expect(renewedTarget.first?.token.reveal == Self.renewedToken)
            // Named, not touched: still watched with their old tokens.
            for number in [6, 7] {
                #expect(try await harness.status(Self.id(number)) == .valid)
                #expect(try await events(harness, Self.id(number)).last?.kind == .becameValid)
            }
            #expect(
                try await harness.workspace.database.checkTargets(pageIDs: nil, cipher: harness.workspace.cipher).count
                    == 7)

            // 3. The same login with disconnectMissing: 6 and 7 are disconnected and logged.
            let third = try await login(harness, graph, userToken: Self.secondLogin, disconnectMissing: true)
            #expect(third.summary.unchanged.sorted() == Array(ids.prefix(5)))
            #expect(third.notGranted.map(\.pageID) == [Self.id(6), Self.id(7)])
            #expect(third.disconnected == [Self.id(6), Self.id(7)])
            for number in [6, 7] {
                #expect(try await harness.status(Self.id(number)) == .disconnected)
                let last = try await events(harness, Self.id(number)).last
                #expect(last?.kind == .disconnected)
                #expect(last?.actor == "cli:tester")
                #expect(last?.detail?.hasPrefix("not granted again") == true, "\(String(describing: last?.detail))")
            }
            let watched = try await harness.workspace.database.checkTargets(
                pageIDs: nil, cipher: harness.workspace.cipher)
            #expect(watched.map(\.pageID).sorted() == Array(ids.prefix(5)))

            // A disconnected Page is no longer "not granted" the next time.
            let again = try await login(harness, graph, userToken: Self.secondLogin, disconnectMissing: true)
            #expect(again.notGranted.isEmpty && again.disconnected.isEmpty)

            // 4. Selecting them again in a login reconnects them with the token it hands out.
            let fourth = try await login(harness, graph, userToken: Self.firstLogin)
            #expect(fourth.summary.reconnected == [Self.id(6), Self.id(7)])
            #expect(try await harness.status(Self.id(6)) == .unknown)
        }
    }

    @Test func aUserTokenGraphDoesNotKnowChangesNothing() async throws {
        try await withHarness { harness, graph in
            harness.simulator.registerUser(token: Self.firstLogin, pages: Array(Self.pages.prefix(4)))
            _ = try await login(harness, graph, userToken: Self.firstLogin)
            let before = try await snapshot(harness)

            let error = await #expect(throws: (any Error).self) {
                _ = try await login(harness, graph, userToken: "EAAGuserTokenNobodyKnows999", disconnectMissing: true)
            }
            let rejected = try #require(error as? InputRejected, "got \(String(describing: error))")
            #expect(rejected.description.contains("code 190"), "\(rejected)")
            #expect(!rejected.description.contains("EAAGuserTokenNobodyKnows999"))
            #expect(try await snapshot(harness) == before)

            // An empty or broken token never reaches Graph.
            harness.simulator.resetStats()
            for bad in ["", "EAAG user token", "EAAGtoken\r\nX-Injected: 1", "EAAGtoken\u{7}"] {
                await #expect(throws: InputRejected.self) {
                    _ = try await login(harness, graph, userToken: bad, disconnectMissing: true)
                }
            }
            for company in ["", "  "] {
                let error = await #expect(throws: InputRejected.self) {
                    _ = try await login(harness, graph, userToken: Self.firstLogin, company: company)
                }
                #expect(error?.problems == ["--company is empty"])
            }
            #expect(harness.simulator.stats.httpRequests == 0)
            #expect(try await snapshot(harness) == before)
        }
    }

    @Test func aGrantedPageOfAnotherCompanyRejectsTheWholeLogin() async throws {
        try await withHarness { harness, graph in
            try await harness.seed([("2001", .valid)], company: "Beta", owners: [])
            try await harness.seed([("1001", .valid)], company: "Acme", owners: [])
            let before = try await snapshot(harness)
            harness.simulator.registerUser(
                token: Self.firstLogin,
                pages: [
                    SimulatedPage(id: "3001", name: "New Acme Page", accessToken: "EAAGpageTokenNew3001"),
                    SimulatedPage(id: "2001", name: "Beta Bot renamed", accessToken: "EAAGpageTokenStolen2001"),
                ])

            let error = await #expect(throws: InputRejected.self) {
                _ = try await login(harness, graph, userToken: Self.firstLogin, disconnectMissing: true)
            }
            #expect(error?.problems.count == 1)
            #expect(error?.problems.first?.contains("page ID 2001 already belongs to company \"Beta\"") == true)
            #expect(!(error?.description.contains("EAAGpageToken") ?? true))
            // Nothing written: no new page, Beta's page untouched, Acme's page not disconnected.
            #expect(try await snapshot(harness) == before)
            #expect(try await harness.page("3001") == nil)
        }
    }

    // MARK: The binary

    @Test func theBinaryConnectsWarnsAndDisconnectsWithoutShowingATokenOrReadingArgv() async throws {
        try await withHarness { harness, _ in
            let env = [
                "TOKENWATCH_DB": harness.configuration.databasePath,
                "TOKENWATCH_KEY_FILE": harness.configuration.keyFile,
                "TOKENWATCH_REPORTS_DIR": harness.configuration.reportsDirectory,
                "TOKENWATCH_GRAPH_URL": harness.simulator.baseURL,
                "TOKENWATCH_APP_ID": PipelineHarness.appID,
                "TOKENWATCH_APP_SECRET": PipelineHarness.appSecret,
            ]
            let secrets =
                [Self.firstLogin, Self.secondLogin, Self.renewedToken, PipelineHarness.appSecret]
                + Self.pages.map(\.accessToken)
            func connect(_ extra: [String] = [], stdin: String?) async throws -> TokenWatchBinary.Result {
                let result = try await TokenWatchBinary.run(
                    ["pages", "connect", "--company", "Acme", "--user-token-stdin"] + extra, environment: env,
                    stdin: stdin)
                for secret in secrets { #expect(!result.all.contains(secret), "a token leaked: \(result.all)") }
                return result
            }

            harness.simulator.registerUser(token: Self.firstLogin, pages: Self.pages)
            let first = try await connect(stdin: Self.firstLogin + "\n")
            #expect(first.status == 0, "\(first.all)")
            #expect(
                first.stdout.contains(
                    "connected from login: 7 added, 0 reconnected, 0 renewed, 0 renamed, 0 unchanged"), "\(first.all)")
            #expect(!first.stderr.contains("warning"), "\(first.stderr)")
            #expect(try await harness.workspace.database.pages(company: "Acme").count == 7)
            #expect(try await events(harness, Self.id(1)).first?.actor == "cli:tester")

            harness.simulator.registerUser(token: Self.secondLogin, pages: Self.secondLoginPages)
            let second = try await connect(stdin: Self.secondLogin)
            #expect(second.status == 0, "\(second.all)")
            #expect(
                second.stdout.contains(
                    "connected from login: 0 added, 0 reconnected, 1 renewed, 1 renamed, 3 unchanged"), "\(second.all)")
            let warnings = second.stderr.split(separator: "\n").filter { $0.contains("warning:") }
            #expect(warnings.count == 2, "\(second.stderr)")
            for number in [6, 7] {
                #expect(
                    warnings.contains {
                        $0.contains("page \(Self.id(number)) (Acme Page \(number))") && $0.contains("not granted again")
                    },
                    "\(second.stderr)")
            }
            #expect(!second.stdout.contains("disconnected"))
            #expect(try await harness.status(Self.id(6)) == .unknown)

            let third = try await connect(["--disconnect-missing"], stdin: Self.secondLogin)
            #expect(third.status == 0, "\(third.all)")
            for number in [6, 7] {
                #expect(
                    third.stdout.contains("disconnected \(Self.id(number)) (Acme Page \(number)): not granted again"),
                    "\(third.all)")
                #expect(try await harness.status(Self.id(number)) == .disconnected)
            }
            #expect(!third.stderr.contains("warning:"), "\(third.stderr)")

            // A user token Graph rejects: bad input, nothing written, the token not echoed.
            let before = try await snapshot(harness)
            let unknown = try await connect(stdin: "EAAGuserTokenNobodyKnows999")
            #expect(unknown.status == 65, "\(unknown.all)")
            #expect(unknown.stderr.contains("code 190"), "\(unknown.stderr)")
            #expect(!unknown.all.contains("EAAGuserTokenNobodyKnows999"))
            let empty = try await connect(stdin: "\n")
            #expect(empty.status == 65, "\(empty.all)")
            #expect(empty.stderr.contains("user token is empty"), "\(empty.stderr)")
            #expect(try await snapshot(harness) == before)
        }
    }

    @Test func misusedArgumentsExit64BeforeAnythingHappens() async throws {
        try await withHarness { harness, _ in
            let env = [
                "TOKENWATCH_DB": harness.configuration.databasePath,
                "TOKENWATCH_KEY_FILE": harness.configuration.keyFile,
                "TOKENWATCH_GRAPH_URL": harness.simulator.baseURL,
                "TOKENWATCH_APP_ID": PipelineHarness.appID,
                "TOKENWATCH_APP_SECRET": PipelineHarness.appSecret,
            ]
            harness.simulator.registerUser(token: Self.firstLogin, pages: Self.pages)
            let misuses: [[String]] = [
                ["--user-token-stdin", "--page-id", "1001"],
                ["--user-token-stdin", "--name", "Acme"],
                ["--user-token-stdin", "--token-file", "/dev/null"],
                ["--page-id", "1001", "--name", "Acme", "--disconnect-missing"],
            ]
            for misuse in misuses {
                let result = try await TokenWatchBinary.run(
                    ["pages", "connect", "--company", "Acme"] + misuse, environment: env, stdin: Self.firstLogin)
                #expect(result.status == 64, "\(misuse): \(result.all)")
                #expect(result.stderr.contains("Error:"), "\(result.stderr)")
                #expect(!result.all.contains(Self.firstLogin))
            }
            #expect(harness.simulator.stats.httpRequests == 0)
            #expect(try await harness.workspace.database.pages().isEmpty)
        }
    }

    @Test func aLoginGrantingNothingNeverDisconnectsTheWholeCompany() async throws {
        try await withHarness { harness, graph in
            harness.simulator.registerUser(token: Self.firstLogin, pages: Self.pages)
            _ = try await login(harness, graph, userToken: Self.firstLogin)
            harness.simulator.registerUser(token: "EAAUnticked-everything", pages: [])
            await #expect(throws: InputRejected.self) {
                _ = try await login(harness, graph, userToken: "EAAUnticked-everything", disconnectMissing: true)
            }
            #expect(try await harness.workspace.database.pages(status: .disconnected).isEmpty)
            let warnedOnly = try await login(harness, graph, userToken: "EAAUnticked-everything")
            #expect(warnedOnly.notGranted.count == Self.pages.count)
        }
    }
}
