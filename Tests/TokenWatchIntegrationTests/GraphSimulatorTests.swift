import Foundation
import GraphSimulator
import Testing

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

// MARK: - Helpers shared by the GraphSimulator*Tests files

/// One HTTP answer as the simulator's tests look at it.
struct SimAnswer: Sendable {
    var status: Int
    /// Header names lowercased.
    var headers: [String: String]
    var body: Data

    var text: String { String(decoding: body, as: UTF8.self) }

    /// The body as a JSON object (throws when it is not one).
    func object() throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: body) as? [String: Any])
    }

    /// The body as a batch answer: one entry per item, nil for a `null` item.
    func items() throws -> [SimItem?] {
        let array = try #require(try JSONSerialization.jsonObject(with: body) as? [Any])
        return try array.map { element in
            if element is NSNull { return nil }
            let item = try #require(element as? [String: Any])
            let headers = (item["headers"] as? [[String: String]])?.reduce(into: [String: String]()) {
                $0[($1["name"] ?? "").lowercased()] = $1["value"]
            }
            return SimItem(
                code: try #require(item["code"] as? Int), headers: headers,
                body: try #require(item["body"] as? String))
        }
    }

    /// The `error` object of a top-level error answer.
    func error() throws -> [String: Any] {
        try #require(try object()["error"] as? [String: Any])
    }
}

/// One item of a batch answer.
struct SimItem: Sendable {
    var code: Int
    /// nil when the item carried no headers; names lowercased.
    var headers: [String: String]?
    var body: String

    func object() throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any])
    }

    /// `body.data` of a `debug_token` answer.
    func data() throws -> [String: Any] {
        try #require(try object()["data"] as? [String: Any])
    }

    /// `body.error` of an error item.
    func error() throws -> [String: Any] {
        try #require(try object()["error"] as? [String: Any])
    }
}

/// A plain HTTP client over loopback for the simulator's tests.
enum SimHTTP {
    static let appID = "1234567890"
    static let appSecret = "sim-test-secret"
    static let appToken = "\(appID)|\(appSecret)"
    static let appProof = GraphSimulator.appSecretProof(accessToken: appToken, appSecret: appSecret)

    static let session: URLSession = {
        let configuration = URLSessionConfiguration.ephemeral
        configuration.httpMaximumConnectionsPerHost = 32
        configuration.timeoutIntervalForRequest = 30
        return URLSession(configuration: configuration)
    }()

