import FlyingFox
import Foundation

/// FlyingFox's entry into the engine.
struct SimulatorHTTPHandler: HTTPHandler {
    let engine: SimulatorEngine

    func handleRequest(_ request: HTTPRequest) async throws -> HTTPResponse {
        let body = request.method == .POST ? (try? await request.bodyData) ?? Data() : Data()
        let exchange = engine.receive(
            method: request.method.rawValue, path: request.target.path(), query: request.target.query(),
            body: body, authorization: request.headers[.authorization])
        if exchange.latencyMilliseconds > 0 {
            // Task.sleep suspends; other requests go on meanwhile. Cancellation only shortens it.
            try? await Task.sleep(for: .milliseconds(exchange.latencyMilliseconds))
        }
        guard let answer = engine.answer(exchange) else { return HTTPResponse(webSocket: DropConnectionHandler()) }
        var headers = HTTPHeaders()
        for (name, value) in answer.headers { headers.addValue(value, for: HTTPHeader(name)) }
        return HTTPResponse(
            statusCode: HTTPStatusCode(answer.status, phrase: SimulatorEngine.phrase(answer.status)), headers: headers,
            body: answer.body)
    }
}

/// A request the engine has counted in and planned, waiting for its latency to pass.
struct SimulatorExchange: Sendable {
    var method: String
    var path: String
    var params: [String: String]
    var authorization: String?
    var plan: RequestPlan

    /// How long the transport waits before asking for the answer (the latency fault).
    var latencyMilliseconds: Int { plan.latencyMilliseconds }
}

/// An answer as it goes on the wire, whatever serves it: FlyingFox in tests, threads in
/// `tokenwatch-sim`.
struct SimulatorAnswer: Sendable {
    var status: Int
    var headers: [(String, String)]
    var body: Data
}

extension SimulatorEngine {
    /// Counts a request in and decides what the faults mean for it. `path` and `query` are
    /// as sent (percent-encoded, the query without "?"); a POST's form body joins the query's
    /// parameters, winning over them.
    func receive(method: String, path: String, query: String, body: Data, authorization: String?)
        -> SimulatorExchange
    {
        let route = Self.route(path)
        let plan = begin(pathKey: "\(method) /\(route.path)")
        var params = FormDecoding.parameters(query)
        if method == "POST", !body.isEmpty {
            params.merge(FormDecoding.parameters(String(decoding: body, as: UTF8.self))) { _, body in body }
        }
        return SimulatorExchange(
            method: method, path: route.path, params: params, authorization: authorization, plan: plan)
    }

    /// The answer to a request once its latency has passed; nil: close the connection without
    /// a byte (the drop fault).
    func answer(_ exchange: SimulatorExchange) -> SimulatorAnswer? {
        let plan = exchange.plan
        var response = answer(
            method: exchange.method, path: exchange.path, params: exchange.params,
            authorization: exchange.authorization, plan: plan)
        if plan.redirect, !response.drop {
            // The body stays what it was (for a batch, its JSON array): a 3xx is still no answer.
            let port = state.withLock { $0.port }
            response.status = 302
            response.headers.append(("Location", "http://127.0.0.1:\(port)/moved/\(exchange.path)"))
        }
        end(response)
        return wireAnswer(response, plan: plan)
    }

    /// Splits `/v25.0/me/accounts` into the version (any `vNN` or `vNN.N`, or none) and the
    /// rest without surrounding slashes (`me/accounts`; `""` for the batch endpoint).
    static func route(_ rawPath: String) -> (version: String?, path: String) {
        var parts = rawPath.split(separator: "/", omittingEmptySubsequences: true)
        var version: String?
        if let first = parts.first, isVersion(first) {
            version = String(first)
            parts.removeFirst()
        }
        return (version, parts.joined(separator: "/"))
    }

    static func isVersion(_ part: Substring) -> Bool {
        guard part.first == "v" else { return false }
        let numbers = part.dropFirst().split(separator: ".", omittingEmptySubsequences: false)
        return (1...2).contains(numbers.count)
            && numbers.allSatisfy { !$0.isEmpty && $0.allSatisfy { $0.isASCII && $0.isNumber } }
    }

