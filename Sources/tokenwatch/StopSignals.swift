import Dispatch
import Foundation
import Logging
import Synchronization

/// SIGTERM (systemd stopping the unit, a Kubernetes pod ending) and SIGINT (Ctrl-C) ask a run
/// to stop instead of killing it mid-write: no new batch or message starts, the batch commit
/// and the message in flight finish, the report and metrics are written, and the run exits 75.
/// A second signal ends the process at once, as the default action would.
///
/// The signals are received through the system's signal source (a dispatch source on its own
/// queue), not a C handler: the handler may log and take locks. One value per command run,
/// passed down as a closure; nothing global.
final class StopSignals: Sendable {
    private let requested = Atomic<Bool>(false)
    // Kept alive for as long as the run: a released source stops delivering.
    private let sources: Mutex<[any DispatchSourceSignal]>

    init(logger: Logger, signals: [Int32] = [SIGTERM, SIGINT]) {
        var made: [any DispatchSourceSignal] = []
        for number in signals {
            // Ignored by the default disposition, so only the source sees it.
            signal(number, SIG_IGN)
            made.append(DispatchSource.makeSignalSource(signal: number, queue: .global()))
        }
        sources = Mutex(made)
        sources.withLock { sources in
            for (source, number) in zip(sources, signals) {
                source.setEventHandler { [self] in self.received(number, logger: logger) }
                source.resume()
            }
        }
    }

    /// True once a stop was asked for.
    var isRequested: Bool { requested.load(ordering: .acquiring) }

    private func received(_ number: Int32, logger: Logger) {
        let (first, _) = requested.compareExchange(expected: false, desired: true, ordering: .acquiringAndReleasing)
        guard first else {
            // A second signal: the person means it. Restore the default and deliver it again.
            signal(number, SIG_DFL)
            raise(number)
            return
        }
        let name = number == SIGINT ? "SIGINT" : number == SIGTERM ? "SIGTERM" : "signal \(number)"
        logger.warning(
            "\(name) received: finishing the batch and the message in flight, then writing the report; a second signal stops at once"
        )
    }
}
