/// The decision about one page in one run. Per-page outcomes are values: only what ends the
/// whole run throws.
public enum Verdict: Sendable, Equatable {
    /// The token works for this page and app and holds every required permission.
    case valid(TokenInfo)
    /// Meta no longer accepts the token, or it cannot serve the bot; `error` is Graph's, when
    /// the verdict came from one.
    case invalid(InvalidReason, info: TokenInfo?, error: GraphError?)
    /// Nothing could be decided (outage, rate limit, malformed answer): the page keeps its
    /// status and the reason is recorded.
    case unknown(String, error: GraphError?)

    public var status: PageStatus? {
        switch self {
        case .valid: .valid
        case .invalid: .invalid
        case .unknown: nil
        }
    }
}
