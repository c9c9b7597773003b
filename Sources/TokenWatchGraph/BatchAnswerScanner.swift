import Foundation
import TokenWatchModel

/// A reader for the shape nearly every batch answer item has — `{"code":200,"body":"{\"data\":
/// {…}}"}` with a healthy `debug_token` answer — that decodes it straight from the bytes into a
/// `TokenInfo`, without a `JSONValue` tree (a dictionary per object, a `String` per key) or a
/// second parse of the body's text. Building those trees was a fifth of the check's CPU.
///
/// It only ever answers what the general decoder would: anything outside the shape it knows
/// (an error object, an escape or a non-ASCII byte in a string, a number where a string was
/// expected, a repeated or unknown key, a status other than 200) makes it give up on that
/// item, which is then decoded the general way (`decodeItem`); a document it cannot walk is
/// decoded the general way whole. A test holds the two equal on every simulated behaviour.
struct BatchAnswerScanner {
    private let bytes: UnsafeBufferPointer<UInt8>
    private var index = 0

    private init(_ bytes: UnsafeBufferPointer<UInt8>) {
        self.bytes = bytes
    }

    /// One entry per item: the outcome when the item has the known shape, or the item's own
    /// bytes for the general decoder. nil when `body` is not a JSON array of items this reader
    /// can delimit (the general decoder then reads the whole answer).
    enum Item {
        case decoded(DebugTokenOutcome)
        case other(Range<Int>)
    }

    static func items(_ body: UnsafeBufferPointer<UInt8>) -> [Item]? {
        var scanner = BatchAnswerScanner(body)
        scanner.skipWhitespace()
        guard scanner.take(UInt8(ascii: "[")) else { return nil }
        var items: [Item] = []
        items.reserveCapacity(50)
        var unescaped: [UInt8] = []
        unescaped.reserveCapacity(2_048)
        scanner.skipWhitespace()
        if scanner.take(UInt8(ascii: "]")) { return scanner.atEnd() ? items : nil }
        while true {
            scanner.skipWhitespace()
            let start = scanner.index
            // Read as an item of the known shape where it stands; only an item that is not one
            // is passed over a second time, to delimit it for the general decoder.
            var reader = scanner
            if let outcome = reader.item(unescaped: &unescaped), reader.followedByDelimiter() {
                scanner = reader
                items.append(.decoded(outcome))
            } else {
                guard scanner.skipValue(depth: 0) else { return nil }
                items.append(.other(start..<scanner.index))
            }
            scanner.skipWhitespace()
            if scanner.take(UInt8(ascii: ",")) { continue }
            guard scanner.take(UInt8(ascii: "]")) else { return nil }
            return scanner.atEnd() ? items : nil
        }
    }

    /// Whether the next byte, past whitespace, ends an array element (`,` or `]`): an item's
    /// object is all there is to that element.
    private mutating func followedByDelimiter() -> Bool {
        skipWhitespace()
        return index < bytes.count && (bytes[index] == UInt8(ascii: ",") || bytes[index] == UInt8(ascii: "]"))
    }

    // MARK: One item

    /// The outcome of the item of the known shape that starts here, the scanner left just past
    /// it; nil for anything else.
    private mutating func item(unescaped: inout [UInt8]) -> DebugTokenOutcome? {
        var code: Int64?
        var body = false
        guard
            object({ key, scanner in
                switch key {
                case "code":
                    guard code == nil, let value = scanner.integer() else { return false }
                    code = value
                case "body":
                    // The body's text, its escapes undone: the JSON document the item carries.
                    guard !body, scanner.unescapedString(into: &unescaped) else { return false }
                    body = true
                default:
                    return false
                }
                return true
            }), code == 200, body
        else { return nil }
        return unescaped.withUnsafeBufferPointer { document -> DebugTokenOutcome? in
            var inner = BatchAnswerScanner(document)
            var info: TokenInfo?
            guard
                inner.object({ key, scanner in
                    guard key == "data", info == nil, let data = scanner.tokenInfo() else { return false }
                    info = data
                    return true
                }), inner.atEnd(), let info
            else { return nil }
            return .info(info)
        }
    }

