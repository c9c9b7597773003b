import Foundation

/// A clock whose sleeps return at once (and record what was asked), so retry and backoff
/// tests never wait on the wall clock.
final class ImmediateClock: Clock, @unchecked Sendable {
    // @unchecked: `slept` is only touched under `lock`.
    struct Instant: InstantProtocol {
        var offset: Duration
        func advanced(by duration: Duration) -> Instant { Instant(offset: offset + duration) }
        func duration(to other: Instant) -> Duration { other.offset - offset }
        static func < (lhs: Instant, rhs: Instant) -> Bool { lhs.offset < rhs.offset }
    }

    private let lock = NSLock()
    private var _slept: [Duration] = []
    private var _now = Instant(offset: .zero)

    var now: Instant { lock.withLock { _now } }
    var minimumResolution: Duration { .zero }
    var slept: [Duration] { lock.withLock { _slept } }

    func sleep(until deadline: Instant, tolerance: Duration?) async throws {
        try Task.checkCancellation()
        lock.withLock {
            _slept.append(_now.duration(to: deadline))
            if deadline > _now { _now = deadline }
        }
    }
}
