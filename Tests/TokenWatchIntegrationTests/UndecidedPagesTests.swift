import Foundation
import GraphSimulator
import Testing

@testable import TokenWatchModel
@testable import TokenWatchStore

/// Issue #11, item 1: a page the run asked about but could not decide keeps its status and is
/// shown as not confirmed — in the report, `pages list`, the metrics and one warning that
/// survives `-q` — and a Graph that no TLS handshake can reach is a configuration error.
@Suite("Undecided pages are visible (binary)", .serialized)
struct UndecidedPagesTests {
    @Test func anOutageIsVisibleEverywhereEvenUnderQuiet() async throws {
        let harness = try await PipelineHarness()
        try await harness.seed([("81001", .valid), ("81002", .valid), ("81003", .valid)])
        _ = try await harness.check()
        #expect(try await harness.workspace.database.pages(status: .valid).count == 3)
        let metrics = harness.directory.file("outage.prom")
        // Graph refuses every connection: a closed loopback port.
        let closed = try SilentListener.closedPort()
        let env = harness.binaryEnvironment([
            "TOKENWATCH_GRAPH_URL": "http://127.0.0.1:\(closed)", "TOKENWATCH_HTTP_TIMEOUT": "2",
        ])
        let run = try await TokenWatchBinary.run(["check", "-q", "--metrics-file", metrics], environment: env)
        let list = try await TokenWatchBinary.run(["pages", "list", "--unconfirmed"], environment: env)
        let json = try await TokenWatchBinary.run(["pages", "list", "--format", "json"], environment: env)
        await harness.stop()

        #expect(run.status == 75, "\(run.all)")
        // One warning that names the cause, printed although -q hides info lines.
        let warnings = run.stderr.split(separator: "\n").filter { $0.contains("pages not confirmed in this run") }
        #expect(warnings.count == 1, "\(run.stderr)")
        #expect(warnings.first?.contains("Graph API unreachable") == true, "\(run.stderr)")
        #expect(warnings.first?.contains("3 of 3 pages") == true)
        // The pages keep their status, and say they were not confirmed.
        #expect(try await harness.workspace.database.pages(status: .valid).count == 3)
        #expect(list.stdout.contains("81001") && list.stdout.contains("not confirmed by the last check"), "\(list.all)")
        #expect(json.stdout.contains("\"unconfirmed\" : true"))
        let html = try String(
            contentsOfFile: harness.configuration.reportsDirectory + "/latest.html", encoding: .utf8)
        #expect(html.components(separatedBy: "Not confirmed in this run: Graph API unreachable").count - 1 == 3)
        #expect(html.contains(#"<span class="n">3</span> <span class="label">Not confirmed</span>"#))
        let exposition = try String(contentsOfFile: metrics, encoding: .utf8)
        #expect(exposition.contains("\ntokenwatch_pages_undecided 3\n"), "\(exposition)")
        #expect(exposition.contains("tokenwatch_pages{status=\"valid\"} 3\n"))
    }

    /// A Graph that answers slowly, or with 500s that invite retries, cannot hold a run past
    /// TOKENWATCH_RUN_TIMEOUT plus one request in flight: the rest is "not checked".
    @Test func aSlowOrFailingGraphCannotHoldARunPastItsTimeout() async throws {
        let harness = try await PipelineHarness()
        try await harness.seed((1...60).map { (String(83_000 + $0), TokenBehaviour.valid) })
        let env = harness.binaryEnvironment([
            "TOKENWATCH_RUN_TIMEOUT": "3", "TOKENWATCH_HTTP_TIMEOUT": "2", "TOKENWATCH_BATCH_SIZE": "1",
            "TOKENWATCH_CONCURRENCY": "1",
        ])
        for fault in [GraphFault.latency(milliseconds: 1500), .outage] {
            harness.simulator.clearFaults()
            harness.simulator.setFault(fault)
            let started = ContinuousClock.now
            let run = try await TokenWatchBinary.run(["check", "--no-email"], environment: env)
            let elapsed = ContinuousClock.now - started
            #expect(run.status == 75, "\(fault): \(run.all)")
            // 3 s of run time, one 2 s request in flight, and the process's own start and end.
            #expect(elapsed < .seconds(7), "\(fault): took \(elapsed)")
            #expect(run.stdout.contains("not checked"), "\(fault): \(run.stdout)")
        }
        await harness.stop()
        #expect(try await harness.workspace.database.pages(status: .invalid).isEmpty)
    }

    @Test func aGraphThatFailsEveryTLSHandshakeIsAConfigurationError() async throws {
        let server = try await TLSTestServer.start()
        let harness = try await PipelineHarness()
        try await harness.seed([("82001", .valid), ("82002", .valid)])
        // The server's certificate is self-signed and no TOKENWATCH_CA_FILE trusts it.
        let run = try await TokenWatchBinary.run(
            ["check"], environment: harness.binaryEnvironment(["TOKENWATCH_GRAPH_URL": server.baseURL]))
        await harness.stop()
        await server.stop()
        #expect(run.status == 78, "\(run.all)")
        #expect(run.stdout.contains("TOKENWATCH_CA_FILE"), "\(run.stdout)")
        #expect(try await harness.workspace.database.pages(status: .unknown).count == 2)
    }
}
