/// What the simulator has seen since it started or since `GraphSimulator.resetStats()`.
public struct GraphSimulatorStats: Sendable, Equatable {
    /// Every HTTP request received, whatever became of it (dropped connections included).
    public internal(set) var httpRequests = 0
    /// Batch requests (`POST /{version}/`) that got as far as their items being answered.
    public internal(set) var batchRequests = 0
    /// `debug_token` items answered (batch items and plain GETs; `null` items excluded).
    public internal(set) var debugTokenItems = 0
    /// How many answered batches had each item count: `[50: 1999, 3: 1]`.
    public internal(set) var batchSizes: [Int: Int] = [:]
    /// The most HTTP requests being handled at the same time.
    public internal(set) var maxInFlight = 0
    /// HTTP requests being handled now.
    public internal(set) var inFlight = 0
    /// Requests by method and path without the version prefix: `"POST /"`,
    /// `"GET /debug_token"`, `"GET /me/accounts"`.
    public internal(set) var requestsByPath: [String: Int] = [:]
    /// How many times each input token reached `debug_token` processing (answered, nulled or
    /// malformed — but not when the whole request failed first).
    public internal(set) var debugCountByToken: [String: Int] = [:]
    /// Connections closed on purpose without an answer.
    public internal(set) var droppedConnections = 0
    /// Whole requests refused with a top-level error (credentials, rate limit, outages).
    public internal(set) var rejectedRequests = 0

    /// How many times `token` reached `debug_token` processing.
    public func debugCount(for token: String) -> Int {
        debugCountByToken[token] ?? 0
    }

    /// The item counts of answered batches, smallest first, one entry per batch.
    public var itemsPerBatch: [Int] {
        batchSizes.keys.sorted().flatMap { size in
            Array(repeating: size, count: batchSizes[size] ?? 0)
        }
    }
}
