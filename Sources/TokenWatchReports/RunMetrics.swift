import Foundation
import TokenWatchModel

/// What one `check` run reports to monitoring: SPEC.md's "Metrics" families as plain numbers.
/// Missing dictionary entries count as 0, so every label value is always exported.
public struct RunMetrics: Sendable, Equatable {
    /// How an HTTP request to Graph ended.
    public enum GraphOutcome: String, Sendable, CaseIterable, Hashable {
        /// An HTTP answer that was not an error on the whole request.
        case ok
        /// An error answer (HTTP 4xx/5xx, an error on the whole batch, a malformed body).
        case error
        /// Graph said to slow down (rate-limit codes or usage headers at 90 % or more).
        case rateLimited = "rate_limited"
        /// No answer in time, or no connection.
        case timeout
    }

    /// Where a digest stands after the run.
    public enum DigestOutcome: String, Sendable, CaseIterable, Hashable {
        /// Handed to the mail server in this run.
        case sent
        /// Gave up on after the maximum number of attempts.
        case failed
        /// Waiting for a retry by the next run or `notify`.
        case pending
        /// Held by the mass-invalidation guard until an operator decides.
        case held
    }

    /// Pages per status after the run.
    public var pagesByStatus: [PageStatus: Int]
    /// Pages that became invalid in this run.
    public var newlyInvalid: Int
    /// Pages the run did not reach (rate limit, deadline).
    public var unchecked: Int
    /// Pages the run asked about but could not decide (outage, malformed answer).
    public var undecided: Int
    /// Pages flagged "expiring".
    public var expiring: Int
    /// HTTP requests to Graph in this run, by outcome.
    public var graphRequests: [GraphOutcome: Int]
    /// Digests by outcome.
    public var mailDigests: [DigestOutcome: Int]
    /// Wall time of the run, in seconds.
    public var runDuration: Double
    /// When the run ended.
    public var finishedAt: Date
    /// The run's exit code.
    public var exitCode: Int32

    /// A run's figures; everything not given is 0.
    public init(
        pagesByStatus: [PageStatus: Int] = [:], newlyInvalid: Int = 0, unchecked: Int = 0, undecided: Int = 0,
        expiring: Int = 0, graphRequests: [GraphOutcome: Int] = [:],
        mailDigests: [DigestOutcome: Int] = [:], runDuration: Double = 0, finishedAt: Date,
        exitCode: Int32
    ) {
        self.pagesByStatus = pagesByStatus
        self.newlyInvalid = newlyInvalid
        self.unchecked = unchecked
        self.undecided = undecided
        self.expiring = expiring
        self.graphRequests = graphRequests
        self.mailDigests = mailDigests
        self.runDuration = runDuration
        self.finishedAt = finishedAt
        self.exitCode = exitCode
    }
}

extension RunMetrics {
    /// The metrics of a run, rendered from its outcome and the page counts after it.
    public init(outcome: RunOutcome, pagesByStatus: [PageStatus: Int], expiring: Int) {
        let requests = outcome.graphRequests
        self.init(
            pagesByStatus: Dictionary(uniqueKeysWithValues: PageStatus.allCases.map { ($0, pagesByStatus[$0] ?? 0) }),
            newlyInvalid: outcome.newlyInvalid.count, unchecked: outcome.unchecked, undecided: outcome.undecided,
            expiring: expiring,
            graphRequests: [
                .ok: requests.ok, .error: requests.error, .rateLimited: requests.rateLimited,
                .timeout: requests.timeout,
            ],
            mailDigests: [
                .sent: outcome.digests.sent, .failed: outcome.digests.failed, .pending: outcome.digests.pending,
                .held: outcome.digests.held,
            ],
            runDuration: outcome.endedAt.timeIntervalSince(outcome.startedAt), finishedAt: outcome.endedAt,
            exitCode: outcome.exitCode)
    }
}
