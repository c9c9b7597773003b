import CCurl
import TokenWatchModel

/// `HTTPClient` on libcurl's multi interface: every request is a transfer on a
/// `CurlEventLoop`, so hundreds can be in flight while no Swift task blocks.
///
/// TLS peer and host verification are always on; `caFile` adds a CA bundle for private
/// endpoints (`TOKENWATCH_CA_FILE`). Redirects are never followed: a 3xx is returned as it is.
/// Bodies above `maxResponseBytes` end the transfer with `HTTPError.responseTooLarge`.
/// libcurl's error words pass `redactor` before they become an `HTTPError`.
public struct CurlHTTPClient: HTTPClient {
    /// 8 MiB: a full batch of 50 `debug_token` answers is a few tens of KiB.
    public static let defaultMaxResponseBytes = 8 * 1024 * 1024
    /// Used when a request does not say: connecting should never take most of a timeout.
    public static let defaultConnectTimeoutSeconds: Double = 10

    /// The loop the transfers run on.
    public let loop: CurlEventLoop
    /// An extra CA bundle (PEM) to trust, or nil for the system's.
    public let caFile: String?
    /// The largest body accepted, in bytes.
    public let maxResponseBytes: Int
    /// Connect timeout for requests that leave `connectTimeoutSeconds` nil.
    public let connectTimeoutSeconds: Double
    /// What every error text from libcurl passes through.
    public let redactor: Redactor

    /// - Parameters:
    ///   - loop: where transfers run; the process-wide loop unless told otherwise.
    ///   - caFile: a PEM bundle for private endpoints. libcurl reads it instead of the default
    ///     bundle file; the system's CA directory (Debian: /etc/ssl/certs) stays in use.
    ///   - maxResponseBytes: the body size cap.
    ///   - connectTimeoutSeconds: the default connect timeout.
    ///   - redactor: the secrets of this process (token shapes are always removed).
    public init(
        loop: CurlEventLoop = .shared, caFile: String? = nil,
        maxResponseBytes: Int = CurlHTTPClient.defaultMaxResponseBytes,
        connectTimeoutSeconds: Double = CurlHTTPClient.defaultConnectTimeoutSeconds,
        redactor: Redactor = Redactor()
    ) {
        self.loop = loop
        self.caFile = caFile
        self.maxResponseBytes = maxResponseBytes
        self.connectTimeoutSeconds = connectTimeoutSeconds
        self.redactor = redactor
    }

    /// Sends one request and returns its final response, whatever the status.
    public func send(_ request: HTTPRequest) async throws -> HTTPResponse {
        if Task.isCancelled { throw HTTPError.cancelled }
        try Self.validate(request)
        guard let transfer = CurlTransfer(maxBodyBytes: maxResponseBytes) else {
            throw HTTPError.curl(code: Int(CURLE_OUT_OF_MEMORY.rawValue), "libcurl could not create a handle")
        }
        do {
            try configure(transfer, for: request)
        } catch {
            throw HTTPError.invalidRequest(error.description)
        }
        switch await loop.perform(transfer) {
        case .cancelled:
            throw HTTPError.cancelled
        case .failedToStart(let reason):
            throw HTTPError.curl(code: -1, redactor.redact(reason))
        case .completed(let result):
            return try response(from: result, for: request)
        }
    }

    private func configure(_ transfer: CurlTransfer, for request: HTTPRequest) throws(CurlSetupError) {
        try transfer.setCommonOptions(
            totalTimeoutSeconds: request.timeoutSeconds,
            connectTimeoutSeconds: request.connectTimeoutSeconds ?? connectTimeoutSeconds)
        try transfer.set(CURLOPT_URL, request.url)
        try transfer.set(CURLOPT_PROTOCOLS_STR, "http,https")
        try transfer.set(CURLOPT_FOLLOWLOCATION, 0)
        try transfer.set(CURLOPT_SSL_VERIFYPEER, 1)
        try transfer.set(CURLOPT_SSL_VERIFYHOST, 2)
        if let caFile, !caFile.isEmpty { try transfer.set(CURLOPT_CAINFO, caFile) }
        try transfer.set(CURLOPT_USERAGENT, "TokenWatch/\(TokenWatchVersion.current)")
        // HTTP/2 over TLS when the server offers it, so batches share one connection.
        try transfer.set(CURLOPT_HTTP_VERSION, CURL_HTTP_VERSION_2TLS)
        // Every encoding libcurl can decode; the size cap applies to the decoded bytes.
        try transfer.set(CURLOPT_ACCEPT_ENCODING, "")
        try transfer.set(CURLOPT_MAXFILESIZE_LARGE, offset: maxResponseBytes)

        let method = request.method.uppercased()
        switch (method, request.body) {
        case ("GET", nil):
            try transfer.set(CURLOPT_HTTPGET, 1)
        case ("HEAD", nil):
            try transfer.set(CURLOPT_NOBODY, 1)
        case ("POST", let body):
            try transfer.setCopiedPostFields(body ?? [])
        case (_, let body?):
            try transfer.setCopiedPostFields(body)
            try transfer.set(CURLOPT_CUSTOMREQUEST, method)
        case (_, nil):
            try transfer.set(CURLOPT_CUSTOMREQUEST, method)
        }

        var lines = request.headers.map { "\($0.name): \($0.value)" }
        // libcurl would otherwise wait up to a second for "100 Continue" before larger bodies.
        if method == "POST" || request.body != nil { lines.append("Expect:") }
        try transfer.set(CURLOPT_HTTPHEADER, list: lines)
    }

