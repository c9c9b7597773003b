import TokenWatchModel

/// Sends HTTP requests. `CurlHTTPClient` does it on libcurl's multi interface; the seam lets
/// the Graph client be exercised against anything that answers.
public protocol HTTPClient: Sendable {
    /// Sends one request and returns the answer, whatever its status. Throws `HTTPError` when
    /// no answer came (timeout, connection failure, TLS, a body over the size cap).
    func send(_ request: HTTPRequest) async throws -> HTTPResponse
}

/// One HTTP request. Secrets belong in `body` (POST form), never in `url`: URLs end up in logs.
public struct HTTPRequest: Sendable {
    public var method: String
    public var url: String
    public var headers: [(name: String, value: String)]
    public var body: [UInt8]?
    /// Seconds for the whole exchange.
    public var timeoutSeconds: Double
    /// Seconds to establish the connection (TCP and TLS); nil lets the client choose (never
    /// more than `timeoutSeconds`).
    public var connectTimeoutSeconds: Double?

    public init(
        method: String = "GET", url: String, headers: [(name: String, value: String)] = [],
        body: [UInt8]? = nil, timeoutSeconds: Double = 30, connectTimeoutSeconds: Double? = nil
    ) {
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
        self.timeoutSeconds = timeoutSeconds
        self.connectTimeoutSeconds = connectTimeoutSeconds
    }
}

/// One HTTP answer.
public struct HTTPResponse: Sendable {
    public var status: Int
    /// Header names lowercased, in the order received (the final response's headers only).
    public var headers: [(name: String, value: String)]
    public var body: [UInt8]

    public init(status: Int, headers: [(name: String, value: String)] = [], body: [UInt8] = []) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    /// The first value of a header, by case-insensitive name.
    public func header(_ name: String) -> String? {
        let wanted = name.lowercased()
        return headers.first { $0.name == wanted }?.value
    }
}

/// No HTTP answer came. Descriptions carry curl's reason and never a secret.
public enum HTTPError: Error, Sendable, Equatable, CustomStringConvertible {
    case timedOut(seconds: Double)
    case connectionFailed(String)
    case tls(String)
    case responseTooLarge(limit: Int)
    case cancelled
    case invalidRequest(String)
    /// Any other curl failure: its code and its words.
    case curl(code: Int, String)

    public var description: String {
        switch self {
        case .timedOut(let seconds): "timed out after \(seconds) s"
        case .connectionFailed(let why): "connection failed: \(why)"
        case .tls(let why): "TLS failure: \(why)"
        case .responseTooLarge(let limit): "response larger than \(limit) bytes"
        case .cancelled: "cancelled"
        case .invalidRequest(let why): "invalid request: \(why)"
        case .curl(let code, let why): "curl error \(code): \(why)"
        }
    }

    /// The same error with its words passed through `redactor`.
    public func redacted(by redactor: Redactor) -> HTTPError {
        switch self {
        case .connectionFailed(let why): .connectionFailed(redactor.redact(why))
        case .tls(let why): .tls(redactor.redact(why))
        case .invalidRequest(let why): .invalidRequest(redactor.redact(why))
        case .curl(let code, let why): .curl(code: code, redactor.redact(why))
        case .timedOut, .responseTooLarge, .cancelled: self
        }
    }
}