    static func get(_ url: String, headers: [String: String] = [:]) async throws -> SimAnswer {
        var request = URLRequest(url: try #require(URL(string: url)))
        for (name, value) in headers { request.setValue(value, forHTTPHeaderField: name) }
        return try await send(request)
    }

    static func post(_ url: String, form: [(String, String)]) async throws -> SimAnswer {
        var request = URLRequest(url: try #require(URL(string: url)))
        request.httpMethod = "POST"
        request.setValue("application/x-www-form-urlencoded", forHTTPHeaderField: "Content-Type")
        request.httpBody = Data(formEncode(form).utf8)
        return try await send(request)
    }

    static func send(_ request: URLRequest) async throws -> SimAnswer {
        let (data, response) = try await session.data(for: request)
        let http = try #require(response as? HTTPURLResponse)
        var headers: [String: String] = [:]
        for (name, value) in http.allHeaderFields {
            if let name = name as? String, let value = value as? String { headers[name.lowercased()] = value }
        }
        return SimAnswer(status: http.statusCode, headers: headers, body: data)
    }

    static func encode(_ text: String) -> String {
        let allowed = CharacterSet(charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
        return text.addingPercentEncoding(withAllowedCharacters: allowed) ?? text
    }

    static func formEncode(_ form: [(String, String)]) -> String {
        form.map { "\(encode($0.0))=\(encode($0.1))" }.joined(separator: "&")
    }

    /// `GET {base}/v25.0/debug_token` with the app token and its proof.
    static func debugToken(_ graph: GraphSimulator, _ token: String, version: String = "v25.0") async throws
        -> SimAnswer
    {
        try await get(
            "\(graph.baseURL)/\(version)/debug_token?input_token=\(encode(token))&access_token=\(encode(appToken))"
                + "&appsecret_proof=\(appProof)")
    }

    /// `POST {base}/v25.0/` with one `debug_token` request per token.
    static func batch(
        _ graph: GraphSimulator, _ tokens: [String], accessToken: String? = appToken, proof: String? = appProof,
        includeHeaders: Bool? = nil
    ) async throws -> SimAnswer {
        let requests = tokens.map {
            #"{"method":"GET","relative_url":"debug_token?input_token=\#(encode($0))"}"#
        }
        var form = [("batch", "[" + requests.joined(separator: ",") + "]")]
        if let accessToken { form.append(("access_token", accessToken)) }
        if let proof { form.append(("appsecret_proof", proof)) }
        if let includeHeaders { form.append(("include_headers", includeHeaders ? "true" : "false")) }
        return try await post("\(graph.baseURL)/v25.0/", form: form)
    }

    /// Both ways the simulator serves HTTP: every test of its answers runs over each.
    static let transports: [GraphSimulator.Transport] = [.flyingFox, .threads]

    /// Runs `body` against a simulator started over `transport` and stops it afterwards.
    static func withSimulator(
        over transport: GraphSimulator.Transport, requireAppSecretProof: Bool = true,
        _ body: (GraphSimulator) async throws -> Void
    ) async throws {
        let graph = GraphSimulator(appID: appID, appSecret: appSecret, requireAppSecretProof: requireAppSecretProof)
        try await graph.start(transport: transport)
        do {
            try await body(graph)
        } catch {
            await graph.stop()
            throw error
        }
        await graph.stop()
    }
}

// MARK: - debug_token and batch

@Suite("GraphSimulator: debug_token and batch")
struct GraphSimulatorTests {
    static let page = "104000000000001"

    @Test(arguments: SimHTTP.transports) func validTokenAnswerHasTheDocumentedShapeAndHeaders(
        over transport: GraphSimulator.Transport
    ) async throws {
        try await SimHTTP.withSimulator(over: transport) { graph async throws in
            #expect(graph.port > 0)
            #expect(graph.baseURL == "http://127.0.0.1:\(graph.port)")
            let answer = try await SimHTTP.debugToken(
                graph, GraphSimulator.token(.valid, page: Self.page, suffix: "x7"))
            #expect(answer.status == 200)
            #expect(answer.headers["facebook-api-version"] == "v25.0")
            #expect(answer.headers["x-fb-trace-id"]?.isEmpty == false)
            let usage = try #require(answer.headers["x-app-usage"])
            let usageObject = try #require(try JSONSerialization.jsonObject(with: Data(usage.utf8)) as? [String: Int])
            #expect(Set(usageObject.keys) == ["call_count", "total_time", "total_cputime"])
            #expect((usageObject["call_count"] ?? 100) < 90)

            let data = try #require(try answer.object()["data"] as? [String: Any])
            let now = Int(Date().timeIntervalSince1970)
            #expect(data["app_id"] as? String == SimHTTP.appID)
            #expect(data["type"] as? String == "PAGE")
            #expect(data["application"] as? String == "Acme Bots")
            #expect(data["is_valid"] as? Bool == true)
            #expect(data["profile_id"] as? String == Self.page)
            #expect(data["user_id"] as? String != nil)
            #expect(data["expires_at"] as? Int == 0)
            let dataAccess = try #require(data["data_access_expires_at"] as? Int)
            #expect(dataAccess > now + 80 * 86_400 && dataAccess < now + 91 * 86_400)
            #expect(data["issued_at"] as? Int != nil)
            #expect(data["scopes"] as? [String] == ["pages_show_list", "pages_messaging", "pages_manage_metadata"])
            let granular = try #require(data["granular_scopes"] as? [[String: Any]])
            let messaging = try #require(granular.first { $0["scope"] as? String == "pages_messaging" })
            #expect(messaging["target_ids"] as? [String] == [Self.page])
            #expect(data["error"] == nil)
        }
    }

    /// Every named behaviour, in one batch, against what GRAPH_API.md says it looks like.
    @Test(arguments: SimHTTP.transports) func everyNamedBehaviourAnswersAsDocumented(
        over transport: GraphSimulator.Transport
    ) async throws {
        try await SimHTTP.withSimulator(over: transport) { graph async throws in
            let behaviours = TokenBehaviour.named
            let tokens = behaviours.map { GraphSimulator.token($0, page: Self.page, suffix: "t") }
            let answer = try await SimHTTP.batch(graph, tokens)
            #expect(answer.status == 200)
            let items = try answer.items()
            try #require(items.count == behaviours.count)
            let now = Int(Date().timeIntervalSince1970)
            for (behaviour, maybeItem) in zip(behaviours, items) {
                let item = try #require(maybeItem, "\(behaviour)")
                try Self.check(behaviour, item, now: now)
            }
        }
    }

    static func check(_ behaviour: TokenBehaviour, _ item: SimItem, now: Int) throws {
        let context = Comment(rawValue: "\(behaviour)")
        func invalid(subcode: Int?, scopesEmpty: Bool = true) throws -> [String: Any] {
            #expect(item.code == 200, context)
            let data = try item.data()
            #expect(data["is_valid"] as? Bool == false, context)
            #expect(data["type"] as? String == "PAGE", context)
            #expect(data["app_id"] as? String == SimHTTP.appID, context)
            let error = try #require(data["error"] as? [String: Any], context)
            #expect(error["code"] as? Int == 190, context)
            #expect(error["subcode"] as? Int == subcode, context)
            #expect(error["error_subcode"] == nil, context)
            #expect((error["message"] as? String)?.isEmpty == false, context)
            #expect((data["scopes"] as? [String])?.isEmpty == scopesEmpty, context)
            #expect(
                item.headers?["www-authenticate"]?.hasPrefix(#"OAuth "Facebook Platform" "invalid_token""#) == true,
                context)
            return data
        }
        func valid(type: String = "PAGE") throws -> [String: Any] {
            #expect(item.code == 200, context)
            let data = try item.data()
            #expect(data["is_valid"] as? Bool == true, context)
            #expect(data["type"] as? String == type, context)
            #expect(data["error"] == nil, context)
            #expect(item.headers?["www-authenticate"] == nil, context)
            return data
        }
        func itemError(code: Int, status: Int, subcode: Int? = nil) throws -> [String: Any] {
            #expect(item.code == status, context)
            let error = try item.error()
            #expect(error["code"] as? Int == code, context)
            #expect(error["error_subcode"] as? Int == subcode, context)
            #expect(error["type"] as? String == "OAuthException", context)
            #expect((error["fbtrace_id"] as? String)?.isEmpty == false, context)
            #expect((error["message"] as? String)?.isEmpty == false, context)
            return error
        }

        switch behaviour {
        case .valid:
            let data = try valid()
            #expect(data["profile_id"] as? String == page, context)
        case .passwordChanged:
            let data = try invalid(subcode: 460, scopesEmpty: false)
            #expect(data["expires_at"] as? Int == 0, context)
            #expect(data["profile_id"] as? String == page, context)
        case .expired:
            let data = try invalid(subcode: 463)
            let expiresAt = try #require(data["expires_at"] as? Int, context)
            #expect(expiresAt != 0 && expiresAt < now, context)
        case .appRemoved: _ = try invalid(subcode: 458)
        case .checkpoint: _ = try invalid(subcode: 459)
        case .unconfirmedUser: _ = try invalid(subcode: 464)
        case .revoked: _ = try invalid(subcode: 466)
        case .loggedOut: _ = try invalid(subcode: 467)
        case .roleRemoved: _ = try invalid(subcode: 492)
        case .invalidWithoutSubcode:
            let data = try invalid(subcode: nil)
            #expect(data["expires_at"] as? Int == 0, context)
        case .garbage, .systemErrorMessage:
            #expect(item.code == 200, context)
            let data = try item.data()
            #expect(Set(data.keys) == ["error", "is_valid", "scopes"], context)
            #expect(data["is_valid"] as? Bool == false, context)
            #expect(data["scopes"] as? [String] == [], context)
            let error = try #require(data["error"] as? [String: Any], context)
            #expect(error["code"] as? Int == 190, context)
            #expect(error["subcode"] == nil, context)
        case .garbageAsItemError:
            let error = try itemError(code: 190, status: 400)
            #expect(error["message"] as? String == "Invalid OAuth access token - Cannot parse access token", context)
            #expect(item.headers?["www-authenticate"] != nil, context)
        case .otherPage:
            let data = try valid()
            #expect(data["profile_id"] as? String != page, context)
            #expect(data["app_id"] as? String == SimHTTP.appID, context)
        case .otherApp:
            let data = try valid()
            #expect(data["app_id"] as? String != SimHTTP.appID, context)
            #expect(data["profile_id"] as? String == page, context)
        case .userToken:
            let data = try valid(type: "USER")
            #expect(data["profile_id"] == nil, context)
        case .missingPermissions:
            let data = try valid()
            let scopes = try #require(data["scopes"] as? [String], context)
            #expect(!scopes.contains("pages_messaging") && scopes.contains("pages_manage_metadata"), context)
        case .scopes(let expected):
            #expect(try valid()["scopes"] as? [String] == expected, context)
        case .dataAccessExpiringSoon:
            let data = try valid()
            let at = try #require(data["data_access_expires_at"] as? Int, context)
            #expect(at > now && at < now + 14 * 86_400, context)
            #expect(data["expires_at"] as? Int == 0, context)
        case .dataAccessExpired:
            let data = try valid()
            #expect(try #require(data["data_access_expires_at"] as? Int, context) < now, context)
        case .expiringSoon:
            let data = try valid()
            let at = try #require(data["expires_at"] as? Int, context)
            #expect(at > now && at < now + 14 * 86_400, context)
            #expect(data["metadata"] != nil, context)
        case .flaky:
            let error = try itemError(code: 2, status: 500)
            #expect(error["is_transient"] as? Bool == true, context)
        case .permissionError:
            let error = try itemError(code: 200, status: 403)
            #expect((error["message"] as? String)?.hasPrefix("(#200)") == true, context)
        case .itemError(let code, let subcode):
            _ = try itemError(code: code, status: code == 190 ? 400 : DebugStatus.forCode(code), subcode: subcode)
        }
    }

    /// The statuses the simulator pairs with item error codes.
    enum DebugStatus {
        static func forCode(_ code: Int) -> Int {
            switch code {
            case 1, 2: 500
            case 4, 10, 17, 200...299: 403
            default: 400
            }
        }
    }

    @Test(arguments: SimHTTP.transports) func batchAnswersFiftyItemsInRequestOrder(
        over transport: GraphSimulator.Transport
    ) async throws {
        try await SimHTTP.withSimulator(over: transport) { graph async throws in
            let pages = (0..<50).map { String(104_000_000_000_100 + $0) }
            let tokens = pages.map { GraphSimulator.token(.valid, page: $0, suffix: "b") }
            let answer = try await SimHTTP.batch(graph, tokens)
            #expect(answer.status == 200)
            #expect(answer.headers["facebook-api-version"] == "v25.0")
            let items = try answer.items()
            #expect(items.count == 50)
            for (page, item) in zip(pages, items) {
                let item = try #require(item)
                #expect(item.code == 200)
                #expect(item.headers?["content-type"]?.hasPrefix("application/json") == true)
                #expect(item.headers?["facebook-api-version"] == "v25.0")
                #expect(try item.data()["profile_id"] as? String == page)
            }
            let stats = graph.stats
            #expect(stats.batchRequests == 1)
            #expect(stats.debugTokenItems == 50)
            #expect(stats.itemsPerBatch == [50])
            #expect(stats.requestsByPath["POST /"] == 1)
        }
    }

    @Test(arguments: SimHTTP.transports) func includeHeadersFalseLeavesItemHeadersOut(
        over transport: GraphSimulator.Transport
    ) async throws {
        try await SimHTTP.withSimulator(over: transport) { graph async throws in
            let tokens = [
                GraphSimulator.token(.valid, page: Self.page), GraphSimulator.token(.revoked, page: Self.page),
            ]
            let without = try await SimHTTP.batch(graph, tokens, includeHeaders: false).items()
            #expect(without.count == 2)
            #expect(without.allSatisfy { $0?.headers == nil })
            #expect(
                !String(decoding: try await SimHTTP.batch(graph, tokens, includeHeaders: false).body, as: UTF8.self)
                    .contains(#""headers""#))
            let with = try await SimHTTP.batch(graph, tokens, includeHeaders: true).items()
            #expect(with[0]?.headers?["www-authenticate"] == nil)
            #expect(with[1]?.headers?["www-authenticate"]?.contains("invalid_token") == true)
        }
    }

    @Test(arguments: SimHTTP.transports) func registrationWinsOverTheNameAndUnknownTokensAreGarbage(
        over transport: GraphSimulator.Transport
    ) async throws {
        try await SimHTTP.withSimulator(over: transport) { graph async throws in
            let named = GraphSimulator.token(.valid, page: Self.page, suffix: "r")
            graph.register(token: named, as: .loggedOut, page: Self.page)
            graph.register(token: "EAAB-registered", as: .valid, page: "104000000000777")
            let items = try await SimHTTP.batch(
                graph, [named, "EAAB-registered", "EAAB-unknown", "simtok_nonsense_1_x"]
            )
            .items()
            let loggedOut = try #require(items[0]?.data()["error"] as? [String: Any])
            #expect(loggedOut["subcode"] as? Int == 467)
            #expect(try items[1]?.data()["profile_id"] as? String == "104000000000777")
            for index in 2...3 {
                let data = try #require(try items[index]?.data())
                #expect(data["is_valid"] as? Bool == false)
                #expect(data["type"] == nil && data["app_id"] == nil && data["user_id"] == nil)
            }
        }
    }

    @Test(arguments: SimHTTP.transports) func anyVersionIsAcceptedAndTheServedOneIsReported(
        over transport: GraphSimulator.Transport
    ) async throws {
        try await SimHTTP.withSimulator(over: transport) { graph async throws in
            let token = GraphSimulator.token(.valid, page: Self.page)
            for version in ["v19.0", "v99.9", "v3"] {
                let answer = try await SimHTTP.debugToken(graph, token, version: version)
                #expect(answer.status == 200, "\(version)")
                #expect(answer.headers["facebook-api-version"] == "v25.0", "\(version)")
            }
            let stats = graph.stats
            #expect(stats.requestsByPath["GET /debug_token"] == 3)
        }
    }

    @Test(arguments: SimHTTP.transports) func singleDebugTokenAnswersItemErrorsWithTheirStatus(
        over transport: GraphSimulator.Transport
    ) async throws {
        try await SimHTTP.withSimulator(over: transport) { graph async throws in
            let permission = try await SimHTTP.debugToken(
                graph, GraphSimulator.token(.permissionError, page: Self.page))
            #expect(permission.status == 403)
            #expect(try permission.error()["code"] as? Int == 200)
            let expired = try await SimHTTP.debugToken(
                graph, GraphSimulator.token(.itemError(code: 190, subcode: 463), page: Self.page))
            #expect(expired.status == 400)
            #expect(try expired.error()["error_subcode"] as? Int == 463)
            #expect(expired.headers["www-authenticate"]?.contains("invalid_token") == true)
            let garbage = try await SimHTTP.debugToken(graph, "not a token at all")
            #expect(garbage.status == 200)
            #expect(try garbage.object()["data"] != nil)
        }
    }

    @Test(arguments: SimHTTP.transports) func flakyTokenFailsTransientlyThenAnswersValid(
        over transport: GraphSimulator.Transport
    ) async throws {
        try await SimHTTP.withSimulator(over: transport) { graph async throws in
            let token = GraphSimulator.token(.flaky(failures: 2), page: Self.page, suffix: "f")
            for attempt in 1...2 {
                let item = try #require(try await SimHTTP.batch(graph, [token]).items().first ?? nil)
                #expect(item.code == 500, "attempt \(attempt)")
                let error = try item.error()
                #expect(error["code"] as? Int == 2)
                #expect(error["is_transient"] as? Bool == true)
            }
            let item = try #require(try await SimHTTP.batch(graph, [token]).items().first ?? nil)
            #expect(item.code == 200)
            #expect(try item.data()["is_valid"] as? Bool == true)
            #expect(graph.stats.debugCount(for: token) == 3)
        }
    }

    @Test(arguments: SimHTTP.transports) func appTokenAndProofAreCheckedLikeGraph(
        over transport: GraphSimulator.Transport
    ) async throws {
        try await SimHTTP.withSimulator(over: transport) { graph async throws in
            let tokens = [GraphSimulator.token(.valid, page: Self.page)]

            let missing = try await SimHTTP.batch(graph, tokens, accessToken: nil, proof: nil)
            #expect(missing.status == 400)
            #expect(try missing.error()["code"] as? Int == 100)
            #expect(
                (try missing.error()["message"] as? String)?.contains("You must provide an app access token") == true)

            let wrongSecret = "\(SimHTTP.appID)|not-the-secret"
            let signature = try await SimHTTP.batch(
                graph, tokens, accessToken: wrongSecret,
                proof: GraphSimulator.appSecretProof(accessToken: wrongSecret, appSecret: "not-the-secret"))
            #expect(signature.status == 400)
            let signatureError = try signature.error()
            #expect(signatureError["code"] as? Int == 190)
            #expect(signatureError["type"] as? String == "OAuthException")
            #expect(signatureError["message"] as? String == "Invalid OAuth access token signature.")
            #expect((signatureError["fbtrace_id"] as? String)?.isEmpty == false)

            let noProof = try await SimHTTP.batch(graph, tokens, proof: nil)
            #expect(noProof.status == 400)
            #expect(try noProof.error()["code"] as? Int == 100)

            let badProof = try await SimHTTP.batch(graph, tokens, proof: String(repeating: "0", count: 64))
            #expect(badProof.status == 400)
            #expect(try badProof.error()["code"] as? Int == 100)
            #expect(
                try badProof.error()["message"] as? String == "Invalid appsecret_proof provided in the API argument")

            let upper = try await SimHTTP.batch(graph, tokens, proof: SimHTTP.appProof.uppercased())
            #expect(upper.status == 400)

            #expect(try await SimHTTP.batch(graph, tokens).status == 200)
            graph.requireAppSecretProof = false
            #expect(try await SimHTTP.batch(graph, tokens, proof: nil).status == 200)
            #expect(try await SimHTTP.batch(graph, tokens, proof: "deadbeef").status == 400)

            let stats = graph.stats
            #expect(stats.rejectedRequests == 6)
            #expect(stats.debugTokenItems == 2)
        }
    }

    @Test(arguments: SimHTTP.transports) func appTokenMayComeInTheAuthorizationHeader(
        over transport: GraphSimulator.Transport
    ) async throws {
        try await SimHTTP.withSimulator(over: transport, requireAppSecretProof: false) { graph async throws in
            let token = GraphSimulator.token(.valid, page: Self.page)
            let answer = try await SimHTTP.get(
                "\(graph.baseURL)/v25.0/debug_token?input_token=\(token)",
                headers: ["Authorization": "OAuth \(SimHTTP.appToken)"])
            #expect(answer.status == 200)
            #expect(try answer.object()["data"] != nil)
        }
    }

    @Test(arguments: SimHTTP.transports) func moreThanFiftyItemsAreRefusedWhole(
        over transport: GraphSimulator.Transport
    ) async throws {
        try await SimHTTP.withSimulator(over: transport) { graph async throws in
            let tokens = (0..<51).map { GraphSimulator.token(.valid, page: String(104_000_000_000_000 + $0)) }
            let answer = try await SimHTTP.batch(graph, tokens)
            #expect(answer.status == 400)
            let error = try answer.error()
            #expect(error["code"] as? Int == 100)
            #expect(error["message"] as? String == "Too many requests in batch message. Maximum batch size is 50")
            #expect(graph.stats.debugTokenItems == 0)
            #expect(graph.stats.batchRequests == 0)
        }
    }

    /// The batch parameter is JSON however a client writes it: escapes, spacing, key order
    /// and keys the simulator ignores change nothing, and what is not an array of requests is
    /// refused whole with Graph's error.
    @Test(arguments: SimHTTP.transports) func batchTextIsReadAsJSONWhateverItsSpelling(
        over transport: GraphSimulator.Transport
    ) async throws {
        try await SimHTTP.withSimulator(over: transport) { graph async throws in
            let valid = GraphSimulator.token(.valid, page: "104000000000001")
            let invalid = GraphSimulator.token(.passwordChanged, page: "104000000000002")
            let url = "debug_token?input_token=\(SimHTTP.encode(valid))"
            let escapedURL = url.replacingOccurrences(of: "/", with: "\\/").replacingOccurrences(
                of: "_", with: "\\u005f")
            let spellings = [
                #"[{"method":"GET","relative_url":"\#(url)"}]"#,
                #" [ { "relative_url" : "\#(url)" , "method" : "GET" , "name" : "first" } ] "#,
                #"[{"method":"GET","relative_url":"\#(escapedURL)"}]"#,
                "[\n\t{\"method\":\"GET\",\n\"relative_url\":\"\(url)\"}\r\n]",
                #"[{"method":"GET","omit_response_on_success":false,"relative_url":"\#(url)"}]"#,
            ]
            for text in spellings {
                let answer = try await SimHTTP.post(
                    "\(graph.baseURL)/v25.0/",
                    form: [("batch", text), ("access_token", SimHTTP.appToken), ("appsecret_proof", SimHTTP.appProof)])
                #expect(answer.status == 200, "\(text)")
                let items = try answer.items()
                #expect(items.count == 1, "\(text)")
                let item = try #require(items.first ?? nil)
                #expect(try item.data()["is_valid"] as? Bool == true, "\(text)")
            }
            // Two requests, the second one's method given as null (GET, as Graph reads it).
            let two =
                #"[{"method":"GET","relative_url":"\#(url)"},{"method":null,"relative_url":"debug_token?input_token=\#(SimHTTP.encode(invalid))"}]"#
            let answer = try await SimHTTP.post(
                "\(graph.baseURL)/v25.0/",
                form: [("batch", two), ("access_token", SimHTTP.appToken), ("appsecret_proof", SimHTTP.appProof)])
            #expect(answer.status == 200)
            let items = try answer.items().map { try #require($0) }
            #expect(try items.map { try $0.data()["is_valid"] as? Bool } == [true, false])

            let refused = [
                "", "[", "{}", #"[{"method":"GET","relative_url":"\#(url)"}"#, #"[{"method":5,"relative_url":"x"}]"#,
                #"[{"method":"GET","relative_url":"\#(url)"}] x"#, #"[{"method":"GET","relative_url":["x"]}]"#,
            ]
            let before = graph.stats.debugTokenItems
            for text in refused {
                let answer = try await SimHTTP.post(
                    "\(graph.baseURL)/v25.0/",
                    form: [("batch", text), ("access_token", SimHTTP.appToken), ("appsecret_proof", SimHTTP.appProof)])
                #expect(answer.status == 400, "\(text)")
                #expect(try answer.error()["code"] as? Int == 100, "\(text)")
            }
            #expect(graph.stats.debugTokenItems == before)
        }
    }

    @Test func tokenNamingConventionRoundTrips() {
        for behaviour in TokenBehaviour.named {
            let name = behaviour.conventionName
            #expect(name != nil)
            #expect(name.flatMap { TokenBehaviour(conventionName: $0) } == behaviour)
            #expect(name?.contains("_") == false)
        }
        #expect(TokenBehaviour(conventionName: "flaky") == .flaky(failures: 1))
        #expect(TokenBehaviour(conventionName: "item-32") == .itemError(code: 32, subcode: nil))
        #expect(TokenBehaviour(conventionName: "no-such") == nil)
        #expect(
            GraphSimulator.token(.valid, page: "104000000000001", suffix: "x7") == "simtok_valid_104000000000001_x7")
    }
}