    private func response(from result: CurlTransferResult, for request: HTTPRequest) throws(HTTPError) -> HTTPResponse {
        if result.exceededLimit || result.code == CURLE_FILESIZE_EXCEEDED {
            throw .responseTooLarge(limit: maxResponseBytes)
        }
        guard result.succeeded else {
            throw Self.error(for: result, timeoutSeconds: request.timeoutSeconds, redactor: redactor)
        }
        return HTTPResponse(
            status: result.responseCode, headers: Self.finalHeaders(result.headerLines), body: result.body)
    }

    /// The header fields of the last response (interim 1xx answers are dropped), names
    /// lowercased, in order.
    static func finalHeaders(_ lines: [String]) -> [(name: String, value: String)] {
        let start = lines.lastIndex { $0.hasPrefix("HTTP/") }.map { $0 + 1 } ?? 0
        var headers: [(name: String, value: String)] = []
        for line in lines[start...] {
            if line.isEmpty { break }
            if let first = line.first, first == " " || first == "\t" {
                // An obsolete folded continuation line belongs to the previous field.
                if !headers.isEmpty {
                    headers[headers.count - 1].value += " " + line.trimmedOfBlanks()
                }
                continue
            }
            guard let colon = line.firstIndex(of: ":") else { continue }
            let name = line[..<colon].trimmedOfBlanks().lowercased()
            let value = line[line.index(after: colon)...].trimmedOfBlanks()
            guard !name.isEmpty else { continue }
            headers.append((name: name, value: value))
        }
        return headers
    }

    /// Maps a failed transfer to the typed error, keeping curl's words (redacted).
    static func error(for result: CurlTransferResult, timeoutSeconds: Double, redactor: Redactor) -> HTTPError {
        let why = result.explanation(redactedBy: redactor)
        switch result.code {
        case CURLE_OPERATION_TIMEDOUT:
            return .timedOut(seconds: timeoutSeconds)
        case CURLE_COULDNT_CONNECT, CURLE_COULDNT_RESOLVE_HOST, CURLE_COULDNT_RESOLVE_PROXY,
            CURLE_GOT_NOTHING, CURLE_SEND_ERROR, CURLE_RECV_ERROR, CURLE_PARTIAL_FILE:
            return .connectionFailed(why)
        case CURLE_SSL_CONNECT_ERROR, CURLE_PEER_FAILED_VERIFICATION, CURLE_SSL_CERTPROBLEM,
            CURLE_SSL_CIPHER, CURLE_SSL_CACERT_BADFILE, CURLE_SSL_ENGINE_NOTFOUND,
            CURLE_SSL_ENGINE_SETFAILED, CURLE_SSL_ENGINE_INITFAILED, CURLE_USE_SSL_FAILED,
            CURLE_SSL_SHUTDOWN_FAILED, CURLE_SSL_CRL_BADFILE, CURLE_SSL_ISSUER_ERROR,
            CURLE_SSL_PINNEDPUBKEYNOTMATCH, CURLE_SSL_INVALIDCERTSTATUS, CURLE_SSL_CLIENTCERT:
            return .tls(why)
        case CURLE_FILESIZE_EXCEEDED:
            return .curl(code: Int(result.code.rawValue), why)
        case CURLE_UNSUPPORTED_PROTOCOL, CURLE_URL_MALFORMAT:
            return .invalidRequest(why)
        default:
            return .curl(code: Int(result.code.rawValue), why)
        }
    }

    /// Refuses what libcurl would send wrongly or what could smuggle a second header in.
    /// Messages name the problem, never the URL or a header value (either may be a secret).
    private static func validate(_ request: HTTPRequest) throws(HTTPError) {
        let url = request.url.lowercased()
        guard url.hasPrefix("http://") || url.hasPrefix("https://") else {
            throw .invalidRequest("only http:// and https:// URLs are supported")
        }
        guard !request.url.utf8.contains(where: { $0 <= 0x20 || $0 == 0x7F }) else {
            throw .invalidRequest("the URL contains spaces or control characters")
        }
        guard !request.method.isEmpty, request.method.utf8.allSatisfy(isTokenByte) else {
            throw .invalidRequest("the method is not an HTTP token")
        }
        guard request.timeoutSeconds.isFinite, request.timeoutSeconds > 0 else {
            throw .invalidRequest("the timeout must be a positive number of seconds")
        }
        for header in request.headers {
            guard !header.name.isEmpty, header.name.utf8.allSatisfy(isTokenByte) else {
                throw .invalidRequest("a header name is not an HTTP token")
            }
            guard !header.value.utf8.contains(where: { $0 == 0x0D || $0 == 0x0A || $0 == 0 }) else {
                throw .invalidRequest("the value of header \(header.name) contains a line break")
            }
        }
    }

    private static func isTokenByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"):
            true
        default:
            "!#$%&'*+-.^_`|~".utf8.contains(byte)
        }
    }
}

extension StringProtocol {
    /// The text without leading and trailing spaces and tabs (HTTP's optional whitespace).
    fileprivate func trimmedOfBlanks() -> String {
        var text = Substring(self)
        while let first = text.first, first == " " || first == "\t" { text.removeFirst() }
        while let last = text.last, last == " " || last == "\t" { text.removeLast() }
        return String(text)
    }
}
