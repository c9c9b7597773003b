import Foundation
import Testing

@testable import TokenWatchGraph
@testable import TokenWatchHTTP
@testable import TokenWatchMail
@testable import TokenWatchModel
@testable import TokenWatchStore

/// `GraphAPIClient` over real libcurl against loopback servers answering every shape Graph
/// has been seen to send.
@Suite("GraphAPIClient")
struct GraphAPIClientTests {
    static let appSecret = Secret("app-secret-s3cr3t")
    static let appToken = Secret("1234567890|app-secret-s3cr3t")
    /// HMAC-SHA256(key: "app-secret-s3cr3t", message: "1234567890|app-secret-s3cr3t"), from
    /// Python's hmac module — an independent computation.
    static let appTokenProof = "65ddc276b3b566f65e0e0e2fd04bb38961ba67e9973095c90227352da55686ff"
    static let userToken = Secret("EAAuserTOKEN+/=&x")
    /// The same for the user token "EAAuserTOKEN+/=&x".
    static let userTokenProof = "5a117c053d89eb9dbca37cc6a802689817abdec4181d4b598a67104e2a86ca48"

    /// Runs `body` with a client for a server answering through `handler`.
    @discardableResult
    func withGraph<T>(
        logs: LogRecorder = LogRecorder(),
        _ handler: @escaping LoopbackHTTPServer.Handler,
        _ body: (GraphAPIClient, LoopbackHTTPServer) async throws -> T
    ) async throws -> T {
        try await withHTTPServer(handler) { server in
            try await withCurlLoop { loop in
                let client = GraphAPIClient(
                    baseURL: server.baseURL + "/", version: "v25.0", appToken: Self.appToken,
                    appSecret: Self.appSecret, http: CurlHTTPClient(loop: loop), timeoutSeconds: 60,
                    logger: logs.logger())
                return try await body(client, server)
            }
        }
    }

    /// `withGraph` for a server that gives every request the same answer.
    @discardableResult
    func withGraph<T>(
        replying reply: LoopbackHTTPServer.Reply,
        _ body: (GraphAPIClient, LoopbackHTTPServer) async throws -> T
    ) async throws -> T {
        try await withGraph({ _ in reply }, body)
    }

    // MARK: The request

