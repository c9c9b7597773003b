import TokenWatchModel

/// Quoted-printable body encoding (RFC 2045 6.7) for UTF-8 text.
enum QuotedPrintable {
    /// The longest encoded line, soft-break `=` included, CRLF not counted.
    static let lineLimit = 76

    /// Encodes `text`: line breaks of any kind become CRLF hard breaks; longer lines get soft
    /// breaks so that none passes 76 characters. A multi-byte character is never cut by a
    /// soft break. A `.` or the `F` of `From ` at the start of a line is encoded, so neither
    /// SMTP dot handling nor mbox quoting can alter the body. The result has no trailing CRLF.
    static func encode(_ text: String) -> String {
        let normalised = text.replacingOccurrences(of: "\r\n", with: "\n").replacingOccurrences(of: "\r", with: "\n")
        var output: [String] = []
        for line in normalised.split(separator: "\n", omittingEmptySubsequences: false) {
            output.append(contentsOf: encodeLine(Substring(line)))
        }
        return output.joined(separator: "\r\n")
    }

    /// One logical line as one or more physical lines (all but the last end in `=`).
    private static func encodeLine(_ line: Substring) -> [String] {
        var physical: [String] = []
        var current = ""
        let scalars = Array(line.unicodeScalars)
        for (position, scalar) in scalars.enumerated() {
            let isLast = position == scalars.count - 1
            var piece = ""
            let atLineStart = current.isEmpty
            switch scalar.value {
            case 0x20, 0x09:
                piece = isLast ? escape(UInt8(scalar.value)) : String(Character(scalar))
            case 0x2E where atLineStart:
                piece = escape(0x2E)
            case 0x46 where atLineStart && scalars[position...].starts(with: fromPrefix):
                piece = escape(0x46)
            case 0x21...0x7E where scalar.value != 0x3D:
                piece = String(Character(scalar))
            default:
                for byte in String(Character(scalar)).utf8 { piece += escape(byte) }
            }
            let limit = isLast ? lineLimit : lineLimit - 1
            if current.utf8.count + piece.utf8.count > limit, !current.isEmpty {
                physical.append(current + "=")
                current = ""
                // The piece now starts a line: re-check the start-of-line rules.
                if scalar.value == 0x2E {
                    piece = escape(0x2E)
                } else if scalar.value == 0x46, scalars[position...].starts(with: fromPrefix) {
                    piece = escape(0x46)
                }
            }
            current += piece
        }
        physical.append(current)
        return physical
    }

    private static let fromPrefix = Array("From ".unicodeScalars)

    private static let hex = Array("0123456789ABCDEF".utf8)

    private static func escape(_ byte: UInt8) -> String {
        String(decoding: [UInt8(ascii: "="), hex[Int(byte >> 4)], hex[Int(byte & 0x0F)]], as: UTF8.self)
    }
}
