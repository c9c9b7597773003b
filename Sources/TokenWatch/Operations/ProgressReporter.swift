import Foundation
import Synchronization
import TokenWatchHTTP
import TokenWatchMail
import TokenWatchModel
import TokenWatchStore

/// A live progress line for a person watching a run in a terminal:
/// `checked 1200/5000 pages · 310/s · ETA 12 s`, redrawn in place on standard error.
///
/// It draws only when the console is a terminal (`isatty(2)`), so nothing reaches cron mail,
/// journald or a redirected file. Updates are throttled (at most one per `minimumInterval`,
/// 0.1 s by default) and the line is cleared by `finish()`. Thread-safe: `advance` may be
/// called from any number of concurrent tasks.
public final class ProgressReporter: Sendable {
    private struct State {
        var completed = 0
        var lastDrawn: Double? = nil
        var finished = false
    }

    /// Items the run will go through.
    public let total: Int
    private let noun: String
    private let verb: String
    private let output: ConsoleOutput
    private let minimumInterval: Double
    private let clock: @Sendable () -> Double
    private let start: Double
    private let state = Mutex(State())

    /// Whether anything will be drawn (the console is a terminal).
    public var isEnabled: Bool { output.isTerminal }

    /// A reporter for `total` items.
    /// - Parameters:
    ///   - verb: the past tense shown first ("checked").
    ///   - noun: what is counted ("pages").
    ///   - output: the console; nothing is written unless it is a terminal.
    ///   - minimumInterval: seconds between two redraws.
    ///   - clock: monotonic seconds from any origin; injectable for tests.
    public init(
        total: Int, verb: String = "checked", noun: String = "pages", output: ConsoleOutput = .standardError,
        minimumInterval: Double = 0.1, clock: @escaping @Sendable () -> Double = ProgressReporter.monotonicSeconds
    ) {
        self.total = max(0, total)
        self.verb = verb
        self.noun = noun
        self.output = output
        self.minimumInterval = minimumInterval
        self.clock = clock
        self.start = clock()
    }

    /// Counts `count` more items done, redrawing when the throttle allows (and always for the
    /// last item).
    public func advance(by count: Int = 1) {
        guard output.isTerminal else { return }
        state.withLock { state in
            guard !state.finished else { return }
            state.completed = min(total, state.completed + max(0, count))
            let now = clock()
            let due = state.lastDrawn.map { now - $0 >= minimumInterval } ?? true
            guard due || state.completed == total else { return }
            state.lastDrawn = now
            output.showStatus(line(completed: state.completed, elapsed: now - start))
        }
    }

    /// Removes the line; later calls to `advance` draw nothing.
    public func finish() {
        guard output.isTerminal else { return }
        state.withLock { state in
            guard !state.finished else { return }
            state.finished = true
            output.clearStatus()
        }
    }

    /// The text of the line, e.g. `checked 1200/5000 pages · 310/s · ETA 12 s`.
    func line(completed: Int, elapsed: Double) -> String {
        var text = "\(verb) \(completed)/\(total) \(noun)"
        guard completed > 0, elapsed >= 0.05 else { return text }
        let rate = Double(completed) / elapsed
        text += " · " + (rate >= 10 ? String(Int(rate.rounded())) : String(format: "%.1f", rate)) + "/s"
        if completed < total {
            text += " · ETA " + Self.duration(Double(total - completed) / rate)
        }
        return text
    }

    /// `12 s`, `3 min 5 s`, `2 h 4 min`.
    static func duration(_ seconds: Double) -> String {
        let whole = Int(min(seconds.rounded(.up), 359_999))
        if whole < 60 { return "\(whole) s" }
        if whole < 3600 { return "\(whole / 60) min \(whole % 60) s" }
        return "\(whole / 3600) h \(whole % 3600 / 60) min"
    }

    /// Seconds on the monotonic clock, from an arbitrary origin.
    public static let monotonicSeconds: @Sendable () -> Double = {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return Double(time.tv_sec) + Double(time.tv_nsec) / 1_000_000_000
    }
}
