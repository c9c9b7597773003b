import Foundation
import TokenWatchHTTP
import TokenWatchModel

/// The Graph API as TokenWatch uses it. `GraphAPIClient` speaks it over libcurl; tests and
/// `demo` point that client at `GraphSimulator`.
public protocol GraphAPI: Sendable {
    /// Inspects up to 50 tokens in one batch request (`POST /{version}/` with `batch=`).
    /// Returns one outcome per token, in order. Throws `GraphClientError` when the whole
    /// request failed (transport, top-level error object, unreadable body).
    func debugTokens(_ tokens: [Secret]) async throws -> DebugTokenBatch

    /// The Pages a user token grants (`GET /{version}/me/accounts`, every page of it).
    func grantedPages(userToken: Secret) async throws -> GrantedPages
}

/// What one batch request returned.
public struct DebugTokenBatch: Sendable {
    /// One per token sent, in the same order.
    public var outcomes: [DebugTokenOutcome]
    /// Usage figures from the response headers.
    public var usage: GraphUsage
    /// The `facebook-api-version` response header: the version Graph actually served.
    public var servedVersion: String?

    public init(outcomes: [DebugTokenOutcome], usage: GraphUsage = GraphUsage(), servedVersion: String? = nil) {
        self.outcomes = outcomes
        self.usage = usage
        self.servedVersion = servedVersion
    }
}

/// The answer for one token of a batch.
public enum DebugTokenOutcome: Sendable, Equatable {
    /// `debug_token` answered with `data` (valid or not; an invalid token has `data.error`).
    case info(TokenInfo)
    /// The item carried Graph's error object instead of `data` (a non-200 item, or an error
    /// envelope in a 200 body).
    case graphError(GraphError, httpStatus: Int)
    /// The item could not be decided: null (batch time limit), a body that is not JSON,
    /// truncated, or of an unexpected shape. Retry it.
    case undecided(String)
}

/// Usage percentages from `X-App-Usage`, `X-Page-Usage` and `X-Business-Use-Case-Usage`.
public struct GraphUsage: Sendable, Equatable {
    /// The highest figure seen in any of the headers (may exceed 100), or nil when none came.
    public var highestPercent: Int?
    /// `estimated_time_to_regain_access` in minutes, when Graph gave one.
    public var minutesToRegainAccess: Int?

    public init(highestPercent: Int? = nil, minutesToRegainAccess: Int? = nil) {
        self.highestPercent = highestPercent
        self.minutesToRegainAccess = minutesToRegainAccess
    }

    /// At 90 % or more, stop sending (Meta: slow down before 100, never retry into a block).
    public var demandsStop: Bool { (highestPercent ?? 0) >= 90 }
}

/// The Pages a "Log in with Facebook" granted.
public struct GrantedPages: Sendable {
    public var pages: [GrantedPage]
    public var servedVersion: String?

    public init(pages: [GrantedPage], servedVersion: String? = nil) {
        self.pages = pages
        self.servedVersion = servedVersion
    }
}

/// One entry of `me/accounts`.
public struct GrantedPage: Sendable, Equatable {
    public var pageID: String
    public var name: String
    public var accessToken: Secret
    public var tasks: [String]

    public init(pageID: String, name: String, accessToken: Secret, tasks: [String] = []) {
        self.pageID = pageID
        self.name = name
        self.accessToken = accessToken
        self.tasks = tasks
    }
}

/// A whole Graph request failed. Descriptions never include a token or the app secret:
/// `GraphAPIClient` redacts every text in it (Graph's message included) before throwing.
public enum GraphClientError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The request never got an HTTP answer (timeout, refused, reset, TLS).
    case transport(HTTPError)
    /// Graph answered the whole request with its error object (HTTP 4xx/5xx or 200).
    case rejected(GraphError, httpStatus: Int, usage: GraphUsage, servedVersion: String?)
    /// An answer that is not Graph's format: an HTML error page, truncated JSON, a wrong shape.
    case malformed(httpStatus: Int, String)

    public var description: String {
        switch self {
        case .transport(let error):
            "Graph API unreachable: \(error)"
        case .rejected(let error, let status, _, _):
            "Graph API rejected the request (HTTP \(status), \(error.codeText)\(error.type.map { ", \($0)" } ?? "")): \(error.message)"
        case .malformed(let status, let what):
            "Graph API answered HTTP \(status) with something that is not its format: \(what)"
        }
    }

    /// The same error with every text in it passed through `redactor`; codes untouched.
    public func redacted(by redactor: Redactor) -> GraphClientError {
        switch self {
        case .transport(let error):
            .transport(error.redacted(by: redactor))
        case .rejected(let error, let status, let usage, let servedVersion):
            .rejected(
                error.redacted(by: redactor), httpStatus: status, usage: usage,
                servedVersion: redactor.redact(servedVersion))
        case .malformed(let status, let what):
            .malformed(httpStatus: status, redactor.redact(what))
        }
    }
}
