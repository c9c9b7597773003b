import Foundation
import TokenWatchModel

/// Any JSON document, decoded without a schema. Graph's answers vary (IDs as numbers or
/// strings, fields missing, keys added), so the client reads them leniently through this
/// instead of failing a whole batch on one surprise.
enum JSONValue: Sendable, Equatable, Decodable {
    case null
    case bool(Bool)
    case integer(Int64)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let value = try? container.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? container.decode(Int64.self) {
            self = .integer(value)
        } else if let value = try? container.decode(Double.self) {
            self = .number(value)
        } else if let value = try? container.decode(String.self) {
            self = .string(value)
        } else if let value = try? container.decode([JSONValue].self) {
            self = .array(value)
        } else {
            self = .object(try container.decode([String: JSONValue].self))
        }
    }

    /// The document in `bytes`, or nil when they are not (complete) JSON.
    ///
    /// Read by `JSONReader` straight from the bytes, not through `Decodable` (whose
    /// try-each-type probing cost a quarter of a 100,000-page run's CPU) nor through
    /// JSONSerialization and casts from `Any` (an NSNumber or NSString per value, then a
    /// dynamic cast each: again a quarter of the CPU of a whole `tokenwatch check`).
    static func parse(_ bytes: [UInt8]) -> JSONValue? {
        bytes.withUnsafeBufferPointer { JSONReader.parse($0) }
    }

    static func parse(_ text: String) -> JSONValue? {
        var text = text
        return text.withUTF8 { JSONReader.parse($0) }
    }

    subscript(key: String) -> JSONValue? {
        if case .object(let members) = self { members[key] } else { nil }
    }

    var object: [String: JSONValue]? {
        if case .object(let members) = self { members } else { nil }
    }

    var array: [JSONValue]? {
        if case .array(let elements) = self { elements } else { nil }
    }

    var string: String? {
        if case .string(let text) = self { text } else { nil }
    }

    /// A whole number, from a JSON integer, an integral float or a numeric string.
    var int: Int? {
        switch self {
        case .integer(let value): Int(exactly: value)
        case .number(let value): value.isFinite && value.rounded() == value ? Int(exactly: value) : nil
        case .string(let text): Int(text.trimmingCharacters(in: .whitespaces))
        default: nil
        }
    }

    /// A percentage or count that may be fractional, rounded up.
    var roundedUpInt: Int? {
        switch self {
        case .number(let value) where value.isFinite && abs(value) < 1e15: Int(value.rounded(.up))
        case .string(let text):
            Double(text.trimmingCharacters(in: .whitespaces)).flatMap { JSONValue.number($0).roundedUpInt }
        default: int
        }
    }

    /// true/false, also from 1/0 and "true"/"false".
    var bool: Bool? {
        switch self {
        case .bool(let value): value
        case .integer(0): false
        case .integer(1): true
        case .string("true"): true
        case .string("false"): false
        default: nil
        }
    }

    /// An ID Graph sends either as a string or as a number.
    var id: String? {
        switch self {
        case .string(let text): text.isEmpty ? nil : text
        case .integer(let value): String(value)
        case .number(let value) where value.isFinite && value.rounded() == value && abs(value) < 9.0e18:
            String(Int64(value))
        default: nil
        }
    }

    /// "an object", "an array" … for messages about unexpected shapes.
    var kind: String {
        switch self {
        case .null: "null"
        case .bool: "a boolean"
        case .integer, .number: "a number"
        case .string: "a string"
        case .array: "an array"
        case .object: "an object"
        }
    }
}
