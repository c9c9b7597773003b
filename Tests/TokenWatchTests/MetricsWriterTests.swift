import Foundation
import Testing
import TokenWatchTestSupport

@testable import TokenWatchMail
@testable import TokenWatchModel
@testable import TokenWatchReports

@Suite struct MetricsWriterTests {
    /// 2026-11-29T04:29:10Z
    static let finished = Date(timeIntervalSince1970: 1_795_926_550.75)

    static let sample = RunMetrics(
        pagesByStatus: [.valid: 4810, .invalid: 153, .unknown: 30, .disconnected: 7],
        newlyInvalid: 12, unchecked: 30, undecided: 4, expiring: 41,
        graphRequests: [.ok: 100, .error: 2, .rateLimited: 1],
        mailDigests: [.sent: 9, .pending: 1],
        runDuration: 12.3456, finishedAt: finished, exitCode: 0)

    static func expected(lastSuccess: String?, exitCode: Int) -> String {
        var text = """
            # HELP tokenwatch_build_info Always 1; the running TokenWatch version as a label.
            # TYPE tokenwatch_build_info gauge
            tokenwatch_build_info{version="\(TokenWatchVersion.current)"} 1
            # HELP tokenwatch_pages Pages per status after the last check run.
            # TYPE tokenwatch_pages gauge
            tokenwatch_pages{status="valid"} 4810
            tokenwatch_pages{status="invalid"} 153
            tokenwatch_pages{status="unknown"} 30
            tokenwatch_pages{status="disconnected"} 7
            # HELP tokenwatch_pages_newly_invalid Pages that became invalid in the last check run.
            # TYPE tokenwatch_pages_newly_invalid gauge
            tokenwatch_pages_newly_invalid 12
            # HELP tokenwatch_pages_unchecked Pages the last check run did not reach (rate limit, deadline).
            # TYPE tokenwatch_pages_unchecked gauge
            tokenwatch_pages_unchecked 30
            # HELP tokenwatch_pages_undecided Pages the last check run asked about but could not decide (outage, malformed answer).
            # TYPE tokenwatch_pages_undecided gauge
            tokenwatch_pages_undecided 4
            # HELP tokenwatch_pages_expiring Pages flagged expiring: the token or its data access ends soon.
            # TYPE tokenwatch_pages_expiring gauge
            tokenwatch_pages_expiring 41
            # HELP tokenwatch_graph_requests HTTP requests to the Graph API in the last check run, by outcome.
            # TYPE tokenwatch_graph_requests gauge
            tokenwatch_graph_requests{outcome="ok"} 100
            tokenwatch_graph_requests{outcome="error"} 2
            tokenwatch_graph_requests{outcome="rate_limited"} 1
            tokenwatch_graph_requests{outcome="timeout"} 0
            # HELP tokenwatch_mail_digests Owner digests by outcome after the last check run.
            # TYPE tokenwatch_mail_digests gauge
            tokenwatch_mail_digests{outcome="sent"} 9
            tokenwatch_mail_digests{outcome="failed"} 0
            tokenwatch_mail_digests{outcome="pending"} 1
            tokenwatch_mail_digests{outcome="held"} 0
            # HELP tokenwatch_run_duration_seconds Wall time of the last check run.
            # TYPE tokenwatch_run_duration_seconds gauge
            tokenwatch_run_duration_seconds 12.346
            # HELP tokenwatch_last_run_timestamp_seconds Unix time the last check run ended.
            # TYPE tokenwatch_last_run_timestamp_seconds gauge
            tokenwatch_last_run_timestamp_seconds 1795926550

            """
        if let lastSuccess {
            text += """
                # HELP tokenwatch_last_success_timestamp_seconds Unix time of the last check run that exited 0.
                # TYPE tokenwatch_last_success_timestamp_seconds gauge
                tokenwatch_last_success_timestamp_seconds \(lastSuccess)

                """
        }
        text += """
            # HELP tokenwatch_last_run_exit_code Exit code of the last check run: 0 complete, 75 partial, 78 configuration error.
            # TYPE tokenwatch_last_run_exit_code gauge
            tokenwatch_last_run_exit_code \(exitCode)

            """
        return text
    }

    @Test func rendersTheExactExposition() throws {
        let dir = try OpsScratchDirectory()
        let writer = MetricsWriter(path: dir.path + "/tokenwatch.prom")
        let written = try writer.write(Self.sample)
        #expect(written == Self.expected(lastSuccess: "1795926550", exitCode: 0))
        #expect(try String(contentsOfFile: writer.path, encoding: .utf8) == written)
        let mode = try FileManager.default.attributesOfItem(atPath: writer.path)[.posixPermissions] as? Int
        #expect(mode == 0o644)
        #expect(try dir.contents() == ["tokenwatch.prom"])  // no temporary file left behind
    }

