import Foundation
import Logging
import TokenWatchHTTP
import TokenWatchModel

/// `GraphAPI` over HTTP: batched `debug_token` with the app token and `appsecret_proof`, and
/// `me/accounts` with a user token.
///
/// Tokens travel only in the POST body (`access_token`, `batch`) or in an `Authorization`
/// header, never in a URL; logs carry counts and statuses only.
///
/// Graph quotes tokens back in its messages, so every text of an answer and every error this
/// client returns has passed a `Redactor` holding the app secret, the app token and the
/// tokens of that very request (a batch's Page tokens, a login's user token).
public struct GraphAPIClient: GraphAPI {
    /// Graph's limit on requests in one batch.
    public static let maxBatchSize = 50
    /// How many `me/accounts` pages are followed at most (100 Pages each).
    public static let maxAccountPages = 100

    private let baseURL: String
    private let version: String
    private let appToken: Secret
    private let appSecret: Secret
    private let http: any HTTPClient
    private let timeoutSeconds: Double
    private let logger: Logger
    /// The process's secrets, the app token and the app secret; each request adds its own.
    private let redactor: Redactor
    /// `appsecret_proof` of the app token: the same for every batch, computed once.
    private let appTokenProof: String

    /// - Parameters:
    ///   - baseURL: `https://graph.facebook.com` (`TOKENWATCH_GRAPH_URL`); a trailing `/` is
    ///     ignored. `me/accounts` paging is followed only on this scheme, host and port.
    ///   - version: the path prefix, e.g. `v25.0` (`TOKENWATCH_GRAPH_VERSION`).
    ///   - appToken: `APPID|SECRET`, sent as the batch's `access_token`.
    ///   - appSecret: the key of `appsecret_proof`.
    ///   - http: the transport, usually `CurlHTTPClient`.
    ///   - timeoutSeconds: for each HTTP exchange (`TOKENWATCH_HTTP_TIMEOUT`).
    ///   - logger: debug lines with counts, statuses and versions; never a token.
    ///   - redactor: other secrets of the process to keep out of what Graph answers (the app
    ///     token and secret are added here).
    public init(
        baseURL: String, version: String, appToken: Secret, appSecret: Secret, http: any HTTPClient,
        timeoutSeconds: Double = 30, logger: Logger, redactor: Redactor = Redactor()
    ) {
        var base = baseURL
        while base.hasSuffix("/") { base.removeLast() }
        self.baseURL = base
        self.version = version.trimmingCharacters(in: CharacterSet(charactersIn: "/"))
        self.appToken = appToken
        self.appSecret = appSecret
        self.http = http
        self.timeoutSeconds = timeoutSeconds
        self.logger = logger
        self.redactor = redactor.adding([appToken, appSecret])
        self.appTokenProof = AppSecretProof.make(accessToken: appToken, appSecret: appSecret)
    }

    /// `{base}/{version}/`, the URL every path hangs from.
    private var versionRoot: String { version.isEmpty ? baseURL + "/" : "\(baseURL)/\(version)/" }

    // MARK: debug_token

