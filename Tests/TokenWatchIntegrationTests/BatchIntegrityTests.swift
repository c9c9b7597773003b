import Foundation
import GraphSimulator
import Logging
import Testing

@testable import TokenWatchGraph
@testable import TokenWatchHTTP
@testable import TokenWatchModel

/// A batch answer is believed only when it is HTTP 200, has one item per token sent and no
/// item names another page of the same batch (SPEC.md step 4). Against a server that
/// reorders, drops or adds items, or redirects with the batch array as its body, the built
/// binary turns no page invalid and emails no one: the pages are undecided.
@Suite("Batch integrity (binary)")
struct BatchIntegrityTests {
    static let pages = (1...4).map { "\(7_700_000 + $0)" }

    /// Four pages checked valid by a healthy Graph, then a `check` against `fault`.
    func checkAfterValidRun(against fault: GraphFault) async throws -> (
        result: TokenWatchBinary.Result, harness: PipelineHarness
    ) {
        let harness = try await PipelineHarness()
        try await harness.seed(Self.pages.map { ($0, TokenBehaviour.valid) })
        let env = [
            "TOKENWATCH_DB": harness.configuration.databasePath, "TOKENWATCH_KEY_FILE": harness.configuration.keyFile,
            "TOKENWATCH_REPORTS_DIR": harness.configuration.reportsDirectory,
            "TOKENWATCH_GRAPH_URL": harness.simulator.baseURL,
            "TOKENWATCH_APP_ID": PipelineHarness.appID,
            "TOKENWATCH_APP_SECRET": PipelineHarness.appSecret,
            "TOKENWATCH_SMTP_URL": harness.configuration.smtpURL ?? "",
            "TOKENWATCH_MAIL_FROM": "tokenwatch@platform.example",
        ]
        let healthy = try await TokenWatchBinary.run(["check"], environment: env)
        #expect(healthy.status == 0, "\(healthy.all)")
        #expect(healthy.stdout.contains("4 valid, 0 invalid"), "\(healthy.all)")
        harness.simulator.setFault(fault)
        harness.simulator.resetStats()
        let result = try await TokenWatchBinary.run(["check"], environment: env)
        await harness.stop()
        return (result, harness)
    }

    func expectUndecidedAndSilent(
        _ fault: GraphFault, sourceLocation: SourceLocation = #_sourceLocation
    ) async throws {
        let (result, harness) = try await checkAfterValidRun(against: fault)
        #expect(result.status == 75, "\(fault): \(result.all)", sourceLocation: sourceLocation)
        #expect(
            result.stdout.contains("0 valid, 0 invalid (0 new), 4 undecided"), "\(fault): \(result.all)",
            sourceLocation: sourceLocation)
        // Retried (bounded), never believed.
        #expect(harness.simulator.stats.batchRequests == 3, "\(fault)", sourceLocation: sourceLocation)
        for pageID in Self.pages {
            let page = try #require(try await harness.page(pageID), sourceLocation: sourceLocation)
            #expect(page.status == .valid, "\(fault) \(pageID)", sourceLocation: sourceLocation)
            #expect(page.lastCheckError?.isEmpty == false, "\(fault) \(pageID)", sourceLocation: sourceLocation)
        }
        #expect(harness.mailFiles.isEmpty, "\(fault): a digest was sent", sourceLocation: sourceLocation)
        #expect(
            try await harness.workspace.database.outboxCounts().staged == 0, sourceLocation: sourceLocation)
    }

    @Test func itemsInReverseOrderAreNotBelieved() async throws {
        try await expectUndecidedAndSilent(.reversedItems)
    }

    @Test func anAnswerMissingAnItemIsNotBelieved() async throws {
        try await expectUndecidedAndSilent(.missingItem)
    }

    @Test func anAnswerWithAnExtraItemIsNotBelieved() async throws {
        try await expectUndecidedAndSilent(.extraItem)
    }

    @Test func aRedirectWithABatchBodyIsNotBelieved() async throws {
        try await expectUndecidedAndSilent(.redirect)
    }

    /// The redirect fault really is a 302 carrying the whole JSON array, and the client
    /// refuses it for its status alone.
    @Test func theClientRefusesA302EvenWithAWellFormedBatchBody() async throws {
        let graph = GraphSimulator(appID: PipelineHarness.appID, appSecret: PipelineHarness.appSecret)
        try await graph.start()
        graph.setFault(.redirect)
        let tokens = Self.pages.map { Secret(GraphSimulator.token(.valid, page: $0)) }
        let raw: HTTPResponse
        let outcome: Result<DebugTokenBatch, GraphClientError>
        do {
            (raw, outcome) = try await withCurlLoop { loop in
                let http = CurlHTTPClient(loop: loop)
                let client = GraphAPIClient(
                    baseURL: graph.baseURL, version: "v25.0",
                    appToken: Secret("\(PipelineHarness.appID)|\(PipelineHarness.appSecret)"),
                    appSecret: Secret(PipelineHarness.appSecret), http: http, timeoutSeconds: 10,
                    logger: .init(label: "test"))
                let raw = try await http.send(
                    HTTPRequest(
                        method: "POST", url: graph.baseURL + "/v25.0/",
                        headers: [("Content-Type", "application/x-www-form-urlencoded")],
                        body: Array(client.batchForm(tokens).utf8)))
                do {
                    return (raw, .success(try await client.debugTokens(tokens)))
                } catch let error as GraphClientError {
                    return (raw, .failure(error))
                }
            }
        } catch {
            await graph.stop()
            throw error
        }
        await graph.stop()
        #expect(raw.status == 302)
        #expect(raw.header("location")?.isEmpty == false)
        let array = try JSONSerialization.jsonObject(with: Data(raw.body)) as? [Any]
        #expect(array?.count == 4)
        guard case .failure(.malformed(302, _)) = outcome else {
            Issue.record("a 302 was believed: \(outcome)")
            return
        }
    }
}
