import TokenWatchHTTP
import TokenWatchMail
import TokenWatchModel

/// A config file in the format systemd's `EnvironmentFile=` reads: `KEY=VALUE` lines, `#` and
/// `;` comment lines, blank lines, values optionally in single quotes (literal) or double quotes
/// (`\"`, `\\`, `` \` `` and `\$` unescaped), unquoted values trimmed, a backslash escaping the
/// next character, backslash-newline continuing a line.
///
/// It follows systemd's reading so the same file means the same thing to both, and refuses
/// what systemd would read in a surprising way or drop silently (a line without `=`, text after
/// a closing quote, an unterminated quote, a comment ending in a backslash — systemd versions
/// disagree on those), so a typo fails loudly instead. It also tolerates an `export ` prefix,
/// with a warning because systemd ignores such lines. Errors name the file and line and never
/// quote a value.
struct EnvironmentFile: Sendable, Equatable {
    /// One assignment, in file order (a later one for the same key wins).
    struct Entry: Sendable, Equatable {
        var key: String
        var value: String
        /// The line the assignment starts on, from 1.
        var line: Int
    }

    var entries: [Entry]
    var warnings: [ConfigurationWarning]

    private enum State {
        case preKey, key, preValue, value, valueEscape
        case singleQuoted, doubleQuoted, doubleQuotedEscape
        case afterQuote, comment
    }

    /// Parses the file's bytes. `path` is only used in messages.
    static func parse(_ bytes: [UInt8], path: String) throws(ConfigurationError) -> EnvironmentFile {
        if bytes.contains(0) {
            throw .syntax(
                path: path, line: lineOf(offset: bytes.firstIndex(of: 0) ?? 0, in: bytes),
                reason: "the file contains a NUL byte")
        }
        if String(validating: bytes, as: UTF8.self) == nil {
            throw .syntax(path: path, line: 1, reason: "the file is not valid UTF-8")
        }

        var result = EnvironmentFile(entries: [], warnings: [])
        var state = State.preKey
        var line = 1
        var startLine = 1
        var key: [UInt8] = []
        var value: [UInt8] = []
        // Index in `value` where trailing unescaped whitespace starts, if any.
        var trailingWhitespace: Int? = nil
        var commentEndsInBackslash = false

        func isNewline(_ c: UInt8) -> Bool { c == UInt8(ascii: "\n") || c == UInt8(ascii: "\r") }
        func isBlank(_ c: UInt8) -> Bool { c == UInt8(ascii: " ") || c == UInt8(ascii: "\t") }

        func finish() throws(ConfigurationError) {
            if let cut = trailingWhitespace { value.removeSubrange(cut...) }
            var name = String(decoding: key, as: UTF8.self)
            while let last = name.last, last == " " || last == "\t" { name.removeLast() }
            if name.hasPrefix("export"), let next = name.dropFirst(6).first, next == " " || next == "\t" {
                name = String(name.dropFirst(6).drop(while: { $0 == " " || $0 == "\t" }))
                result.warnings.append(.exportPrefix(path: path, line: startLine, key: name))
            }
            guard isValidName(name) else {
                throw .syntax(
                    path: path, line: startLine,
                    reason: "the name before '=' is not a valid variable name (letters, digits and _)")
            }
            result.entries.append(
                Entry(key: name, value: String(decoding: value, as: UTF8.self), line: startLine))
            key = []
            value = []
            trailingWhitespace = nil
        }

        for c in bytes {
            switch state {
            case .preKey:
                if c == UInt8(ascii: "#") || c == UInt8(ascii: ";") {
                    state = .comment
                    commentEndsInBackslash = false
                } else if !isBlank(c) && !isNewline(c) {
                    state = .key
                    startLine = line
                    key = [c]
                }
            case .key:
                if isNewline(c) {
                    throw .syntax(
                        path: path, line: startLine,
                        reason: "expected KEY=VALUE, found no '=' on this line")
                } else if c == UInt8(ascii: "=") {
                    state = .preValue
                } else {
                    key.append(c)
                }
            case .preValue:
                if isNewline(c) {
                    try finish()
                    state = .preKey
                } else if c == UInt8(ascii: "'") {
                    state = .singleQuoted
                } else if c == UInt8(ascii: "\"") {
                    state = .doubleQuoted
                } else if c == UInt8(ascii: "\\") {
                    state = .valueEscape
                } else if !isBlank(c) {
                    state = .value
                    value.append(c)
                }
            case .value:
                if isNewline(c) {
                    try finish()
                    state = .preKey
                } else if c == UInt8(ascii: "\\") {
                    state = .valueEscape
                    trailingWhitespace = nil
                } else {
                    if !isBlank(c) {
                        trailingWhitespace = nil
                    } else if trailingWhitespace == nil {
                        trailingWhitespace = value.count
                    }
                    value.append(c)
                }
            case .valueEscape:
                // An escaped newline continues the value on the next line.
                state = .value
                if !isNewline(c) { value.append(c) }
            case .singleQuoted:
                if c == UInt8(ascii: "'") { state = .afterQuote } else { value.append(c) }
            case .doubleQuoted:
                if c == UInt8(ascii: "\"") {
                    state = .afterQuote
                } else if c == UInt8(ascii: "\\") {
                    state = .doubleQuotedEscape
                } else {
                    value.append(c)
                }
            case .doubleQuotedEscape:
                state = .doubleQuoted
                if "\"\\`$".utf8.contains(c) {
                    value.append(c)
                } else if c != UInt8(ascii: "\n") {
                    // Like the shell (and systemd): other backslashes stay as they are.
                    value.append(UInt8(ascii: "\\"))
                    value.append(c)
                }
            case .afterQuote:
                if isNewline(c) {
                    try finish()
                    state = .preKey
                } else if !isBlank(c) {
                    // systemd would glue the text to the quoted part; nobody means that.
                    throw .syntax(
                        path: path, line: startLine,
                        reason: "unexpected text after the closing quote (comments must be on their own line)")
                }
            case .comment:
                if isNewline(c) {
                    if commentEndsInBackslash {
                        throw .syntax(
                            path: path, line: line,
                            reason:
                                "a comment ending in a backslash is read differently by systemd versions; remove the backslash"
                        )
                    }
                    state = .preKey
                } else {
                    commentEndsInBackslash = c == UInt8(ascii: "\\")
                }
            }
            if c == UInt8(ascii: "\n") { line += 1 }
        }

        switch state {
        case .preKey, .comment:
            break
        case .key:
            throw .syntax(path: path, line: startLine, reason: "expected KEY=VALUE, found no '=' on this line")
        case .preValue, .value, .valueEscape, .afterQuote:
            try finish()
        case .singleQuoted, .doubleQuoted, .doubleQuotedEscape:
            throw .syntax(path: path, line: startLine, reason: "the quote opened on this line is never closed")
        }
        return result
    }

    /// A POSIX environment variable name: a letter or `_`, then letters, digits and `_`.
    static func isValidName(_ name: String) -> Bool {
        func isLetter(_ s: Unicode.Scalar) -> Bool { ("A"..."Z").contains(s) || ("a"..."z").contains(s) }
        guard let first = name.unicodeScalars.first, first == "_" || isLetter(first) else { return false }
        return name.unicodeScalars.allSatisfy { $0 == "_" || isLetter($0) || ("0"..."9").contains($0) }
    }

    private static func lineOf(offset: Int, in bytes: [UInt8]) -> Int {
        1 + bytes[..<offset].count(where: { $0 == UInt8(ascii: "\n") })
    }
}
