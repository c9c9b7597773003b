import Synchronization

/// A clock whose sleeps return at once (and record what was asked), so retry and backoff
/// tests never wait on the wall clock.
public final class ImmediateClock: Clock, Sendable {
    /// A point on the clock: the total time slept so far.
    public struct Instant: InstantProtocol {
        public var offset: Duration
        public init(offset: Duration) { self.offset = offset }
        public func advanced(by duration: Duration) -> Instant { Instant(offset: offset + duration) }
        public func duration(to other: Instant) -> Duration { other.offset - offset }
        public static func < (lhs: Instant, rhs: Instant) -> Bool { lhs.offset < rhs.offset }
    }

    private struct State {
        var slept: [Duration] = []
        var now = Instant(offset: .zero)
    }
    private let state = Mutex(State())

    /// A clock at zero that has not slept.
    public init() {}

    public var now: Instant { state.withLock { $0.now } }
    public var minimumResolution: Duration { .zero }
    /// Every sleep asked for, in order.
    public var slept: [Duration] { state.withLock { $0.slept } }

    public func sleep(until deadline: Instant, tolerance: Duration?) async throws {
        try Task.checkCancellation()
        state.withLock { state in
            state.slept.append(state.now.duration(to: deadline))
            if deadline > state.now { state.now = deadline }
        }
    }
}