    /// `debug_token`'s `data` without an `error`: what `GraphAPIClient.tokenInfo` makes of it.
    private mutating func tokenInfo() -> TokenInfo? {
        var isValid: Bool?
        var type: String?
        var appID: String?
        var profileID: String?
        var userID: String?
        var scopes: [String]?
        var granular: [GranularScope]?
        var expiresAt: Date??
        var dataAccessExpiresAt: Date??
        var issuedAt: Date??
        var application = false
        let read = object { key, scanner in
            switch key {
            case "is_valid":
                guard isValid == nil, let value = scanner.boolean() else { return false }
                isValid = value
            case "type":
                guard type == nil, let value = scanner.string() else { return false }
                type = value
            case "app_id":
                guard appID == nil, let value = scanner.id() else { return false }
                appID = value
            case "profile_id":
                guard profileID == nil, let value = scanner.id() else { return false }
                profileID = value
            case "user_id":
                guard userID == nil, let value = scanner.id() else { return false }
                userID = value
            case "application":
                guard !application, scanner.string() != nil else { return false }
                application = true
            case "scopes":
                guard scopes == nil, let value = scanner.strings() else { return false }
                scopes = value
            case "granular_scopes":
                guard granular == nil, let value = scanner.granularScopes() else { return false }
                granular = value
            case "expires_at":
                guard expiresAt == nil, let value = scanner.integer() else { return false }
                expiresAt = Self.date(value)
            case "data_access_expires_at":
                guard dataAccessExpiresAt == nil, let value = scanner.integer() else { return false }
                dataAccessExpiresAt = Self.date(value)
            case "issued_at":
                guard issuedAt == nil, let value = scanner.integer() else { return false }
                issuedAt = Self.date(value)
            default:
                // `error` and anything else: the general decoder.
                return false
            }
            return true
        }
        guard read, let isValid else { return nil }
        return TokenInfo(
            isValid: isValid, type: type, appID: appID.flatMap { $0 }, profileID: profileID.flatMap { $0 },
            userID: userID.flatMap { $0 }, scopes: scopes ?? [], granularScopes: granular ?? [],
            expiresAt: expiresAt ?? nil, dataAccessExpiresAt: dataAccessExpiresAt ?? nil,
            issuedAt: issuedAt ?? nil, error: nil)
    }

    /// Seconds since 1970, 0 or less meaning "never" (as `GraphAPIClient.date`).
    private static func date(_ seconds: Int64) -> Date? {
        seconds > 0 ? Date(timeIntervalSince1970: TimeInterval(seconds)) : nil
    }

    private mutating func granularScopes() -> [GranularScope]? {
        var entries: [GranularScope] = []
        let read = array { scanner in
            var scope: String?
            var targets: [String]??
            let entry = scanner.object { key, scanner in
                switch key {
                case "scope":
                    guard scope == nil, let value = scanner.string() else { return false }
                    scope = value
                case "target_ids":
                    guard targets == nil, let value = scanner.ids() else { return false }
                    targets = .some(value)
                default:
                    return false
                }
                return true
            }
            guard entry else { return false }
            // An entry without a scope is dropped, as the general decoder drops it.
            if let scope { entries.append(GranularScope(scope: scope, targetIDs: targets ?? nil)) }
            return true
        }
        return read ? entries : nil
    }

    // MARK: Values

    /// `{ "key": value, … }`, calling `member` with each key (ASCII, no escapes) and the
    /// scanner at its value; `member` returns false to give up.
    private mutating func object(_ member: (String, inout BatchAnswerScanner) -> Bool) -> Bool {
        skipWhitespace()
        guard take(UInt8(ascii: "{")) else { return false }
        skipWhitespace()
        if take(UInt8(ascii: "}")) { return true }
        while true {
            skipWhitespace()
            guard let key = string() else { return false }
            skipWhitespace()
            guard take(UInt8(ascii: ":")) else { return false }
            skipWhitespace()
            guard member(key, &self) else { return false }
            skipWhitespace()
            if take(UInt8(ascii: ",")) { continue }
            return take(UInt8(ascii: "}"))
        }
    }

