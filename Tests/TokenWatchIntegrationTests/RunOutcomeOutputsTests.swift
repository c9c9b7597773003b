import Foundation
import GraphSimulator
import Testing

@testable import TokenWatchModel
@testable import TokenWatchStore

/// Issue #10's acceptance tests for the run outcome (SPEC.md "What check does", steps 5–8):
/// the built `tokenwatch check` against the simulator and a real SMTP server. Whatever ends a
/// run in part — Graph unreachable, mail refused, a held wave, a wave a kill interrupted — the
/// report, the metrics file, the run record and the summary line all say the same exit code
/// and why, and a run that sent digests says who was notified.
@Suite("Run outcome in every output (binary)", .serialized)
struct RunOutcomeOutputsTests {
    /// What each output of one run says.
    struct Outputs {
        var result: TokenWatchBinary.Result
        var html: String
        var metrics: String
        var recordedExitCode: Int32?
    }

    /// Runs `tokenwatch check` with a metrics file and reads back everything it wrote.
    func check(
        _ harness: PipelineHarness, smtpURL: String? = nil, extra: [String: String] = [:]
    ) async throws -> Outputs {
        let metricsFile = harness.directory.file("run.prom")
        try? FileManager.default.removeItem(atPath: metricsFile)
        let result = try await TokenWatchBinary.run(
            ["check", "--metrics-file", metricsFile],
            environment: harness.binaryEnvironment(smtpURL: smtpURL, extra), timeoutSeconds: 60)
        let html =
            (try? String(contentsOfFile: harness.configuration.reportsDirectory + "/latest.html", encoding: .utf8))
            ?? ""
        let metrics = (try? String(contentsOfFile: metricsFile, encoding: .utf8)) ?? ""
        let recorded = try await harness.workspace.database.lastRun()?.exitCode
        return Outputs(result: result, html: html, metrics: metrics, recordedExitCode: recorded)
    }

