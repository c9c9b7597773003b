/// Text from outside (page and company names, Graph's messages, SMTP replies, actors, log
/// details) made safe for a terminal: the one definition of what is unsafe, and the one
/// function that neutralises it for human-readable output.
///
/// A Page's name comes from Graph (`/me/accounts`), i.e. from any admin of that Page: an
/// `ESC [ 2 J` in it would clear the operator's screen, a carriage return or a line break
/// would forge a line of output, a bidirectional override would display text in another
/// order than it is stored.
public enum TerminalText {
    /// Whether a scalar may not reach a terminal as it is: C0 controls (line breaks and tabs
    /// included), DEL, C1 controls (an 8-bit CSI is U+009B), the Unicode line and paragraph
    /// separators, and the bidirectional embedding, override and isolate controls.
    public static func isUnsafe(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x00...0x1F, 0x7F...0x9F: true
        case 0x2028, 0x2029: true
        case 0x202A...0x202E, 0x2066...0x2069: true
        default: false
        }
    }

    /// The replacement shown for an unsafe scalar: visible, one column, never a control.
    public static let replacement: Unicode.Scalar = "?"

    /// `text` on one line with every unsafe scalar (line breaks too) replaced by `?`.
    public static func sanitise(_ text: String) -> String {
        guard text.unicodeScalars.contains(where: isUnsafe) else { return text }
        var out = String.UnicodeScalarView()
        for scalar in text.unicodeScalars { out.append(isUnsafe(scalar) ? replacement : scalar) }
        return String(out)
    }

    /// `text` as lines for a terminal: its line breaks (`\n`) are kept, everything else that
    /// is unsafe is replaced in each line. For whole outputs (tables, multi-line messages).
    public static func sanitiseLines(_ text: String) -> String {
        guard text.unicodeScalars.contains(where: { $0 != "\n" && isUnsafe($0) }) else { return text }
        // By scalar, not by Character: "\r\n" is one Character, and its "\r" must go.
        var out = String.UnicodeScalarView()
        for scalar in text.unicodeScalars { out.append(scalar != "\n" && isUnsafe(scalar) ? replacement : scalar) }
        return String(out)
    }

    /// `text` with every unsafe scalar but `\n` written as a JSON escape (`\u001b`): for JSON
    /// documents printed to a terminal, whose string values then stay exact. In a JSON text a
    /// raw control can only be inside a string, where the escape means the same character.
    public static func escapingForJSON(_ text: String) -> String {
        guard text.unicodeScalars.contains(where: { $0 != "\n" && isUnsafe($0) }) else { return text }
        var out = ""
        for scalar in text.unicodeScalars {
            guard scalar != "\n", isUnsafe(scalar) else {
                out.unicodeScalars.append(scalar)
                continue
            }
            let hex = String(scalar.value, radix: 16)
            out += "\\u" + String(repeating: "0", count: max(0, 4 - hex.count)) + hex
        }
        return out
    }
}
