import Synchronization

/// Event loops lent out for one transfer at a time.
///
/// libcurl's SMTP waits for the server's reply to the end of DATA inside `smtp_done`,
/// blocking the multi handle it runs on: on one shared loop every other transfer, another
/// digest's included, waits until that reply arrives, so SMTP exchanges sent at once still
/// get their final replies one after another. Lent a loop of its own, an exchange blocks only
/// its own thread, and the loop keeps the connection for the next exchange it carries.
///
/// Loops are made when needed, up to `maximum`; beyond that a caller waits for one to come
/// back. The loop returned last is lent first, so a few callers keep reusing the same open
/// connections.
public final class CurlEventLoopPool: Sendable {
    /// The pool SMTP exchanges borrow from (16 loops at most, as many as
    /// TOKENWATCH_SMTP_CONNECTIONS allows). Its loops live as long as the process.
    public static let smtp = CurlEventLoopPool(maximum: 16)

    /// The most loops this pool makes.
    public let maximum: Int
    private let state = Mutex(State())

    private struct State {
        /// Loops not lent out, the one returned last at the end.
        var idle: [CurlEventLoop] = []
        /// Every loop made, for `shutdown()`.
        var made: [CurlEventLoop] = []
        /// Loops made or being made.
        var count = 0
        var waiters: [CheckedContinuation<CurlEventLoop, Never>] = []
    }

    /// A pool of at most `maximum` loops (at least 1).
    public init(maximum: Int) {
        self.maximum = max(1, maximum)
    }

    /// Runs `body` with a loop that no other borrower uses until `body` returns.
    package func withLoop<T, E: Error>(_ body: (CurlEventLoop) async throws(E) -> T) async throws(E) -> T {
        let loop = await borrow()
        defer { giveBack(loop) }
        return try await body(loop)
    }

    /// Shuts down every loop made: for pools that do not live as long as the process (tests).
    /// Call it once nothing borrows from the pool any more.
    public func shutdown() async {
        let loops = state.withLock { $0.made }
        for loop in loops { await loop.shutdown() }
    }

    private enum Lend {
        case idle(CurlEventLoop)
        case make
        case wait
    }

    private func borrow() async -> CurlEventLoop {
        await withCheckedContinuation { (continuation: CheckedContinuation<CurlEventLoop, Never>) in
            let lend = state.withLock { state -> Lend in
                if let loop = state.idle.popLast() { return .idle(loop) }
                guard state.count < maximum else {
                    state.waiters.append(continuation)
                    return .wait
                }
                state.count += 1
                return .make
            }
            switch lend {
            case .idle(let loop):
                continuation.resume(returning: loop)
            case .make:
                // Starts the loop's thread; outside the lock, which guards only the lists.
                let loop = CurlEventLoop()
                state.withLock { $0.made.append(loop) }
                continuation.resume(returning: loop)
            case .wait:
                break
            }
        }
    }

    private func giveBack(_ loop: CurlEventLoop) {
        // Straight to the longest waiter, if any; otherwise back on top of the idle ones.
        let waiter = state.withLock { state -> CheckedContinuation<CurlEventLoop, Never>? in
            guard !state.waiters.isEmpty else {
                state.idle.append(loop)
                return nil
            }
            return state.waiters.removeFirst()
        }
        waiter?.resume(returning: loop)
    }
}