    /// The report, the metrics, the run record and the summary all say 75 and `reason`; none
    /// says the run completed.
    func expectSaysPartial(
        _ outputs: Outputs, reason: String, sourceLocation: SourceLocation = #_sourceLocation
    ) {
        let result = outputs.result
        #expect(result.status == 75, "\(result.all)", sourceLocation: sourceLocation)
        #expect(result.stdout.contains("exit 75"), "\(result.stdout)", sourceLocation: sourceLocation)
        #expect(result.stdout.contains(reason), "\(result.stdout)", sourceLocation: sourceLocation)
        #expect(outputs.html.contains("exit code 75"), sourceLocation: sourceLocation)
        #expect(outputs.html.contains(reason), "report lacks “\(reason)”", sourceLocation: sourceLocation)
        #expect(!outputs.html.contains("completed, exit code 0"), sourceLocation: sourceLocation)
        #expect(
            outputs.metrics.contains("\ntokenwatch_last_run_exit_code 75\n"), "\(outputs.metrics)",
            sourceLocation: sourceLocation)
        #expect(!outputs.metrics.contains("tokenwatch_last_run_exit_code 0"), sourceLocation: sourceLocation)
        #expect(outputs.recordedExitCode == 75, sourceLocation: sourceLocation)
    }

    /// Why a run ends in part.
    enum PartialCause: String, CaseIterable, CustomTestStringConvertible {
        case graphUnreachable, smtpRefusesWith4xx, smtpUnreachable, digestsHeld
        var testDescription: String { rawValue }
    }

    @Test(arguments: PartialCause.allCases)
    func aRunThatEndsInPartSays75Everywhere(_ cause: PartialCause) async throws {
        let harness = try await PipelineHarness()
        var sink: SMTPTestServer?
        let outputs: Outputs
        let reason: String
        switch cause {
        case .graphUnreachable:
            try await harness.seed([("51001", .valid), ("51002", .passwordChanged)])
            let closed = try SilentListener.closedPort()
            outputs = try await check(harness, extra: ["TOKENWATCH_GRAPH_URL": "http://127.0.0.1:\(closed)"])
            reason = "2 pages not confirmed in this run"
            #expect(try await harness.status("51002") == .unknown)
        case .smtpRefusesWith4xx:
            sink = try await SMTPTestServer.start(refuseRCPT: 100)
            try await harness.seed([("52001", .valid), ("52002", .passwordChanged)])
            outputs = try await check(harness, smtpURL: sink?.url)
            reason = "1 notifications pending"
            #expect(try sink?.receivedMessages().isEmpty == true)
        case .smtpUnreachable:
            try await harness.seed([("53001", .valid), ("53002", .passwordChanged)])
            let closed = try SilentListener.closedPort()
            outputs = try await check(harness, smtpURL: "smtp://127.0.0.1:\(closed)")
            reason = "the mail server could not be reached"
        case .digestsHeld:
            sink = try await SMTPTestServer.start()
            let ids = (1...30).map { String(54_000 + $0) }
            try await harness.seed(ids.map { ($0, TokenBehaviour.valid) })
            _ = try await harness.check()
            for id in ids.prefix(25) {
                harness.simulator.register(
                    token: GraphSimulator.token(.valid, page: id, suffix: "t"), as: .passwordChanged, page: id)
            }
            outputs = try await check(harness, smtpURL: sink?.url)
            reason = "mass invalidation"
            #expect(outputs.result.stdout.contains("MASS INVALIDATION"))
            #expect(outputs.html.contains("Mass invalidation: 25 of the 30 pages"))
            #expect(try sink?.receivedMessages().isEmpty == true)
            #expect(try await harness.workspace.database.outboxCounts().held == 25)
        }
        await harness.stop()
        await sink?.stop()
        expectSaysPartial(outputs, reason: reason)
    }

    @Test func aRunThatSendsDigestsNamesWhoWasNotified() async throws {
        let sink = try await SMTPTestServer.start()
        let harness = try await PipelineHarness()
        try await harness.seed(
            [("61001", .passwordChanged), ("61002", .valid)], owners: ["owner@acme.example", "cto@acme.example"])
        let outputs = try await check(harness, smtpURL: sink.url)
        await harness.stop()
        #expect(outputs.result.status == 0, "\(outputs.result.all)")
        #expect(outputs.result.stdout.contains("digests: 2 sent"))
        #expect(outputs.html.contains("completed, exit code 0"))
        #expect(outputs.metrics.contains("\ntokenwatch_last_run_exit_code 0\n"))
        #expect(try sink.messagesPerRecipient() == ["owner@acme.example": 1, "cto@acme.example": 1])
        await sink.stop()
        // One note, in the row of the page that was emailed about, naming both Owners.
        #expect(outputs.html.ranges(of: "Owners notified: ").count == 1)
        let rows = outputs.html.components(separatedBy: "<tbody")
        let emailed = try #require(rows.first { $0.contains(#"<td class="id">61001</td>"#) })
        let note = try #require(
            emailed.range(of: "Owners notified: ").map { emailed[$0.upperBound...].prefix { $0 != "<" } })
        #expect(note.contains("owner@acme.example") && note.contains("cto@acme.example"), "\(note)")
        let valid = try #require(rows.first { $0.contains(#"<td class="id">61002</td>"#) })
        #expect(!valid.contains("Owners notified"))
        #expect(!outputs.html.contains("Digest not sent yet"))
    }

    @Test func aWaveInterruptedByAKillIsHeldWhenTheRerunFinishesIt() async throws {
        let sink = try await SMTPTestServer.start()
        let harness = try await PipelineHarness()
        let ids = (1...40).map { String(71_000 + $0) }
        try await harness.seed(ids.map { ($0, TokenBehaviour.valid) }, owners: ["a@acme.example", "b@acme.example"])
        _ = try await harness.check()
        #expect(try await harness.workspace.database.pages(status: .valid).count == 40)
        for id in ids {
            harness.simulator.register(
                token: GraphSimulator.token(.valid, page: id, suffix: "t"), as: .passwordChanged, page: id)
        }
        // 40 of 40 trips the guard; a run that finds fewer than 30 alone would not.
        let guardSettings = ["TOKENWATCH_MASS_INVALID_MIN": "30", "TOKENWATCH_MASS_INVALID_PERCENT": "50"]
        let killedAfter = 12

        // A slow run, two pages a batch, killed once some batches are committed.
        harness.simulator.setFault(.latency(milliseconds: 150))
        let slow = try await TokenWatchBinary.start(
            ["check", "--batch-size", "2", "--concurrency", "1", "-q"],
            environment: harness.binaryEnvironment(smtpURL: sink.url, guardSettings), timeoutSeconds: 60)
        let committed = try await eventually(within: 30) {
            try await harness.workspace.database.pages(status: .invalid).count >= killedAfter
        }
        slow.send(SIGTERM)
        let killed = try await slow.result()
        #expect(committed, "the first run committed too little: \(killed.all)")
        // SIGTERM stops the run in order (SPEC step 9): the batch in flight commits, the report
        // and metrics are written, exit 75 — and the staged notifications wait for the next run.
        #expect(killed.status == 75 && !killed.signalled, "\(killed.all)")
        #expect(killed.all.contains("SIGTERM received"), "\(killed.all)")
        #expect(killed.stdout.contains("stopped by a signal"), "\(killed.stdout)")
        let stoppedReport = try String(
            contentsOfFile: harness.configuration.reportsDirectory + "/latest.html", encoding: .utf8)
        #expect(stoppedReport.contains("exit code 75"))
        #expect(stoppedReport.contains("stopped by a signal"))
        let decided = try await harness.workspace.database.pages(status: .invalid).count
        #expect(decided >= killedAfter && decided < 40, "\(decided) pages decided before the kill")
        #expect(try await harness.workspace.database.outboxCounts().staged == 2 * decided)
        #expect(try sink.receivedMessages().isEmpty)

        // The rerun finishes the wave: fewer than 30 pages are its own, the wave is all 40.
        harness.simulator.clearFaults()
        let rerun = try await check(harness, smtpURL: sink.url, extra: guardSettings)
        await harness.stop()
        #expect(rerun.result.stdout.contains("40 invalid (\(40 - decided) new)"), "\(rerun.result.stdout)")
        #expect(rerun.result.stdout.contains("MASS INVALIDATION"))
        expectSaysPartial(rerun, reason: "mass invalidation")
        #expect(rerun.html.contains("Mass invalidation: 40 of the 40 pages"))
        #expect(rerun.html.contains("Digest held by the mass-invalidation guard for: a@acme.example, b@acme.example."))
        // Held is counted in notifications (a page for an Owner), as the README says.
        #expect(rerun.metrics.contains("tokenwatch_mail_digests{outcome=\"held\"} 80\n"), "\(rerun.metrics)")

        let counts = try await harness.workspace.database.outboxCounts()
        #expect(counts.held == 80)
        #expect(counts.staged == 0 && counts.pending == 0 && counts.sent == 0)
        #expect(try sink.receivedMessages().isEmpty)
        await sink.stop()
        for id in [ids[0], ids[39]] {
            let (_, events) = try await harness.workspace.database.pageLog(pageID: id)
            #expect(events.map(\.kind).contains(.notificationHeld), "page \(id)")
            #expect(!events.map(\.kind).contains(.ownerNotified), "page \(id)")
        }
    }
}
