/// Builds JSON text by hand. The simulator answers tens of thousands of items per second on
/// two cores, and string building is far cheaper than encoding dictionaries.
enum JSONText {
    /// `value` as a JSON string literal, quotes included.
    static func quoted(_ value: String) -> String {
        var out = ""
        out.reserveCapacity(value.utf8.count + 2)
        appendQuoted(value, to: &out)
        return out
    }

    /// Appends `value` as a JSON string literal, quotes included.
    static func appendQuoted(_ value: String, to out: inout String) {
        out.append("\"")
        if !needsEscaping(value) {
            out.append(value)
        } else {
            for scalar in value.unicodeScalars {
                switch scalar {
                case "\"": out.append("\\\"")
                case "\\": out.append("\\\\")
                case "\n": out.append("\\n")
                case "\r": out.append("\\r")
                case "\t": out.append("\\t")
                case let control where control.value < 0x20:
                    let hex = String(control.value, radix: 16)
                    out.append("\\u" + String(repeating: "0", count: 4 - hex.count) + hex)
                default:
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        out.append("\"")
    }

    /// An array of JSON string literals.
    static func stringArray(_ values: [String]) -> String {
        var out = "["
        for (index, value) in values.enumerated() {
            if index > 0 { out.append(",") }
            appendQuoted(value, to: &out)
        }
        out.append("]")
        return out
    }

    private static func needsEscaping(_ value: String) -> Bool {
        for byte in value.utf8 where byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") {
            return true
        }
        return false
    }
}