    /// One `POST {base}/{version}/` with `batch=[…debug_token…]` for up to 50 tokens.
    /// An empty list answers at once without a request; more than 50 throws
    /// `.transport(.invalidRequest)` without a request.
    public func debugTokens(_ tokens: [Secret]) async throws -> DebugTokenBatch {
        guard tokens.count <= Self.maxBatchSize else {
            throw GraphClientError.transport(
                .invalidRequest("a batch holds at most \(Self.maxBatchSize) tokens, got \(tokens.count)"))
        }
        guard !tokens.isEmpty else { return DebugTokenBatch(outcomes: []) }

        // Graph may quote any token of this batch back, in an item's error or the whole answer's.
        let redactor = self.redactor.adding(tokens)
        let request = HTTPRequest(
            method: "POST", url: versionRoot,
            headers: [("Content-Type", "application/x-www-form-urlencoded"), ("Accept", "application/json")],
            body: batchBody(tokens), timeoutSeconds: timeoutSeconds)
        let response = try await send(request, redactor: redactor)
        do {
            let batch = try Self.decodeBatch(response, tokenCount: tokens.count, redactor: redactor)
            logger.debug(
                "Graph batch answered",
                metadata: [
                    "tokens": "\(tokens.count)", "http_status": "\(response.status)",
                    "undecided": "\(batch.outcomes.count { if case .undecided = $0 { true } else { false } })",
                    "served_version": "\(batch.servedVersion ?? "-")",
                    "usage_percent": "\(batch.usage.highestPercent.map(String.init) ?? "-")",
                ])
            return batch
        } catch {
            let error = error.redacted(by: redactor)
            logger.debug(
                "Graph batch failed",
                metadata: [
                    "tokens": "\(tokens.count)", "http_status": "\(response.status)", "error": "\(Self.summary(error))",
                ])
            throw error
        }
    }

    /// The form body: `access_token`, `appsecret_proof`, `batch`, `include_headers=false`.
    func batchForm(_ tokens: [Secret]) -> String {
        String(decoding: batchBody(tokens), as: UTF8.self)
    }

    /// The form body of a batch request, built as bytes: what `FormEncoding.encode` of the
    /// four fields gives (their names need no encoding), without a `String` per character.
    func batchBody(_ tokens: [Secret]) -> [UInt8] {
        // Percent-encoded tokens contain only unreserved characters and "%", so the JSON needs
        // no escaping; the form encoding then encodes the whole JSON text once more.
        var json: [UInt8] = []
        json.reserveCapacity(tokens.count * 120 + 2)
        json.append(UInt8(ascii: "["))
        for (index, token) in tokens.enumerated() {
            if index > 0 { json.append(UInt8(ascii: ",")) }
            json += Self.itemPrefix
            FormEncoding.percentEncode(token.reveal.utf8, into: &json)
            json += Self.itemSuffix
        }
        json.append(UInt8(ascii: "]"))
        var body: [UInt8] = []
        body.reserveCapacity(json.count * 2 + 200)
        body += Array("access_token=".utf8)
        FormEncoding.percentEncode(appToken.reveal.utf8, into: &body)
        body += Array("&appsecret_proof=".utf8)
        FormEncoding.percentEncode(appTokenProof.utf8, into: &body)
        body += Array("&batch=".utf8)
        FormEncoding.percentEncode(json, into: &body)
        body += Array("&include_headers=false".utf8)
        return body
    }