    @Test("the batch is one form-encoded POST; tokens with + & = % and UTF-8 survive, none in the URL")
    func requestShape() async throws {
        let tokens = ["EAA+plus/slash", "a&b=c", "ünïcödé✓ 🙂", "percent%20literal", "space here", #"quote"back\slash"#]
        let logs = LogRecorder()
        let handler: LoopbackHTTPServer.Handler = { request in
            let count = batchTokens(in: request).count
            return .json("[" + Array(repeating: validItem(profileID: "1"), count: count).joined(separator: ",") + "]")
        }
        try await withGraph(logs: logs, handler) { client, server in
            let batch = try await client.debugTokens(tokens.map(Secret.init))
            #expect(batch.outcomes.count == tokens.count)

            let seen = try #require(await server.requests().first)
            #expect(seen.method == "POST")
            #expect(seen.path == "/v25.0/")
            #expect(seen.query.isEmpty)
            #expect(seen.headers["content-type"] == "application/x-www-form-urlencoded")
            let form = try #require(decodeForm(seen.bodyText))
            #expect(form["access_token"] == Self.appToken.reveal)
            #expect(form["appsecret_proof"] == Self.appTokenProof)
            #expect(form["include_headers"] == "false")
            #expect(batchTokens(in: seen) == tokens)
            #expect(batchMethods(in: seen) == Array(repeating: "GET", count: tokens.count))
            // The raw body holds no token in clear: each is encoded twice (query, then form).
            for token in tokens { #expect(!seen.bodyText.contains(token)) }
            #expect(!seen.bodyText.contains("|"))
        }
        for line in logs.all {
            for token in tokens + [Self.appToken.reveal, Self.appSecret.reveal] { #expect(!line.contains(token)) }
        }
        #expect(logs.all.contains { $0.contains("Graph batch answered") })
    }

    @Test("more than 50 tokens is refused before any request; an empty list sends nothing")
    func batchLimit() async throws {
        try await withGraph(replying: .json("[]")) { client, server in
            let tooMany = (0...50).map { Secret("token-\($0)") }
            await #expect(
                throws: GraphClientError.transport(.invalidRequest("a batch holds at most 50 tokens, got 51"))
            ) {
                _ = try await client.debugTokens(tooMany)
            }
            let empty = try await client.debugTokens([])
            #expect(empty.outcomes.isEmpty)
            #expect(await server.requests().isEmpty)
        }
    }

    // MARK: Items

    @Test("every item shape decodes to its outcome, in request order")
    func itemShapes() async throws {
        let items: [String] = [
            // 0: a healthy Page token, undocumented keys included.
            wrap(
                #"{"data":{"app_id":"1234567890","type":"PAGE","application":"Acme Bots","data_access_expires_at":1790000000,"expires_at":0,"is_valid":true,"issued_at":1760000000,"profile_id":"104000000000001","scopes":["pages_show_list","pages_messaging","pages_manage_metadata"],"granular_scopes":[{"scope":"pages_messaging","target_ids":["104000000000001"]},{"scope":"pages_show_list"}],"user_id":"5550001","metadata":{"sso":"x"},"auth_type":"rerequest"}}"#
            ),
            // 1: invalidated: data.error with `subcode`.
            wrap(
                #"{"data":{"app_id":"1234567890","type":"PAGE","expires_at":0,"is_valid":false,"scopes":[],"user_id":"5550001","error":{"code":190,"subcode":460,"message":"The session has been invalidated because the user changed their password."}}}"#
            ),
            // 2: a garbage token: only error, is_valid and scopes.
            wrap(
                #"{"data":{"error":{"code":190,"message":"Invalid OAuth access token."},"is_valid":false,"scopes":[]}}"#
            ),
            // 3: IDs as numbers, a real expiry.
            wrap(
                #"{"data":{"app_id":1234567890,"type":"PAGE","expires_at":1800000000,"is_valid":true,"profile_id":104000000000002,"user_id":5550002,"scopes":["pages_messaging"],"granular_scopes":[{"scope":"pages_messaging","target_ids":[104000000000002]}]}}"#
            ),
            // 4: no answer within the batch time limit.
            "null",
            // 5: a non-200 item with the error envelope (`error_subcode`).
            wrap(
                #"{"error":{"message":"Error validating access token","type":"OAuthException","code":190,"error_subcode":463,"is_transient":false,"fbtrace_id":"AbCdEf123"}}"#,
                code: 400),
            // 6: a transient error on a 500 item.
            wrap(
                #"{"error":{"message":"An unexpected error has occurred.","type":"OAuthException","code":2,"is_transient":true,"fbtrace_id":"Zz9"}}"#,
                code: 500),
            // 7: an item body that is not JSON.
            wrap("<html>oops</html>"),
            // 8: a truncated item body.
            wrap(#"{"data":{"is_valid":tr"#),
            // 9: JSON, but neither data nor error.
            wrap(#"{"something":"else"}"#),
            // 10: data without is_valid.
            wrap(#"{"data":{"type":"PAGE"}}"#),
        ]
        try await withGraph(replying: .json("[" + items.joined(separator: ",") + "]")) { client, _ in
            let batch = try await client.debugTokens((0..<items.count).map { Secret("t\($0)") })
            let outcomes = batch.outcomes
            try #require(outcomes.count == items.count)

            #expect(
                outcomes[0]
                    == .info(
                        TokenInfo(
                            isValid: true, type: "PAGE", appID: "1234567890", profileID: "104000000000001",
                            userID: "5550001",
                            scopes: ["pages_show_list", "pages_messaging", "pages_manage_metadata"],
                            granularScopes: [
                                GranularScope(scope: "pages_messaging", targetIDs: ["104000000000001"]),
                                GranularScope(scope: "pages_show_list"),
                            ],
                            expiresAt: nil, dataAccessExpiresAt: Date(timeIntervalSince1970: 1_790_000_000),
                            issuedAt: Date(timeIntervalSince1970: 1_760_000_000))))
            guard case .info(let invalid) = outcomes[1] else {
                Issue.record("item 1: \(outcomes[1])")
                return
            }
            #expect(!invalid.isValid)
            #expect(invalid.error?.code == 190)
            #expect(invalid.error?.subcode == 460)
            #expect(invalid.scopes.isEmpty)

            #expect(
                outcomes[2]
                    == .info(
                        TokenInfo(isValid: false, error: GraphError(code: 190, message: "Invalid OAuth access token.")))
            )
            guard case .info(let numeric) = outcomes[3] else {
                Issue.record("item 3: \(outcomes[3])")
                return
            }
            #expect(numeric.appID == "1234567890")
            #expect(numeric.profileID == "104000000000002")
            #expect(numeric.userID == "5550002")
            #expect(numeric.granularScopes == [GranularScope(scope: "pages_messaging", targetIDs: ["104000000000002"])])
            #expect(numeric.expiresAt == Date(timeIntervalSince1970: 1_800_000_000))

            #expect(outcomes[4] == .undecided("no answer within the batch time limit"))
            #expect(
                outcomes[5]
                    == .graphError(
                        GraphError(
                            code: 190, subcode: 463, type: "OAuthException", message: "Error validating access token",
                            fbtraceID: "AbCdEf123", isTransient: false), httpStatus: 400))
            guard case .graphError(let transient, 500) = outcomes[6] else {
                Issue.record("item 6: \(outcomes[6])")
                return
            }
            #expect(transient.code == 2)
            #expect(transient.isTransient)
            for index in 7...10 {
                guard case .undecided = outcomes[index] else {
                    Issue.record("item \(index) should be undecided: \(outcomes[index])")
                    continue
                }
            }
        }
    }

    // MARK: The whole request

    @Test("a top-level 400 code 190 is .rejected, with usage and the served version")
    func rejected190() async throws {
        let reply = LoopbackHTTPServer.Reply.json(
            #"{"error":{"message":"Invalid OAuth access token - Cannot parse access token","type":"OAuthException","code":190,"fbtrace_id":"Tr4ce"}}"#,
            status: 400,
            headers: [
                ("facebook-api-version", "v25.0"),
                ("X-App-Usage", #"{"call_count":12,"total_time":3,"total_cputime":4}"#),
                ("WWW-Authenticate", #"OAuth "Facebook Platform" "invalid_token" "Cannot parse access token""#),
            ])
        try await withGraph(replying: reply) { client, _ in
            await #expect(
                throws: GraphClientError.rejected(
                    GraphError(
                        code: 190, type: "OAuthException",
                        message: "Invalid OAuth access token - Cannot parse access token",
                        fbtraceID: "Tr4ce"),
                    httpStatus: 400, usage: GraphUsage(highestPercent: 12), servedVersion: "v25.0")
            ) {
                _ = try await client.debugTokens([Secret("t")])
            }
        }
    }

    @Test("a top-level 500 code 1 instead of the array is .rejected")
    func rejected500() async throws {
        let reply = LoopbackHTTPServer.Reply.json(
            #"{"error":{"message":"An unknown error has occurred.","type":"OAuthException","code":1,"is_transient":true,"fbtrace_id":"X"}}"#,
            status: 500)
        try await withGraph(replying: reply) { client, _ in
            let error = await #expect(throws: GraphClientError.self) { _ = try await client.debugTokens([Secret("t")]) }
            guard case .rejected(let graphError, 500, _, nil)? = error else {
                Issue.record("got \(String(describing: error))")
                return
            }
            #expect(graphError.code == 1)
            #expect(graphError.isTransient)
        }
    }

    @Test("an HTML 502 page, a truncated array and a wrong item count are .malformed")
    func malformed() async throws {
        let html = LoopbackHTTPServer.Reply(
            status: 502, headers: [("Content-Type", "text/html")],
            body: Array("<html><body>Bad Gateway</body></html>".utf8))
        try await withGraph(replying: html) { client, _ in
            let error = await #expect(throws: GraphClientError.self) { _ = try await client.debugTokens([Secret("t")]) }
            guard case .malformed(502, let what)? = error else {
                Issue.record("got \(String(describing: error))")
                return
            }
            #expect(what.contains("HTML"))
        }
        let truncated = LoopbackHTTPServer.Reply.json(
            "[" + wrap(#"{"data":{"is_valid":true}}"#) + ",{\"code\":200,\"bo")
        try await withGraph(replying: truncated) { client, _ in
            let error = await #expect(throws: GraphClientError.self) {
                _ = try await client.debugTokens([Secret("a"), Secret("b")])
            }
            guard case .malformed(200, let what)? = error else {
                Issue.record("got \(String(describing: error))")
                return
            }
            #expect(what.contains("truncated"))
        }
        let short = LoopbackHTTPServer.Reply.json("[" + wrap(#"{"data":{"is_valid":true}}"#) + "]")
        try await withGraph(replying: short) { client, _ in
            await #expect(
                throws: GraphClientError.malformed(httpStatus: 200, "the batch answer has 1 items for 2 tokens")
            ) {
                _ = try await client.debugTokens([Secret("a"), Secret("b")])
            }
        }
        let object = LoopbackHTTPServer.Reply.json(#"{"data":[]}"#)
        try await withGraph(replying: object) { client, _ in
            await #expect(throws: GraphClientError.self) { _ = try await client.debugTokens([Secret("a")]) }
        }
    }

    @Test("usage headers (≥ 90, even above 100) and facebook-api-version are read on success")
    func usageAndVersion() async throws {
        let reply = LoopbackHTTPServer.Reply.json(
            "[" + validItem(profileID: "1") + "]",
            headers: [
                ("X-App-Usage", #"{"call_count":28,"total_time":25,"total_cputime":25}"#),
                ("X-Page-Usage", #"{"call_count":855,"total_time":3,"total_cputime":2}"#),
                (
                    "X-Business-Use-Case-Usage",
                    #"{"104000000000001":[{"type":"pages","call_count":95,"total_cputime":20,"total_time":30,"estimated_time_to_regain_access":12}]}"#
                ),
                ("facebook-api-version", "v26.0"),
            ])
        try await withGraph(replying: reply) { client, _ in
            let batch = try await client.debugTokens([Secret("t")])
            #expect(batch.usage == GraphUsage(highestPercent: 855, minutesToRegainAccess: 12))
            #expect(batch.usage.demandsStop)
            #expect(batch.servedVersion == "v26.0")
        }
        let business = LoopbackHTTPServer.Reply.json(
            "[" + validItem(profileID: "1") + "]",
            headers: [
                (
                    "X-Business-Use-Case-Usage",
                    #"{"1":[{"type":"pages","call_count":90,"total_cputime":1,"total_time":1}]}"#
                )
            ])
        try await withGraph(replying: business) { client, _ in
            let batch = try await client.debugTokens([Secret("t")])
            #expect(batch.usage.highestPercent == 90)
            #expect(batch.usage.demandsStop)
            #expect(batch.servedVersion == nil)
        }
    }

    @Test("a connection failure is .transport")
    func transportFailure() async throws {
        let port = try SilentListener.closedPort()
        try await withCurlLoop { loop in
            let client = GraphAPIClient(
                baseURL: "http://127.0.0.1:\(port)", version: "v25.0", appToken: Self.appToken,
                appSecret: Self.appSecret,
                http: CurlHTTPClient(loop: loop), timeoutSeconds: 5, logger: LogRecorder().logger())
            let error = await #expect(throws: GraphClientError.self) { _ = try await client.debugTokens([Secret("t")]) }
            guard case .transport(.connectionFailed)? = error else {
                Issue.record("got \(String(describing: error))")
                return
            }
        }
    }

    // MARK: me/accounts

    @Test("me/accounts follows paging.next with the token in the header, never in a URL")
    func accountsPaging() async throws {
        let logs = LogRecorder()
        let handler: LoopbackHTTPServer.Handler = { request in
            if request.path == "/v25.0/me/accounts" {
                let next =
                    "http://127.0.0.1:\(request.headers["host"]?.split(separator: ":").last ?? "")/v25.0/5550001/accounts?access_token=LEAKED-USER-TOKEN&fields=id%2Cname%2Caccess_token%2Ctasks&limit=100&after=QVFI%7CcurSor"
                return .json(
                    #"{"data":[{"id":"104000000000001","name":"Acme Shoes","access_token":"page-token-1","tasks":["MODERATE","MESSAGING"]},{"id":104000000000002,"name":"Acme Café","access_token":"page-token-2","tasks":[]},{"id":"104000000000009","name":"No token"}],"paging":{"cursors":{"before":"a","after":"b"},"next":"\#(next)"}}"#,
                    headers: [("facebook-api-version", "v25.0")])
            }
            return .json(
                #"{"data":[{"id":"104000000000003","name":"Acme Bikes","access_token":"page-token-3","tasks":["ADVERTISE"]}],"paging":{"cursors":{"before":"c","after":"d"}}}"#
            )
        }
        try await withGraph(logs: logs, handler) { client, server in
            let granted = try await client.grantedPages(userToken: Self.userToken)

            #expect(
                granted.pages == [
                    GrantedPage(
                        pageID: "104000000000001", name: "Acme Shoes", accessToken: Secret("page-token-1"),
                        tasks: ["MODERATE", "MESSAGING"]),
                    GrantedPage(pageID: "104000000000002", name: "Acme Café", accessToken: Secret("page-token-2")),
                    GrantedPage(
                        pageID: "104000000000003", name: "Acme Bikes", accessToken: Secret("page-token-3"),
                        tasks: ["ADVERTISE"]),
                ])
            #expect(granted.servedVersion == "v25.0")
            let requests = await server.requests()
            #expect(requests.map(\.path) == ["/v25.0/me/accounts", "/v25.0/5550001/accounts"])
            for request in requests {
                #expect(request.method == "GET")
                #expect(request.headers["authorization"] == "OAuth \(Self.userToken.reveal)")
                #expect(!request.query.contains("access_token="))
                #expect(!request.query.contains("LEAKED"))
                #expect(request.query.contains("appsecret_proof=\(Self.userTokenProof)"))
            }
            #expect(requests.first?.query.hasPrefix("fields=id,name,access_token,tasks&limit=100") == true)
            #expect(requests.last?.query.contains("after=QVFI%7CcurSor") == true)
        }
        for line in logs.all {
            for secret in [Self.userToken.reveal, "page-token-1", "LEAKED"] { #expect(!line.contains(secret)) }
        }
    }

    @Test("a paging.next to another host or port is refused, not followed")
    func foreignNext() async throws {
        for foreign in ["http://evil.example/v25.0/1/accounts?after=x", "http://127.0.0.1:1/v25.0/1/accounts?after=x"] {
            let handler: LoopbackHTTPServer.Handler = { _ in
                .json(#"{"data":[{"id":"1","name":"A","access_token":"page-token"}],"paging":{"next":"\#(foreign)"}}"#)
            }
            try await withGraph(handler) { client, server in
                let error = await #expect(throws: GraphClientError.self) {
                    _ = try await client.grantedPages(userToken: Self.userToken)
                }
                guard case .malformed(200, let what)? = error else {
                    Issue.record("got \(String(describing: error))")
                    return
                }
                #expect(!what.contains("evil"))
                #expect(await server.requests().count == 1)
            }
        }
    }

    @Test("me/accounts with a rejected user token is .rejected")
    func accountsRejected() async throws {
        let reply = LoopbackHTTPServer.Reply.json(
            #"{"error":{"message":"Error validating access token: Session has expired","type":"OAuthException","code":190,"error_subcode":463,"fbtrace_id":"F"}}"#,
            status: 400)
        try await withGraph(replying: reply) { client, _ in
            let error = await #expect(throws: GraphClientError.self) {
                _ = try await client.grantedPages(userToken: Self.userToken)
            }
            guard case .rejected(let graphError, 400, _, _)? = error else {
                Issue.record("got \(String(describing: error))")
                return
            }
            #expect(graphError.codeText == "code 190/463")
            #expect(!(error?.description.contains(Self.userToken.reveal) ?? true))
        }
    }
}

// MARK: Helpers (independent of the code under test: Foundation's decoding, not FormEncoding)

/// A batch item `{"code": …, "body": "<json as a string>"}`.
private func wrap(_ body: String, code: Int = 200) -> String {
    let data =
        (try? JSONSerialization.data(withJSONObject: ["code": code, "body": body], options: [.sortedKeys])) ?? Data()
    return String(decoding: data, as: UTF8.self)
}

private func validItem(profileID: String) -> String {
    wrap(
        #"{"data":{"app_id":"1234567890","type":"PAGE","is_valid":true,"expires_at":0,"profile_id":"\#(profileID)","scopes":["pages_messaging"]}}"#
    )
}

/// Decodes an `application/x-www-form-urlencoded` body.
private func decodeForm(_ text: String) -> [String: String]? {
    var fields: [String: String] = [:]
    for pair in text.split(separator: "&") {
        let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false).map {
            $0.replacingOccurrences(of: "+", with: " ").removingPercentEncoding
        }
        guard parts.count == 2, let name = parts[0], let value = parts[1] else { return nil }
        fields[name] = value
    }
    return fields
}

private func batchItems(in request: LoopbackHTTPServer.Request) -> [[String: String]] {
    guard let batch = decodeForm(request.bodyText)?["batch"],
        let items = try? JSONSerialization.jsonObject(with: Data(batch.utf8)) as? [[String: String]]
    else { return [] }
    return items
}

/// The `input_token` of every batch item, decoded.
private func batchTokens(in request: LoopbackHTTPServer.Request) -> [String] {
    batchItems(in: request).compactMap { item in
        guard let url = item["relative_url"], url.hasPrefix("debug_token?input_token=") else { return nil }
        return String(url.dropFirst("debug_token?input_token=".count)).removingPercentEncoding
    }
}

private func batchMethods(in request: LoopbackHTTPServer.Request) -> [String] {
    batchItems(in: request).compactMap { $0["method"] }
}