    /// `[ value, … ]`, calling `element` with the scanner at each value.
    private mutating func array(_ element: (inout BatchAnswerScanner) -> Bool) -> Bool {
        skipWhitespace()
        guard take(UInt8(ascii: "[")) else { return false }
        skipWhitespace()
        if take(UInt8(ascii: "]")) { return true }
        while true {
            skipWhitespace()
            guard element(&self) else { return false }
            skipWhitespace()
            if take(UInt8(ascii: ",")) { continue }
            return take(UInt8(ascii: "]"))
        }
    }

    private mutating func strings() -> [String]? {
        var values: [String] = []
        let read = array { scanner in
            guard let value = scanner.string() else { return false }
            values.append(value)
            return true
        }
        return read ? values : nil
    }

    /// IDs as `JSONValue.id` reads them: a string (an empty one is no ID) or an integer.
    private mutating func ids() -> [String]? {
        var values: [String] = []
        let read = array { scanner in
            guard let value = scanner.id() else { return false }
            if let value { values.append(value) }
            return true
        }
        return read ? values : nil
    }

    /// An ID: `.some(nil)` for an empty string, as `JSONValue.id` gives nil for it.
    private mutating func id() -> String?? {
        guard index < bytes.count else { return nil }
        if bytes[index] == UInt8(ascii: "\"") {
            guard let text = string() else { return nil }
            return .some(text.isEmpty ? nil : text)
        }
        return integer().map { .some(String($0)) }
    }

    /// A string of printable ASCII without escapes; nil for anything else (the general
    /// decoder handles escapes and the rest of Unicode).
    private mutating func string() -> String? {
        guard let range = rawString() else { return nil }
        for byte in bytes[range] where byte == UInt8(ascii: "\\") || byte >= 0x80 { return nil }
        return String(decoding: UnsafeBufferPointer(rebasing: bytes[range]), as: UTF8.self)
    }

    /// The bytes between a string's quotes, escapes left as they are; nil when unterminated or
    /// holding a raw control character.
    private mutating func rawString() -> Range<Int>? {
        guard take(UInt8(ascii: "\"")) else { return nil }
        let start = index
        while index < bytes.count {
            let byte = bytes[index]
            if byte == UInt8(ascii: "\"") {
                index += 1
                return start..<index - 1
            }
            if byte < 0x20 { return nil }
            index += byte == UInt8(ascii: "\\") ? 2 : 1
        }
        return nil
    }

    /// An integer in JSON's grammar that fits in 64 bits; nil for fractions, exponents and
    /// anything else.
    private mutating func integer() -> Int64? {
        let start = index
        let negative = index < bytes.count && bytes[index] == UInt8(ascii: "-")
        if negative { index += 1 }
        let digits = index
        var value: Int64 = 0
        while index < bytes.count, bytes[index] >= UInt8(ascii: "0"), bytes[index] <= UInt8(ascii: "9") {
            let (shifted, overflowA) = value.multipliedReportingOverflow(by: 10)
            let (next, overflowB) = shifted.subtractingReportingOverflow(Int64(bytes[index] - UInt8(ascii: "0")))
            guard !overflowA, !overflowB else { return nil }
            value = next
            index += 1
        }
        // No digits, a leading zero before more digits, or a fraction or exponent next.
        guard index > digits, !(bytes[digits] == UInt8(ascii: "0") && index - digits > 1) else {
            index = start
            return nil
        }
        if index < bytes.count,
            bytes[index] == UInt8(ascii: ".") || bytes[index] == UInt8(ascii: "e") || bytes[index] == UInt8(ascii: "E")
        {
            return nil
        }
        if negative { return value }
        let (positive, overflow) = (0 as Int64).subtractingReportingOverflow(value)
        return overflow ? nil : positive
    }

    private mutating func boolean() -> Bool? {
        if literal("true") { return true }
        if literal("false") { return false }
        return nil
    }