    private func answer(
        method: String, path: String, params: [String: String], authorization: String?, plan: RequestPlan
    ) -> SimulatedResponse {
        switch plan.failure {
        case .drop?:
            return SimulatedResponse(status: 0, body: "", drop: true)
        case .htmlOutage?:
            return SimulatedResponse(
                status: 503, body: Self.outagePage, contentType: "text/html; charset=\"utf-8\"", rejected: true)
        case .outage?:
            return SimulatedResponse(
                status: 500,
                body: DebugTokenAnswers.envelope(
                    message: "An unknown error occurred", code: 1, isTransient: true, traceID: plan.traceID),
                rejected: true)
        case .transientUnauthorized?:
            return SimulatedResponse(
                status: 401,
                body: DebugTokenAnswers.envelope(
                    message: DebugTokenAnswers.message(forCode: 2, subcode: nil), code: 2, isTransient: true,
                    traceID: plan.traceID),
                rejected: true)
        case .echoingOutage?:
            let tokens = Self.tokens(params: params, authorization: authorization)
            return SimulatedResponse(
                status: 500,
                body: DebugTokenAnswers.envelope(
                    message: "An unknown error occurred while processing \(tokens.joined(separator: ", "))", code: 1,
                    isTransient: true, traceID: plan.traceID),
                rejected: true)
        case .echoingRejection?:
            let token = params["access_token"] ?? Self.bearer(authorization) ?? ""
            return topLevelError(
                400, message: "Malformed access token \(token)", code: 190, invalidToken: true, plan: plan)
        case nil:
            break
        }
        switch (method, path) {
        case ("POST", ""):
            return batch(params: params, authorization: authorization, plan: plan)
        case ("GET", "debug_token"), ("POST", "debug_token"):
            return debugToken(params: params, authorization: authorization, plan: plan)
        case ("GET", "me/accounts"):
            return accounts(params: params, authorization: authorization, plan: plan)
        default:
            return topLevelError(
                400, message: "Unknown path components: /\(path)", code: 2500, plan: plan)
        }
    }

    /// A whole-request error answer.
    func topLevelError(
        _ status: Int, message: String, type: String = "OAuthException", code: Int, isTransient: Bool? = nil,
        invalidToken: Bool = false, plan: RequestPlan
    ) -> SimulatedResponse {
        var response = SimulatedResponse(
            status: status,
            body: DebugTokenAnswers.envelope(
                message: message, type: type, code: code, isTransient: isTransient, traceID: plan.traceID),
            rejected: true)
        if invalidToken {
            response.headers.append(("WWW-Authenticate", Self.wwwAuthenticate(message)))
        }
        return response
    }

    /// The refusal of a request that went over the rate limit.
    func rateLimited(_ plan: RequestPlan) -> SimulatedResponse {
        var response = topLevelError(
            403, message: "(#4) Application request limit reached", code: 4, isTransient: true, plan: plan)
        response.rateLimited = true
        return response
    }

