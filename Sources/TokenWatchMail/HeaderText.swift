import Foundation

/// Header values made safe and wire-ready: control characters neutralised, non-ASCII text
/// as RFC 2047 encoded-words, every line folded to at most 78 octets.
enum HeaderText {
    /// The longest header line we write, CRLF not counted (RFC 5322 2.1.1).
    static let lineLimit = 78
    /// The longest encoded-word RFC 2047 allows.
    static let encodedWordLimit = 75

    /// `text` with every control character (C0, DEL, C1, line and paragraph separators)
    /// replaced by a space, runs of whitespace collapsed, and the ends trimmed. Nothing that
    /// comes out of it can end a header line.
    static func neutralised(_ text: String) -> String {
        var result = ""
        result.reserveCapacity(text.utf8.count)
        var pendingSpace = false
        for scalar in text.unicodeScalars {
            if isBreaking(scalar) || scalar == " " || scalar.properties.isWhitespace {
                pendingSpace = !result.isEmpty
                continue
            }
            if pendingSpace {
                result.unicodeScalars.append(" ")
                pendingSpace = false
            }
            result.unicodeScalars.append(scalar)
        }
        return result
    }

    /// True for scalars that must never reach a header or a single-line value.
    static func isBreaking(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x00...0x1F, 0x7F...0x9F, 0x2028, 0x2029: true
        default: false
        }
    }

    /// True when `text` is printable ASCII that a decoder could not mistake for an encoded-word.
    static func isPlainASCII(_ text: String) -> Bool {
        text.utf8.allSatisfy { $0 >= 0x20 && $0 < 0x7F } && !text.contains("=?")
    }

    /// A whole unstructured header field (`Subject: …`), neutralised, encoded when needed
    /// and folded; no trailing CRLF.
    static func unstructuredField(_ name: String, _ value: String) -> String {
        var folder = HeaderFolder(name: name)
        folder.appendText(neutralised(value))
        return folder.result
    }

    /// A mailbox header field (`From: Name <addr>`); the address is already validated.
    static func mailboxField(_ name: String, _ mailbox: MailAddress) -> String {
        var folder = HeaderFolder(name: name)
        if let displayName = mailbox.displayName.map(neutralised), !displayName.isEmpty {
            let quoted =
                "\""
                + displayName.replacingOccurrences(of: "\\", with: "\\\\")
                .replacingOccurrences(of: "\"", with: "\\\"") + "\""
            if isPlainASCII(displayName), quoted.utf8.count + 1 <= lineLimit - name.utf8.count - 1 {
                folder.appendAtom(quoted)
            } else {
                folder.appendEncoded(displayName)
            }
        }
        folder.appendAtom("<" + mailbox.address + ">")
        return folder.result
    }
}

/// Builds one header field line by line, folding before a word that would pass 78 octets.
struct HeaderFolder {
    private var lines: [String] = []
    private var current: String
    private var currentHasWords = false
    private let nameLength: Int

    init(name: String) {
        current = name + ":"
        nameLength = name.utf8.count
    }

    /// The folded field, lines joined with CRLF.
    var result: String { (lines + [current]).joined(separator: "\r\n") }

    /// Appends unstructured text: as plain words when it is printable ASCII whose every word
    /// fits on a line, else as encoded-words.
    mutating func appendText(_ text: String) {
        guard !text.isEmpty else { return }
        let words = text.split(separator: " ", omittingEmptySubsequences: true)
        if HeaderText.isPlainASCII(text), words.allSatisfy({ nameLength + 2 + $0.utf8.count <= HeaderText.lineLimit }) {
            for word in words { appendAtom(String(word)) }
        } else {
            appendEncoded(text)
        }
    }

    /// Appends one word that must not be split, preceded by a space; folds first when it
    /// would not fit on the current line.
    mutating func appendAtom(_ atom: String) {
        if currentHasWords, current.utf8.count + 1 + atom.utf8.count > HeaderText.lineLimit {
            newLine()
        }
        current += " " + atom
        currentHasWords = true
    }

    /// Appends `text` as UTF-8 "B" encoded-words, each within the line and encoded-word
    /// limits. Words are cut between grapheme clusters (between scalars only for a cluster
    /// too long for one word), never inside a multi-byte character.
    mutating func appendEncoded(_ text: String) {
        var pending: [[UInt8]] = []  // the UTF-8 of each unit still to write
        for character in text {
            let bytes = Array(String(character).utf8)
            // A cluster that could not share a word (a long emoji sequence, stacked marks)
            // goes scalar by scalar; a scalar is at most 4 octets and always fits.
            if bytes.count <= 30 {
                pending.append(bytes)
            } else {
                for scalar in character.unicodeScalars { pending.append(Array(String(scalar).utf8)) }
            }
        }
        var index = 0
        while index < pending.count {
            let room = min(HeaderText.encodedWordLimit, HeaderText.lineLimit - current.utf8.count - 1)
            let capacity = Self.maxPayload(room: room)
            var chunk: [UInt8] = []
            var next = index
            while next < pending.count, chunk.count + pending[next].count <= capacity {
                chunk += pending[next]
                next += 1
            }
            if chunk.isEmpty {
                // Not even one unit fits after what is on this line: start a fresh one.
                if currentHasWords {
                    newLine()
                    continue
                }
                // Only after a very long field name: write the unit and let the line run long.
                chunk = pending[next]
                next += 1
            }
            current += " =?UTF-8?B?" + Data(chunk).base64EncodedString() + "?="
            currentHasWords = true
            index = next
        }
    }

    private mutating func newLine() {
        lines.append(current)
        current = ""
        currentHasWords = false
    }

    /// The most UTF-8 octets a B encoded-word of at most `room` characters carries.
    private static func maxPayload(room: Int) -> Int {
        let overhead = "=?UTF-8?B??=".utf8.count
        guard room > overhead else { return 0 }
        return (room - overhead) / 4 * 3
    }
}