    private mutating func literal(_ word: StaticString) -> Bool {
        let count = word.utf8CodeUnitCount
        guard bytes.count - index >= count else { return false }
        for offset in 0..<count where bytes[index + offset] != word.utf8Start[offset] { return false }
        index += count
        return true
    }

    // MARK: Structure

    /// Passes over one value of any kind, checking only how strings and brackets nest; the
    /// general decoder validates whatever this reader does not decode itself.
    private mutating func skipValue(depth: Int) -> Bool {
        guard index < bytes.count, depth < JSONReader.maximumDepth else { return false }
        switch bytes[index] {
        case UInt8(ascii: "\""):
            return rawString() != nil
        case UInt8(ascii: "{"), UInt8(ascii: "["):
            let close = bytes[index] == UInt8(ascii: "{") ? UInt8(ascii: "}") : UInt8(ascii: "]")
            index += 1
            while true {
                skipWhitespace()
                guard index < bytes.count else { return false }
                if bytes[index] == close {
                    index += 1
                    return true
                }
                switch bytes[index] {
                case UInt8(ascii: ","), UInt8(ascii: ":"): index += 1
                default: guard skipValue(depth: depth + 1) else { return false }
                }
            }
        case UInt8(ascii: "}"), UInt8(ascii: "]"), UInt8(ascii: ","), UInt8(ascii: ":"):
            return false
        default:
            // A literal or a number: the characters those are made of, up to a delimiter.
            let start = index
            while index < bytes.count, Self.isLiteralOrNumber(bytes[index]) { index += 1 }
            return index > start
        }
    }

    /// A character of `true`, `false`, `null` or a number.
    private static func isLiteralOrNumber(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "+"), UInt8(ascii: "."),
            UInt8(ascii: "e"), UInt8(ascii: "E"), UInt8(ascii: "t"), UInt8(ascii: "r"), UInt8(ascii: "u"),
            UInt8(ascii: "f"), UInt8(ascii: "a"), UInt8(ascii: "l"), UInt8(ascii: "s"), UInt8(ascii: "n"):
            true
        default:
            false
        }
    }

    /// Reads a string, its escapes undone, into `out` in one pass: the simple escapes only.
    /// False (nothing consumed that matters: the item is then read the general way) for a
    /// `\u` escape, a raw control character or an unterminated string.
    private mutating func unescapedString(into out: inout [UInt8]) -> Bool {
        guard take(UInt8(ascii: "\"")) else { return false }
        out.removeAll(keepingCapacity: true)
        var run = index
        while index < bytes.count {
            let byte = bytes[index]
            if byte != UInt8(ascii: "\"") && byte != UInt8(ascii: "\\") && byte >= 0x20 {
                index += 1
                continue
            }
            // Plain bytes go over in runs, not one append each.
            if run < index { out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[run..<index])) }
            if byte == UInt8(ascii: "\"") {
                index += 1
                return true
            }
            guard byte == UInt8(ascii: "\\"), index + 1 < bytes.count else { return false }
            switch bytes[index + 1] {
            case UInt8(ascii: "\""): out.append(UInt8(ascii: "\""))
            case UInt8(ascii: "\\"): out.append(UInt8(ascii: "\\"))
            case UInt8(ascii: "/"): out.append(UInt8(ascii: "/"))
            case UInt8(ascii: "n"): out.append(0x0A)
            case UInt8(ascii: "r"): out.append(0x0D)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "b"): out.append(0x08)
            case UInt8(ascii: "f"): out.append(0x0C)
            default: return false
            }
            index += 2
            run = index
        }
        return false
    }

    private mutating func skipWhitespace() {
        while index < bytes.count {
            switch bytes[index] {
            case 0x20, 0x09, 0x0A, 0x0D: index += 1
            default: return
            }
        }
    }

    private mutating func take(_ byte: UInt8) -> Bool {
        guard index < bytes.count, bytes[index] == byte else { return false }
        index += 1
        return true
    }

    private mutating func atEnd() -> Bool {
        skipWhitespace()
        return index == bytes.count
    }
}
