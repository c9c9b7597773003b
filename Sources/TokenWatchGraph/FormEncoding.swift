import TokenWatchModel

/// `application/x-www-form-urlencoded` and query-component encoding. Everything but RFC 3986's
/// unreserved characters is percent-encoded, so `+`, `&`, `=`, `%` and any UTF-8 in a token
/// arrive as they were sent.
enum FormEncoding {
    /// `name=value&…`, both sides encoded, in the given order.
    static func encode(_ fields: [(name: String, value: String)]) -> String {
        fields.map { "\(percentEncode($0.name))=\(percentEncode($0.value))" }.joined(separator: "&")
    }

    /// The UTF-8 bytes of `text` with everything but `A–Z a–z 0–9 - . _ ~` as `%XX`.
    static func percentEncode(_ text: String) -> String {
        var encoded: [UInt8] = []
        encoded.reserveCapacity(text.utf8.count)
        percentEncode(text.utf8, into: &encoded)
        return String(decoding: encoded, as: UTF8.self)
    }

    /// Appends `bytes` percent-encoded as `percentEncode` does: byte by byte, never through a
    /// `String` per character (a batch request encodes 50 tokens, then the batch once more).
    static func percentEncode<Bytes: Sequence<UInt8>>(_ bytes: Bytes, into out: inout [UInt8]) {
        for byte in bytes {
            if isUnreserved(byte) {
                out.append(byte)
            } else {
                out.append(UInt8(ascii: "%"))
                out.append(hexBytes[Int(byte >> 4)])
                out.append(hexBytes[Int(byte & 0x0F)])
            }
        }
    }

    private static let hexBytes = Array("0123456789ABCDEF".utf8)

    static func percentDecode(_ text: Substring, plusIsSpace: Bool = true) -> String? {
        var bytes: [UInt8] = []
        var iterator = text.utf8.makeIterator()
        while let byte = iterator.next() {
            switch byte {
            case UInt8(ascii: "%"):
                guard let high = iterator.next().flatMap(hexValue), let low = iterator.next().flatMap(hexValue) else {
                    return nil
                }
                bytes.append(high << 4 | low)
            case UInt8(ascii: "+") where plusIsSpace:
                bytes.append(UInt8(ascii: " "))
            default:
                bytes.append(byte)
            }
        }
        return String(validating: bytes, as: UTF8.self)
    }

    private static let hexDigits = ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "A", "B", "C", "D", "E", "F"]

    private static func isUnreserved(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."),
            UInt8(ascii: "_"), UInt8(ascii: "~"):
            true
        default:
            false
        }
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}
