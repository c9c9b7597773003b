import TokenWatchModel

/// Bounded retries with exponential backoff and equal jitter (half the delay fixed, half
/// random), so a fleet of failed items does not come back at Graph in one wave, yet no retry
/// comes back at once.
public struct RetryPolicy: Sendable {
    /// Attempts per token, the first included.
    public var maxAttempts: Int
    public var baseDelay: Duration
    public var maxDelay: Duration

    public init(maxAttempts: Int = 3, baseDelay: Duration = .milliseconds(500), maxDelay: Duration = .seconds(8)) {
        self.maxAttempts = maxAttempts
        self.baseDelay = baseDelay
        self.maxDelay = maxDelay
    }

    /// The wait before attempt `attempt` (2, 3, …): base × 2^(attempt−2), capped, then a
    /// random point between half of it and all of it.
    public func delay(beforeAttempt attempt: Int, random: Double = Double.random(in: 0...1)) -> Duration {
        guard attempt > 1 else { return .zero }
        let exponent = min(attempt - 2, 16)
        let uncapped = baseDelay * (1 << exponent)
        let capped = min(uncapped, maxDelay)
        return capped * (0.5 + 0.5 * random)
    }
}
