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
        // Each line is encoded; physical lines end in CRLF. Byte by byte: a String and a
        // Character per scalar made composing a digest cost more than sending it (500 digests
        // after a 100,000-page first run). Text with a CR goes the way of Characters, whose
        // line breaks (CRLF is one Character) decide where its lines end.
        if text.utf8.contains(0x0D) { return encodeByCharacters(text) }
        let normalised = Array(text.utf8)
        var output: [UInt8] = []
        output.reserveCapacity(normalised.count + normalised.count / 8 + 16)
        var lineStart = 0
        for index in 0...normalised.count where index == normalised.count || normalised[index] == 0x0A {
            if lineStart > 0 {
                output.append(0x0D)
                output.append(0x0A)
            }
            encodeLine(normalised[lineStart..<index], into: &output)
            lineStart = index + 1
        }
        return String(decoding: output, as: UTF8.self)
    }

    /// The encoding by Characters and Strings, for text holding a CR: CRLF and lone CR become
    /// LF first.
    static func encodeByCharacters(_ text: String) -> String {
        let normalised = text.replacingOccurrences(of: "\r\n", with: "\n").replacingOccurrences(of: "\r", with: "\n")
        var output: [UInt8] = []
        var first = true
        for line in normalised.split(separator: "\n", omittingEmptySubsequences: false) {
            if !first {
                output.append(0x0D)
                output.append(0x0A)
            }
            first = false
            encodeLine(ArraySlice(Array(line.utf8)), into: &output)
        }
        return String(decoding: output, as: UTF8.self)
    }

    /// One logical line (UTF-8, no line end) as physical lines of at most `lineLimit`
    /// characters joined by soft breaks (`=` CRLF). Each scalar is one piece, never split:
    /// printable ASCII but `=` as is, the rest as `=XX` per byte; a space or tab ending the
    /// line is escaped, and so are `.` and the `F` of `From ` starting a physical line.
    private static func encodeLine(_ line: ArraySlice<UInt8>, into out: inout [UInt8]) {
        var count = 0
        var piece: [UInt8] = []
        piece.reserveCapacity(12)
        var position = line.startIndex
        while position < line.endIndex {
            var next = position + 1
            while next < line.endIndex, line[next] & 0xC0 == 0x80 { next += 1 }
            let isLast = next == line.endIndex
            let byte = line[position]
            let startsFrom = byte == 0x46 && line[position...].starts(with: fromPrefix)
            piece.removeAll(keepingCapacity: true)
            switch byte {
            case 0x20, 0x09:
                if isLast { escape(byte, into: &piece) } else { piece.append(byte) }
            case 0x2E where count == 0:
                escape(0x2E, into: &piece)
            case 0x46 where count == 0 && startsFrom:
                escape(0x46, into: &piece)
            case 0x21...0x7E where byte != 0x3D:
                piece.append(byte)
            default:
                for scalarByte in line[position..<next] { escape(scalarByte, into: &piece) }
            }
            let limit = isLast ? lineLimit : lineLimit - 1
            if count + piece.count > limit, count > 0 {
                out.append(UInt8(ascii: "="))
                out.append(0x0D)
                out.append(0x0A)
                count = 0
                // The piece now starts a line: re-check the start-of-line rules.
                if byte == 0x2E || (byte == 0x46 && startsFrom) {
                    piece.removeAll(keepingCapacity: true)
                    escape(byte, into: &piece)
                }
            }
            out.append(contentsOf: piece)
            count += piece.count
            position = next
        }
    }

    private static let fromPrefix = Array("From ".utf8)

    private static let hex = Array("0123456789ABCDEF".utf8)

    private static func escape(_ byte: UInt8, into out: inout [UInt8]) {
        out.append(UInt8(ascii: "="))
        out.append(hex[Int(byte >> 4)])
        out.append(hex[Int(byte & 0x0F)])
    }
}