    private static let itemPrefix = Array(#"{"method":"GET","relative_url":"debug_token?input_token="#.utf8)
    private static let itemSuffix = Array(#""}"#.utf8)

    // MARK: me/accounts

    /// Every Page the user token grants: `GET {base}/{version}/me/accounts` and each
    /// `paging.next` on the same scheme, host and port (with any `access_token` in it removed),
    /// at most `maxAccountPages` pages. The user token goes in `Authorization: OAuth …`.
    public func grantedPages(userToken: Secret) async throws -> GrantedPages {
        do {
            return try await accounts(userToken: userToken)
        } catch {
            // Graph echoes the user token in its refusal ("Malformed access token EAA…").
            throw error.redacted(by: redactor.adding([userToken]))
        }
    }

    private func accounts(userToken: Secret) async throws(GraphClientError) -> GrantedPages {
        // Grows with each answer's Page tokens: a later answer may quote an earlier one's.
        var redactor = self.redactor.adding([userToken])
        let proof = AppSecretProof.make(accessToken: userToken, appSecret: appSecret)
        var url = versionRoot + "me/accounts?fields=id,name,access_token,tasks&limit=100&appsecret_proof=\(proof)"
        var pages: [GrantedPage] = []
        var skipped = 0
        var servedVersion: String?
        var requests = 0
        while true {
            requests += 1
            let response = try await send(
                HTTPRequest(
                    url: url,
                    headers: [("Authorization", "OAuth \(userToken.reveal)"), ("Accept", "application/json")],
                    timeoutSeconds: timeoutSeconds),
                redactor: redactor)
            servedVersion = servedVersion ?? redactor.redact(response.header("facebook-api-version"))
            let page = try Self.decodeAccountsPage(response, redactor: redactor)
            redactor = redactor.adding(page.pages.map(\.accessToken))
            pages += page.pages
            skipped += page.skipped
            guard let next = page.next else { break }
            guard requests < Self.maxAccountPages else {
                throw GraphClientError.malformed(
                    httpStatus: response.status, "me/accounts goes on beyond \(Self.maxAccountPages) pages; stopped")
            }
            guard let followed = Self.sameOriginNext(next, base: baseURL, proof: proof) else {
                throw GraphClientError.malformed(
                    httpStatus: response.status, "paging.next leads away from the configured Graph URL; not followed")
            }
            url = followed
        }
        logger.debug(
            "me/accounts answered",
            metadata: [
                "pages": "\(pages.count)", "skipped_without_token": "\(skipped)", "requests": "\(requests)",
                "served_version": "\(servedVersion ?? "-")",
            ])
        return GrantedPages(pages: pages, servedVersion: servedVersion)
    }

    /// `next` made safe to request: only on `base`'s scheme, host and port, without user info,
    /// its `access_token` and `appsecret_proof` replaced by our proof (the token goes in the
    /// header), fragment dropped. nil when it must not be followed.
    static func sameOriginNext(_ next: String, base: String, proof: String) -> String? {
        // No characters on which URL parsers disagree (libcurl and Foundation must see the same host).
        guard !next.unicodeScalars.contains(where: { $0.value <= 0x20 || $0.value >= 0x7F || $0 == "\\" }),
            let target = URLComponents(string: next), let origin = URLComponents(string: base),
            target.user == nil, target.password == nil,
            let scheme = target.scheme?.lowercased(), scheme == origin.scheme?.lowercased(),
            let host = target.host?.lowercased(), host == origin.host?.lowercased(),
            effectivePort(target) == effectivePort(origin)
        else { return nil }

        var text = Substring(next)
        if let hash = text.firstIndex(of: "#") { text = text[..<hash] }
        guard let question = text.firstIndex(of: "?") else { return String(text) + "?appsecret_proof=\(proof)" }
        let kept = text[text.index(after: question)...].split(separator: "&").filter { pair in
            let name = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
            let decoded = FormEncoding.percentDecode(name) ?? String(name)
            return decoded != "access_token" && decoded != "appsecret_proof"
        }
        return String(text[..<question]) + "?" + (kept + ["appsecret_proof=\(proof)"]).joined(separator: "&")
    }

    private static func effectivePort(_ url: URLComponents) -> Int? {
        if let port = url.port { return port }
        switch url.scheme?.lowercased() {
        case "http": return 80
        case "https": return 443
        default: return nil
        }
    }

    /// What a failure was, for a log line: Graph's code but not its message (messages are
    /// Meta's free text; counts and codes are all the log needs).
    static func summary(_ error: GraphClientError) -> String {
        switch error {
        case .transport(let cause): "transport: \(cause)"
        case .rejected(let graphError, let status, _, _): "rejected, HTTP \(status), \(graphError.codeText)"
        case .malformed(let status, let what): "malformed, HTTP \(status): \(what)"
        }
    }

    // MARK: Transport

    /// Sends `request`; a transport failure's words pass `redactor` (any `HTTPClient` may quote
    /// what it sent or got).
    private func send(_ request: HTTPRequest, redactor: Redactor) async throws(GraphClientError) -> HTTPResponse {
        do {
            return try await http.send(request)
        } catch let error as HTTPError {
            throw .transport(error.redacted(by: redactor))
        } catch is CancellationError {
            throw .transport(.cancelled)
        } catch {
            throw .transport(.curl(code: -1, redactor.redact(String(describing: error))))
        }
    }
}
