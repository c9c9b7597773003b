import Foundation

/// A clock whose sleeps return at once (and record what was asked), so retry and backoff
/// tests never wait on the wall clock.
public final class ImmediateClock: Clock, @unchecked Sendable {
    // @unchecked: `slept` is only touched under `lock`.
    /// A point on the clock: the total time slept so far.
    public struct Instant: InstantProtocol {
        public var offset: Duration
        public init(offset: Duration) { self.offset = offset }
        public func advanced(by duration: Duration) -> Instant { Instant(offset: offset + duration) }
        public func duration(to other: Instant) -> Duration { other.offset - offset }
        public static func < (lhs: Instant, rhs: Instant) -> Bool { lhs.offset < rhs.offset }
    }

    private let lock = NSLock()
    private var _slept: [Duration] = []
    private var _now = Instant(offset: .zero)

    /// A clock at zero that has not slept.
    public init() {}

    public var now: Instant { lock.withLock { _now } }
    public var minimumResolution: Duration { .zero }
    /// Every sleep asked for, in order.
    public var slept: [Duration] { lock.withLock { _slept } }

    public func sleep(until deadline: Instant, tolerance: Duration?) async throws {
        try Task.checkCancellation()
        lock.withLock {
            _slept.append(_now.duration(to: deadline))
            if deadline > _now { _now = deadline }
        }
    }
}
