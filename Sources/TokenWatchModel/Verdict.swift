import Foundation

/// The decision about one page in one run. Per-page outcomes are values: only what ends the
/// whole run throws. It carries plain facts, never the Graph client's types, so the store
/// that keeps it knows nothing of the network.
public enum Verdict: Sendable, Equatable {
    /// The token works for this page and app and holds every required permission.
    case valid(TokenFacts)
    /// Meta no longer accepts the token, or it cannot serve the bot; `error` is Graph's code,
    /// when the verdict came from one.
    case invalid(InvalidReason, facts: TokenFacts?, error: GraphErrorCode?)
    /// Nothing could be decided (outage, rate limit, malformed answer): the page keeps its
    /// status and the reason is recorded.
    case unknown(String, error: GraphErrorCode?)

    public var status: PageStatus? {
        switch self {
        case .valid: .valid
        case .invalid: .invalid
        case .unknown: nil
        }
    }
}

/// What Graph said about a token that is worth keeping: its permissions and its two ends.
public struct TokenFacts: Sendable, Equatable, Hashable {
    /// Permissions granted to the token.
    public var scopes: [String]
    /// Hard end of the token; nil when it never expires.
    public var expiresAt: Date?
    /// When the app's data access lapses unless the admin uses the app again.
    public var dataAccessExpiresAt: Date?

    public init(scopes: [String], expiresAt: Date? = nil, dataAccessExpiresAt: Date? = nil) {
        self.scopes = scopes
        self.expiresAt = expiresAt
        self.dataAccessExpiresAt = dataAccessExpiresAt
    }
}

/// Graph's error code and subcode behind a verdict: the numbers only, never Meta's message
/// (which can echo a token).
public struct GraphErrorCode: Sendable, Equatable, Hashable {
    public var code: Int
    public var subcode: Int?

    public init(code: Int, subcode: Int? = nil) {
        self.code = code
        self.subcode = subcode
    }

    /// "code 190/460".
    public var codeText: String {
        subcode.map { "code \(code)/\($0)" } ?? "code \(code)"
    }
}