    /// Every token a request carries, as an echoing fault quotes them: its access token (form,
    /// query or `Authorization`), then each `input_token`, a batch's items' included.
    static func tokens(params: [String: String], authorization: String?) -> [String] {
        var tokens: [String] = []
        if let access = params["access_token"] ?? bearer(authorization), !access.isEmpty { tokens.append(access) }
        if let input = params["input_token"], !input.isEmpty { tokens.append(input) }
        let items = params["batch"].flatMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) } as? [Any]
        for case let item as [String: Any] in items ?? [] {
            guard let url = item["relative_url"] as? String, let question = url.firstIndex(of: "?") else { continue }
            let query = FormDecoding.parameters(String(url[url.index(after: question)...]))
            if let input = query["input_token"], !input.isEmpty { tokens.append(input) }
        }
        return tokens
    }

    /// The token of `Authorization: OAuth <t>` or `Bearer <t>`.
    static func bearer(_ authorization: String?) -> String? {
        guard let authorization else { return nil }
        let parts = authorization.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, ["oauth", "bearer"].contains(parts[0].lowercased()) else { return nil }
        return parts[1].trimmingCharacters(in: .whitespaces)
    }

    static func wwwAuthenticate(_ message: String) -> String {
        #"OAuth "Facebook Platform" "invalid_token" ""# + message.replacingOccurrences(of: "\"", with: "'") + "\""
    }

    /// Checks the app token and `appsecret_proof` as Graph does; nil when they pass.
    func appCredentialError(params: [String: String], authorization: String?, plan: RequestPlan) -> SimulatedResponse? {
        guard let token = params["access_token"] ?? Self.bearer(authorization), !token.isEmpty else {
            return topLevelError(
                400,
                message:
                    "(#100) You must provide an app access token, or a user access token that is an owner or developer of the app",
                code: 100, plan: plan)
        }
        guard token == appToken else {
            let message =
                token.contains("|") ? "Invalid OAuth access token signature." : DebugTokenAnswers.cannotParseMessage
            return topLevelError(400, message: message, code: 190, invalidToken: true, plan: plan)
        }
        return proofError(params: params, expected: appTokenProof, plan: plan)
    }

    /// Checks `appsecret_proof` against `expected`; nil when it passes.
    func proofError(params: [String: String], expected: String, plan: RequestPlan) -> SimulatedResponse? {
        if let proof = params["appsecret_proof"] {
            guard proof == expected else {
                return topLevelError(
                    400, message: "Invalid appsecret_proof provided in the API argument", type: "GraphMethodException",
                    code: 100, plan: plan)
            }
        } else if plan.requireAppSecretProof {
            return topLevelError(
                400, message: "API calls from the server require an appsecret_proof argument",
                type: "GraphMethodException", code: 100, plan: plan)
        }
        return nil
    }

    /// The answer with the headers every Graph answer has; nil for a dropped connection.
    func wireAnswer(_ response: SimulatedResponse, plan: RequestPlan) -> SimulatorAnswer? {
        if response.drop { return nil }
        var headers: [(String, String)] = [
            ("Content-Type", response.contentType),
            ("facebook-api-version", servedVersion),
            ("x-fb-trace-id", plan.traceID),
            ("Cache-Control", "private, no-cache, no-store, must-revalidate"),
        ]
        let appUsage: String
        if response.rateLimited {
            appUsage = Self.usage(104, time: 12, cpu: 9)
        } else if let usage = plan.usage {
            switch usage.header {
            case .app:
                appUsage = Self.usage(usage.percent, time: usage.percent / 3, cpu: usage.percent / 4)
            case .page:
                appUsage = Self.usage(3, time: 1, cpu: 1)
                headers.append(
                    ("X-Page-Usage", Self.usage(usage.percent, time: usage.percent / 3, cpu: usage.percent / 4)))
            case .businessUseCase:
                appUsage = Self.usage(3, time: 1, cpu: 1)
                let regain = usage.percent >= 100 ? 12 : 0
                headers.append(
                    (
                        "X-Business-Use-Case-Usage",
                        #"{"\#(appID)":[{"type":"pages","call_count":\#(usage.percent),"total_cputime":\#(usage.percent / 4),"total_time":\#(usage.percent / 3),"estimated_time_to_regain_access":\#(regain)}]}"#
                    ))
            }
        } else {
            appUsage = Self.usage(3, time: 1, cpu: 1)
        }
        headers.append(("X-App-Usage", appUsage))
        headers += response.headers
        var body = Data(response.body.utf8)
        if plan.truncate {
            body = body.prefix(body.count / 2)
        }
        return SimulatorAnswer(status: response.status, headers: headers, body: body)
    }

    static func usage(_ calls: Int, time: Int, cpu: Int) -> String {
        #"{"call_count":\#(calls),"total_time":\#(time),"total_cputime":\#(cpu)}"#
    }

    static func phrase(_ status: Int) -> String {
        switch status {
        case 200: "OK"
        case 302: "Found"
        case 400: "Bad Request"
        case 401: "Unauthorized"
        case 403: "Forbidden"
        case 404: "Not Found"
        case 500: "Internal Server Error"
        case 503: "Service Unavailable"
        default: "Status \(status)"
        }
    }

    static let outagePage = """
        <!DOCTYPE html>
        <html lang="en"><head><meta charset="utf-8"><title>Facebook | Error</title></head>
        <body><h1>Sorry, something went wrong.</h1>
        <p>We're working on it and we'll get it fixed as soon as we can.</p></body></html>

        """
}
