import Foundation
import Testing

@testable import TokenWatchGraph
@testable import TokenWatchHTTP
@testable import TokenWatchModel
@testable import TokenWatchStore

/// The pure parts of the Graph client: encodings, the proof, usage headers, paging URLs.
@Suite("Graph wire format")
struct GraphWireFormatTests {
    @Test("appsecret_proof matches an independently computed HMAC-SHA256 (Python's hmac)")
    func proof() {
        #expect(
            AppSecretProof.make(
                accessToken: Secret("1234567890|app-secret-s3cr3t"), appSecret: Secret("app-secret-s3cr3t"))
                == "65ddc276b3b566f65e0e0e2fd04bb38961ba67e9973095c90227352da55686ff")
        // RFC 4231 test case 2.
        #expect(
            AppSecretProof.make(accessToken: Secret("what do ya want for nothing?"), appSecret: Secret("Jefe"))
                == "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
    }

    @Test("percent-encoding keeps only unreserved characters and round-trips")
    func percentEncoding() {
        #expect(FormEncoding.percentEncode("a+b&c=d e/ü%") == "a%2Bb%26c%3Dd%20e%2F%C3%BC%25")
        #expect(FormEncoding.percentEncode("AZaz09-._~") == "AZaz09-._~")
        for text in ["EAA+/=&?#", "ünïcödé✓ 🙂", "", "100%"] {
            #expect(FormEncoding.percentDecode(Substring(FormEncoding.percentEncode(text))) == text)
        }
        #expect(FormEncoding.percentDecode("a+b") == "a b")
        #expect(FormEncoding.percentDecode("%zz") == nil)
        #expect(FormEncoding.encode([("k 1", "v&2"), ("b", "")]) == "k%201=v%262&b=")
    }

    @Test("usage headers: the highest figure over all headers and entries, the longest regain time")
    func usage() {
        let response = HTTPResponse(
            status: 200,
            headers: [
                ("x-app-usage", #"{"call_count":28,"total_time":25,"total_cputime":25}"#),
                ("x-page-usage", #"{"call_count":"7","total_time":91.2,"total_cputime":1}"#),
                (
                    "x-business-use-case-usage",
                    #"{"1":[{"type":"pages","call_count":5,"total_cputime":1,"total_time":1,"estimated_time_to_regain_access":3}],"2":[{"type":"messenger","call_count":1,"total_cputime":2,"total_time":3,"estimated_time_to_regain_access":40}]}"#
                ),
            ])
        #expect(GraphUsage(response: response) == GraphUsage(highestPercent: 92, minutesToRegainAccess: 40))
        #expect(GraphUsage(response: HTTPResponse(status: 200)) == GraphUsage())
        #expect(GraphUsage(response: HTTPResponse(status: 200, headers: [("x-app-usage", "not json")])) == GraphUsage())
    }

    @Test("paging.next is followed only on the same origin, with access_token removed")
    func pagingNext() {
        let base = "https://graph.facebook.com"
        let proof = "p"
        #expect(
            GraphAPIClient.sameOriginNext(
                "https://graph.facebook.com/v25.0/1/accounts?access_token=SECRET&limit=25&after=QV%7C1#frag",
                base: base, proof: proof)
                == "https://graph.facebook.com/v25.0/1/accounts?limit=25&after=QV%7C1&appsecret_proof=p")
        #expect(
            GraphAPIClient.sameOriginNext(
                "https://GRAPH.facebook.com:443/v25.0/1/accounts?access%5Ftoken=S&appsecret_proof=old", base: base,
                proof: proof)
                == "https://GRAPH.facebook.com:443/v25.0/1/accounts?appsecret_proof=p")
        for refused in [
            "http://graph.facebook.com/v25.0/1/accounts",  // another scheme
            "https://graph.facebook.com:8443/v25.0/1/accounts",  // another port
            "https://graph.facebook.com.evil.example/v25.0/1/accounts",
            "https://graph.facebook.com@evil.example/v25.0/1/accounts",  // user info
            "https://evil.example\\@graph.facebook.com/",  // parser differential
            "https://graph.facebook.com /x",
            "/v25.0/1/accounts",  // relative
            "",
        ] {
            #expect(GraphAPIClient.sameOriginNext(refused, base: base, proof: proof) == nil, "\(refused)")
        }
    }

    @Test("lenient JSON: IDs as strings or numbers, codes as strings, unknown shapes are nil")
    func jsonValue() throws {
        let value = try #require(JSONValue.parse(#"{"a":104000000000001,"b":"7","c":1.0,"d":true,"e":null,"f":1.5}"#))
        #expect(value["a"]?.id == "104000000000001")
        #expect(value["b"]?.int == 7)
        #expect(value["c"]?.int == 1)
        #expect(value["d"]?.bool == true)
        #expect(value["d"]?.int == nil)
        #expect(value["e"] == .null)
        #expect(value["f"]?.int == nil)
        #expect(value["f"]?.roundedUpInt == 2)
        #expect(JSONValue.parse("[1,2") == nil)
        #expect(JSONValue.parse("") == nil)
    }

    @Test("an item whose body is an object, not a string, is read the same")
    func objectBody() throws {
        let item = try #require(JSONValue.parse(#"{"code":200,"body":{"data":{"is_valid":true}}}"#))
        #expect(GraphAPIClient.decodeItem(item, redactor: Redactor()) == .info(TokenInfo(isValid: true)))
        #expect(
            GraphAPIClient.decodeItem(.string("x"), redactor: Redactor())
                == .undecided("the batch item is a string, not an object"))
    }

    @Test("a batch array is believed only with HTTP 200 and one item per token")
    func batchAnswerStatusAndLength() throws {
        let item = #"{"code":200,"body":"{\"data\":{\"is_valid\":true,\"type\":\"PAGE\",\"profile_id\":\"1\"}}"}"#
        let array = Array("[\(item),\(item)]".utf8)
        #expect(
            try GraphAPIClient.decodeBatch(HTTPResponse(status: 200, body: array), tokenCount: 2, redactor: Redactor())
                .outcomes.count == 2)
        for status in [302, 301, 304, 204, 100, 404, 500] {
            #expect(throws: GraphClientError.self, "HTTP \(status)") {
                try GraphAPIClient.decodeBatch(
                    HTTPResponse(status: status, body: array), tokenCount: 2, redactor: Redactor())
            }
        }
        do {
            _ = try GraphAPIClient.decodeBatch(
                HTTPResponse(status: 302, headers: [("Location", "http://elsewhere/")], body: array), tokenCount: 2,
                redactor: Redactor())
            Issue.record("a 302 was believed")
        } catch {
            guard case .malformed(302, let what) = error else { throw error }
            #expect(what.contains("HTTP 302"))
        }
        for count in [1, 3] {
            #expect(throws: GraphClientError.self) {
                try GraphAPIClient.decodeBatch(
                    HTTPResponse(status: 200, body: array), tokenCount: count, redactor: Redactor())
            }
        }
        // Graph's own error object still counts with 4xx/5xx: it concerns the whole request.
        let envelope = Array(#"{"error":{"code":190,"message":"bad app token","type":"OAuthException"}}"#.utf8)
        do {
            _ = try GraphAPIClient.decodeBatch(
                HTTPResponse(status: 400, body: envelope), tokenCount: 2, redactor: Redactor())
            Issue.record("an error envelope was not rejected")
        } catch {
            guard case .rejected(let graphError, 400, _, _) = error else { throw error }
            #expect(graphError.code == 190)
        }
    }

    @Test("me/accounts lists pages only in a 200 answer")
    func accountsAnswerStatus() throws {
        let body = Array(#"{"data":[{"id":"104","name":"Acme","access_token":"EAApage","tasks":["MANAGE"]}]}"#.utf8)
        #expect(
            try GraphAPIClient.decodeAccountsPage(HTTPResponse(status: 200, body: body), redactor: Redactor()).pages
                .count == 1)
        for status in [302, 307, 404, 500] {
            #expect(throws: GraphClientError.self, "HTTP \(status)") {
                try GraphAPIClient.decodeAccountsPage(HTTPResponse(status: status, body: body), redactor: Redactor())
            }
        }
    }
}
