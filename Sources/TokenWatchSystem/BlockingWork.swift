import Dispatch

/// Runs blocking work (file writes with fsync, opening SQLite, reading a pipe) on a Dispatch
/// thread and awaits it, so it never occupies one of the cooperative pool's few threads:
/// on a 2-core machine a blocked pool thread is half of all async progress.
public enum BlockingWork {
    private static let queue = DispatchQueue(label: "tokenwatch.blocking", qos: .utility, attributes: .concurrent)

    /// The result of `body`, computed off the cooperative pool.
    public static func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            queue.async {
                continuation.resume(with: Result { try body() })
            }
        }
    }
}
