import Foundation
import Testing

@testable import TokenWatchGraph
@testable import TokenWatchHTTP
@testable import TokenWatchModel

/// The scanner that reads common batch items straight from the bytes must decide exactly what
/// the general decoder decides: the same outcomes, or the same error, for every answer.
@Suite("Batch answer scanner")
struct BatchAnswerScannerTests {
    /// An item as Graph (and the simulator) writes it: the body is JSON text in a string.
    static func item(_ body: String, code: Int = 200) -> String {
        let escaped = body.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
        return #"{"code":\#(code),"body":"\#(escaped)"}"#
    }

    static let page =
        #"{"data":{"app_id":"1234567890","type":"PAGE","application":"Bench App","data_access_expires_at":1800000000,"expires_at":0,"is_valid":true,"issued_at":1790000000,"profile_id":"200000000000001","scopes":["pages_show_list","pages_messaging"],"granular_scopes":[{"scope":"pages_show_list"},{"scope":"pages_messaging","target_ids":["200000000000001",7]}],"user_id":"5550001"}}"#

    /// Items of every shape the decoders meet, healthy and not.
    static let items: [String] = [
        item(page),
        item(
            #"{"data":{"app_id":"1","type":"PAGE","application":"A","error":{"code":190,"message":"Error validating access token: The user has changed the password.","subcode":460},"expires_at":0,"is_valid":false,"scopes":[],"user_id":"5550001"}}"#
        ),
        item(
            #"{"data":{"error":{"code":190,"message":"Invalid OAuth access token - Cannot parse access token"},"is_valid":false,"scopes":[]}}"#
        ),
        item(
            #"{"data":{"app_id":1234567890,"type":"USER","is_valid":true,"scopes":["a","b"],"user_id":"","profile_id":12}}"#
        ),
        item(#"{"data":{"is_valid":1,"scopes":["x"]}}"#),
        item(#"{"data":{"is_valid":"true","expires_at":"1800000000"}}"#),
        item(#"{"data":{"is_valid":true,"expires_at":1.8e9}}"#),
        item(#"{"data":{"is_valid":true,"expires_at":-5,"issued_at":0}}"#),
        item(#"{"data":{"is_valid":true,"type":"PAGE","type":"USER"}}"#),
        item(#"{"data":{"is_valid":true,"application":"Caf\u00e9 \"Bench\"","scopes":["a\nb"]}}"#),
        item(#"{"data":{"is_valid":true,"application":"Café"}}"#),
        item(
            #"{"data":{"is_valid":true,"granular_scopes":[{"target_ids":["1"]},{"scope":"s","target_ids":[]},{"scope":"t","extra":1}]}}"#
        ),
        item(#"{"data":{"scopes":["a"]}}"#),
        item(
            #"{"error":{"message":"(#4) Application request limit reached","type":"OAuthException","code":4,"is_transient":true,"fbtrace_id":"Abc"}}"#,
            code: 403),
        item(#"{"error":{"message":"Unsupported get request.","code":100,"error_subcode":33}}"#, code: 400),
        item(page, code: 500),
        item(#"{"data":{"is_valid":true}} trailing"#),
        item(#"{"data":{"is_valid":true},"paging":{}}"#),
        #"{"code":200,"body":{"data":{"is_valid":true}}}"#,
        #"{"code":200,"headers":[{"name":"Content-Type","value":"text/javascript; charset=UTF-8"}],"body":"{\"data\":{\"is_valid\":true}}"}"#,
        #"{"code":200}"#,
        #"{"code":"200","body":"{\"data\":{\"is_valid\":true}}"}"#,
        #"{"code":200,"body":"{\"data\":{\"is_valid\":true}}","code":400}"#,
        #"{"code":200,"body":"{\"da\u0074a\":{\"is_valid\":true}}"}"#,
        #"{"code":200,"body":"{\"data\":{\"is_valid\":tru"}"#,
        "null",
        "7",
        #""text""#,
        "[]",
    ]

    static func decode(_ body: [UInt8], status: Int = 200, tokens: Int, scanning: Bool) -> String {
        do {
            let batch = try GraphAPIClient.decodeBatch(
                HTTPResponse(status: status, body: body), tokenCount: tokens,
                redactor: Redactor(secrets: [Secret("SECRETTOKEN")]),
                scanning: scanning)
            return "\(batch.outcomes)"
        } catch {
            return "error: \(error)"
        }
    }

    static func expectSame(_ text: String, tokens: Int, _ comment: String) {
        let bytes = Array(text.utf8)
        let scanned = decode(bytes, tokens: tokens, scanning: true)
        let general = decode(bytes, tokens: tokens, scanning: false)
        #expect(scanned == general, "\(comment): \(text)")
    }

    @Test("every item shape, alone and in a batch, decodes as the general decoder decodes it")
    func shapes() {
        for item in Self.items {
            Self.expectSame("[" + item + "]", tokens: 1, "alone")
            Self.expectSame(" [ " + Self.item(Self.page) + " ,\n" + item + " ] ", tokens: 2, "second")
        }
        Self.expectSame("[" + Self.items.joined(separator: ",") + "]", tokens: Self.items.count, "all")
        Self.expectSame("[" + Self.items.joined(separator: ",") + "]", tokens: 3, "wrong count")
        Self.expectSame("[]", tokens: 0, "empty")
        Self.expectSame("\u{FEFF}[" + Self.item(Self.page) + "]", tokens: 1, "byte-order mark")
        Self.expectSame("[\u{FEFF}null]", tokens: 1, "byte-order mark inside")
    }

    @Test("the healthy item is read by the scanner itself")
    func fastPathTaken() throws {
        let body = Array(("[" + Self.item(Self.page) + "]").utf8)
        let items = try #require(body.withUnsafeBufferPointer { BatchAnswerScanner.items($0) })
        guard case .decoded(.info(let info))? = items.first else {
            Issue.record("not decoded by the scanner")
            return
        }
        #expect(info.scopes == ["pages_show_list", "pages_messaging"])
        #expect(info.granularScopes[1].targetIDs == ["200000000000001", "7"])
        #expect(info.expiresAt == nil)
        #expect(info.dataAccessExpiresAt == Date(timeIntervalSince1970: 1_800_000_000))
    }

    @Test("damaged answers: 3,000 random cuts, insertions and swaps decide the same")
    func mutations() {
        var generator = SystemRandomNumberGenerator()
        let base = Array(("[" + Self.items.prefix(6).joined(separator: ",") + "]").utf8)
        let alphabet = Array(#"{}[]",:\ 0-.eEtrufalsn"#.utf8) + [0x80, 0xEF, 0x0A, 0x01]
        for round in 0..<3_000 {
            var bytes = base
            for _ in 0..<Int.random(in: 1...3, using: &generator) {
                let position = Int.random(in: 0..<bytes.count, using: &generator)
                switch Int.random(in: 0..<3, using: &generator) {
                case 0: bytes.remove(at: position)
                case 1: bytes.insert(alphabet.randomElement(using: &generator) ?? 0x20, at: position)
                default: bytes[position] = alphabet.randomElement(using: &generator) ?? 0x20
                }
            }
            let scanned = Self.decode(bytes, tokens: 6, scanning: true)
            let general = Self.decode(bytes, tokens: 6, scanning: false)
            #expect(scanned == general, "round \(round): \(String(decoding: bytes, as: UTF8.self))")
        }
    }
}