    @Test func aFailedRunCarriesTheLastSuccessOverFromThePreviousFile() throws {
        let dir = try OpsScratchDirectory()
        let writer = MetricsWriter(path: dir.path + "/tokenwatch.prom")
        var success = Self.sample
        success.finishedAt = Date(timeIntervalSince1970: 1_795_920_000)
        try writer.write(success)

        var partial = Self.sample
        partial.exitCode = 75
        #expect(try writer.write(partial) == Self.expected(lastSuccess: "1795920000", exitCode: 75))
        // And again: the carried value survives a second failure.
        partial.exitCode = 78
        #expect(try writer.write(partial) == Self.expected(lastSuccess: "1795920000", exitCode: 78))
        // An older fallback does not win over the file; a newer one does.
        #expect(
            try writer.write(partial, lastSuccessFallback: Date(timeIntervalSince1970: 1_700_000_000))
                == Self.expected(lastSuccess: "1795920000", exitCode: 78))
        #expect(
            try writer.write(partial, lastSuccessFallback: Date(timeIntervalSince1970: 1_795_925_000.9))
                == Self.expected(lastSuccess: "1795925000", exitCode: 78))
    }

    @Test func withoutAPreviousFileTheFallbackIsUsedOrTheFamilyLeftOut() throws {
        let dir = try OpsScratchDirectory()
        let writer = MetricsWriter(path: dir.path + "/tokenwatch.prom")
        var failed = Self.sample
        failed.exitCode = 1
        #expect(
            try writer.write(failed, lastSuccessFallback: Date(timeIntervalSince1970: 1_795_900_000))
                == Self.expected(lastSuccess: "1795900000", exitCode: 1))
        try FileManager.default.removeItem(atPath: writer.path)
        #expect(try writer.write(failed) == Self.expected(lastSuccess: nil, exitCode: 1))
        // The file written without the family carries nothing over either.
        #expect(try writer.write(failed) == Self.expected(lastSuccess: nil, exitCode: 1))
    }

    @Test func parsesTheLastSuccessFromAnExposition() {
        #expect(MetricsWriter.lastSuccessTimestamp(in: "tokenwatch_last_success_timestamp_seconds 17\n") == 17)
        #expect(
            MetricsWriter.lastSuccessTimestamp(
                in:
                    "# HELP tokenwatch_last_success_timestamp_seconds x\ntokenwatch_last_success_timestamp_seconds{} 1.7e9 123\n"
            ) == 1.7e9)
        #expect(MetricsWriter.lastSuccessTimestamp(in: "tokenwatch_last_success_timestamp_seconds_x 17\n") == nil)
        #expect(MetricsWriter.lastSuccessTimestamp(in: "tokenwatch_last_success_timestamp_seconds NaN\n") == nil)
        #expect(MetricsWriter.lastSuccessTimestamp(in: "garbage") == nil)
    }

    @Test func formatsNumbersThePrometheusWay() {
        #expect(MetricsWriter.format(3) == "3")
        #expect(MetricsWriter.format(0) == "0")
        #expect(MetricsWriter.format(12.5) == "12.5")
        #expect(MetricsWriter.format(.infinity) == "+Inf")
        #expect(MetricsWriter.format(.nan) == "NaN")
    }

    @Test func anUnwritableDirectoryIsReported() {
        let writer = MetricsWriter(path: "/nonexistent-dir/tokenwatch.prom")
        #expect(
            throws: MetricsError.cannotWrite(
                path: "/nonexistent-dir/tokenwatch.prom", reason: "No such file or directory")
        ) {
            try writer.write(Self.sample)
        }
    }

    static let promtool = ["/usr/bin/promtool", "/usr/local/bin/promtool"].first {
        FileManager.default.isExecutableFile(atPath: $0)
    }

    /// promtool (Debian's `prometheus` package) parses and lints the output.
    @Test(.enabled(if: promtool != nil, "promtool is not installed (apt-get install prometheus)"))
    func promtoolAcceptsTheOutput() async throws {
        for lastSuccess in [Optional(1_795_926_550.0), nil] {
            var metrics = Self.sample
            metrics.exitCode = lastSuccess == nil ? 75 : 0
            let text = MetricsWriter.render(metrics, lastSuccess: lastSuccess)
            let promtool = try await ExternalProgram.run(
                [Self.promtool ?? "promtool", "check", "metrics"], input: Data(text.utf8))
            let report = String(decoding: promtool.output, as: UTF8.self) + promtool.errorText
            #expect(promtool.status == 0, "promtool: \(report)")
            #expect(report.isEmpty, "promtool: \(report)")
        }
    }
}
