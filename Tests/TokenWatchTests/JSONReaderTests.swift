import Foundation
import Testing

@testable import TokenWatchGraph

/// The Foundation-free JSON reader reads what JSONSerialization read, and refuses what it
/// refused: the batch decoder's verdicts must not change with the parser under them.
@Suite("JSON reader")
struct JSONReaderTests {
    /// What the previous route (JSONSerialization, then casts) made of `text`.
    static func viaFoundation(_ text: String) -> JSONValue? {
        guard let object = try? JSONSerialization.jsonObject(with: Data(text.utf8), options: [.fragmentsAllowed])
        else { return nil }
        return convert(object)
    }

    static func convert(_ object: Any) -> JSONValue {
        switch object {
        case let text as String: return .string(text)
        case let number as NSNumber:
            let type = String(cString: number.objCType)
            if type == "c" { return .bool(number.boolValue) }
            if type == "d" || type == "f" { return .number(number.doubleValue) }
            return .integer(number.int64Value)
        case let array as [Any]: return .array(array.map(convert))
        case let dictionary as [String: Any]: return .object(dictionary.mapValues(convert))
        default: return .null
        }
    }

    @Test(
        "Graph's shapes read as JSONSerialization read them",
        arguments: [
            #"[{"code":200,"headers":[{"name":"Content-Type","value":"text/javascript; charset=UTF-8"}],"body":"{\"data\":{\"app_id\":\"1234567890\",\"type\":\"PAGE\",\"application\":\"Acme Bots\",\"data_access_expires_at\":1798000000,\"expires_at\":0,\"is_valid\":true,\"issued_at\":1790000000,\"profile_id\":\"104000000000001\",\"scopes\":[\"pages_show_list\",\"pages_messaging\"],\"granular_scopes\":[{\"scope\":\"pages_messaging\",\"target_ids\":[\"104000000000001\"]}],\"user_id\":\"10200000000000001\"}}"},null]"#,
            #"{"data":{"error":{"code":190,"message":"Error validating access token: The user has not authorized application 1234567890.","subcode":458},"is_valid":false,"scopes":[]}}"#,
            #"{"error":{"message":"(#4) Application request limit reached","type":"OAuthException","is_transient":true,"code":4,"error_subcode":2446079,"fbtrace_id":"AbCdEf"}}"#,
            #"  {"a":104000000000001,"b":"7","c":1.0,"d":true,"e":null,"f":1.5,"h":1e3,"i":-12.5E-2} "#,
            #"{"s":"caf\u00e9 \ud83d\ude00 \"q\" \\ \/ \b\f\n\r\t","u":"日本語","empty":"","k":{},"l":[]}"#,
            #"[9223372036854775807,-1234567,0.1]"#,
            #""just a string""#, "42", "true", "null", #"{"dup":1,"dup":2}"#,
        ])
    func matchesFoundation(_ text: String) throws {
        let ours = try #require(JSONValue.parse(text))
        #expect(ours == Self.viaFoundation(text))
    }

    @Test(
        "what is not one complete JSON value is nil",
        arguments: [
            "", " ", "[1,2", "{\"a\":1", "{\"a\" 1}", "{a:1}", "[1,]", "{\"a\":1,}", "01", "1.", ".5", "-", "+1",
            "1e", "tru", "nul", "[1] x", "\"unterminated", "\"bad \\x escape\"", "\"\\u12\"", "\"\\ud800\"",
            "\"tab\tinside\"", "<html>", "[1][2]",
        ])
    func refuses(_ text: String) {
        // Stricter than swift-corelibs-foundation's JSONSerialization, which takes a trailing
        // comma ("[1,]"): Graph never sends one, and a batch that is not JSON stays undecided.
        #expect(JSONValue.parse(text) == nil)
    }

    @Test("a whole number beyond 64 bits is a number, not a wrapped integer")
    func hugeIntegers() {
        #expect(JSONValue.parse("9223372036854775808") == .number(9_223_372_036_854_775_808))
        #expect(JSONValue.parse("-0") == .integer(0))
        #expect(JSONValue.parse("-9223372036854775808") == .integer(.min))
    }

    @Test("bytes that are not UTF-8 inside a string are refused")
    func invalidUTF8() {
        #expect(JSONValue.parse([UInt8(ascii: "\""), 0xC3, 0x28, UInt8(ascii: "\"")]) == nil)
        #expect(JSONValue.parse([0xEF, 0xBB, 0xBF] + Array("[1]".utf8)) == .array([.integer(1)]))
    }

    @Test("nesting deeper than the limit is refused, not a crash")
    func deepNesting() {
        let deep = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
        #expect(JSONValue.parse(deep) == nil)
        let fine = String(repeating: "[", count: 100) + String(repeating: "]", count: 100)
        #expect(JSONValue.parse(fine) != nil)
    }
}
