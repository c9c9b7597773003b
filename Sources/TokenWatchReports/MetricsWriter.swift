import Foundation
import TokenWatchModel
import TokenWatchSystem

/// Writes a run's `RunMetrics` as a Prometheus text-format file (exposition format 0.0.4) for
/// node_exporter's textfile collector: exactly SPEC.md's families, all gauges, each with
/// `# HELP` and `# TYPE`, in a fixed order, replaced atomically (mode 0644).
///
/// Hand-written rather than swift-prometheus: its registry emits families in dictionary order
/// (a different order every process, so no golden-file tests and noisy diffs), prints every
/// value as a Swift `Double` (`3.0`), traps on conflicting registrations, and is built for a
/// long-lived scrape endpoint, not a one-shot file; ten static gauges do not need it.
///
/// `tokenwatch_last_success_timestamp_seconds` is the run's end when it exited 0; otherwise it
/// is carried over from the file being replaced, or from a fallback (the database's last
/// successful run) — the later of the two — and left out only when neither is known.
public struct MetricsWriter: Sendable {
    /// The metrics file, e.g. `/var/lib/node_exporter/textfile_collector/tokenwatch.prom`.
    public let path: String

    /// A writer for one file.
    public init(path: String) {
        self.path = path
    }

    /// Renders `metrics` and replaces the file atomically.
    /// - Parameter lastSuccessFallback: when the last successful run ended, if the caller knows
    ///   it from elsewhere (the database); used when this run did not exit 0.
    /// - Returns: the text written.
    @discardableResult
    public func write(_ metrics: RunMetrics, lastSuccessFallback: Date? = nil) throws(MetricsError) -> String {
        let text = Self.render(metrics, lastSuccess: lastSuccess(for: metrics, fallback: lastSuccessFallback))
        do {
            try AtomicFile.replace(path, with: Array(text.utf8), mode: .exact(0o644))
        } catch {
            throw .cannotWrite(path: path, reason: error.reason)
        }
        return text
    }

    /// The last-success time to export for this run: its own end when it exited 0, else the
    /// later of the previous file's value and the fallback.
    func lastSuccess(for metrics: RunMetrics, fallback: Date?) -> Double? {
        if metrics.exitCode == 0 { return Self.wholeSeconds(metrics.finishedAt) }
        let previous = (try? readFile(path, limit: 1 << 20)).flatMap {
            Self.lastSuccessTimestamp(in: String(decoding: $0, as: UTF8.self))
        }
        let fromFallback = fallback.map(Self.wholeSeconds)
        switch (previous, fromFallback) {
        case (let p?, let f?): return max(p, f)
        case (let p?, nil): return p
        case (nil, let f?): return f
        case (nil, nil): return nil
        }
    }

    /// The exposition text. `lastSuccess` is Unix seconds, or nil to leave that family out.
    public static func render(_ metrics: RunMetrics, lastSuccess: Double?) -> String {
        var out = ""
        func family(_ name: String, _ help: String) {
            out += "# HELP \(name) \(escapeHelp(help))\n# TYPE \(name) gauge\n"
        }
        func sample(_ name: String, _ value: Double) {
            out += name + " " + format(value) + "\n"
        }
        func sample(_ name: String, _ label: (key: String, value: String), _ value: Double) {
            out += name + "{\(label.key)=\"\(escapeLabel(label.value))\"} " + format(value) + "\n"
        }

        family("tokenwatch_build_info", "Always 1; the running TokenWatch version as a label.")
        sample("tokenwatch_build_info", ("version", TokenWatchVersion.current), 1)
        family("tokenwatch_pages", "Pages per status after the last check run.")
        for status in [PageStatus.valid, .invalid, .unknown, .disconnected] {
            sample("tokenwatch_pages", ("status", status.rawValue), Double(metrics.pagesByStatus[status] ?? 0))
        }
        family("tokenwatch_pages_newly_invalid", "Pages that became invalid in the last check run.")
        sample("tokenwatch_pages_newly_invalid", Double(metrics.newlyInvalid))
        family("tokenwatch_pages_unchecked", "Pages the last check run did not reach (rate limit, deadline).")
        sample("tokenwatch_pages_unchecked", Double(metrics.unchecked))
        family(
            "tokenwatch_pages_undecided",
            "Pages the last check run asked about but could not decide (outage, malformed answer).")
        sample("tokenwatch_pages_undecided", Double(metrics.undecided))
        family("tokenwatch_pages_expiring", "Pages flagged expiring: the token or its data access ends soon.")
        sample("tokenwatch_pages_expiring", Double(metrics.expiring))
        family("tokenwatch_graph_requests", "HTTP requests to the Graph API in the last check run, by outcome.")
        for outcome in RunMetrics.GraphOutcome.allCases {
            sample(
                "tokenwatch_graph_requests", ("outcome", outcome.rawValue), Double(metrics.graphRequests[outcome] ?? 0))
        }
        family("tokenwatch_mail_digests", "Owner digests by outcome after the last check run.")
        for outcome in RunMetrics.DigestOutcome.allCases {
            sample("tokenwatch_mail_digests", ("outcome", outcome.rawValue), Double(metrics.mailDigests[outcome] ?? 0))
        }
        family("tokenwatch_run_duration_seconds", "Wall time of the last check run.")
        sample("tokenwatch_run_duration_seconds", (metrics.runDuration * 1000).rounded() / 1000)
        family("tokenwatch_last_run_timestamp_seconds", "Unix time the last check run ended.")
        sample("tokenwatch_last_run_timestamp_seconds", wholeSeconds(metrics.finishedAt))
        if let lastSuccess {
            family("tokenwatch_last_success_timestamp_seconds", "Unix time of the last check run that exited 0.")
            sample("tokenwatch_last_success_timestamp_seconds", lastSuccess)
        }
        family(
            "tokenwatch_last_run_exit_code",
            "Exit code of the last check run: 0 complete, 75 partial, 78 configuration error.")
        sample("tokenwatch_last_run_exit_code", Double(metrics.exitCode))
        return out
    }

    /// The value of `tokenwatch_last_success_timestamp_seconds` in an exposition text, if any.
    public static func lastSuccessTimestamp(in exposition: String) -> Double? {
        let name = "tokenwatch_last_success_timestamp_seconds"
        for line in exposition.split(whereSeparator: { $0 == "\n" || $0 == "\r\n" }) {
            guard line.hasPrefix(name) else { continue }
            var rest = line.dropFirst(name.count)
            if rest.first == "{" {
                guard let close = rest.firstIndex(of: "}") else { continue }
                rest = rest[rest.index(after: close)...]
            }
            guard rest.first == " " || rest.first == "\t" else { continue }
            guard let token = rest.split(whereSeparator: { $0 == " " || $0 == "\t" }).first,
                let value = Double(token), value.isFinite, value > 0
            else { continue }
            return value
        }
        return nil
    }

    static func wholeSeconds(_ date: Date) -> Double {
        date.timeIntervalSince1970.rounded(.down)
    }

    /// Integers without a fraction (`3`, not `3.0`); others in Swift's shortest round-trip form,
    /// which Prometheus parses (`12.5`, `1e+20`).
    static func format(_ value: Double) -> String {
        if value.isNaN { return "NaN" }
        if value.isInfinite { return value > 0 ? "+Inf" : "-Inf" }
        if value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
        return "\(value)"
    }

    static func escapeHelp(_ text: String) -> String {
        text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\n", with: "\\n")
    }

    static func escapeLabel(_ text: String) -> String {
        escapeHelp(text).replacingOccurrences(of: "\"", with: "\\\"")
    }
}

/// The metrics file could not be written.
public enum MetricsError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Creating, writing or renaming the file failed.
    case cannotWrite(path: String, reason: String)

    public var description: String {
        switch self {
        case .cannotWrite(let path, let reason): "cannot write metrics file \(path): \(reason)"
        }
    }
}
