import Foundation
import Logging
import TokenWatchModel

/// What the console log handlers share: merging metadata, flattening values to strings,
/// timestamps, and escaping so that one event is always exactly one line.
enum LogLine {
    /// Handler metadata, then the provider's, then the event's (later wins), plus the event's
    /// error as `error` unless the metadata already has that key; all values as strings.
    static func metadata(
        handler: Logger.Metadata, provider: Logger.MetadataProvider?, event: LogEvent
    ) -> [(key: String, value: String)] {
        var merged = handler
        if let provider { merged.merge(provider.get(), uniquingKeysWith: { _, new in new }) }
        if let own = event.metadata { merged.merge(own, uniquingKeysWith: { _, new in new }) }
        if let error = event.error, merged["error"] == nil { merged["error"] = .string("\(error)") }
        return merged.map { (key: $0.key, value: flatten($0.value)) }.sorted { $0.key < $1.key }
    }

    /// A metadata value as one string; arrays and dictionaries in a stable (sorted) form.
    static func flatten(_ value: Logger.MetadataValue) -> String {
        switch value {
        case .string(let text): text
        case .stringConvertible(let convertible): convertible.description
        case .array(let items): "[" + items.map(flatten).joined(separator: ", ") + "]"
        case .dictionary(let entries):
            "["
                + entries.sorted { $0.key < $1.key }.map { "\($0.key): \(flatten($0.value))" }
                .joined(separator: ", ") + "]"
        }
    }

    /// `2026-11-29T04:29:10Z`, or with `.123` milliseconds.
    static func timestamp(_ date: Date, milliseconds: Bool) -> String {
        let interval = date.timeIntervalSince1970
        let whole = interval.rounded(.down)
        var seconds = time_t(whole)
        var parts = tm()
        gmtime_r(&seconds, &parts)
        func pad(_ value: Int32, _ width: Int) -> String {
            let digits = String(value)
            return String(repeating: "0", count: max(0, width - digits.count)) + digits
        }
        var text =
            pad(parts.tm_year + 1900, 4) + "-" + pad(parts.tm_mon + 1, 2) + "-" + pad(parts.tm_mday, 2) + "T"
            + pad(parts.tm_hour, 2) + ":" + pad(parts.tm_min, 2) + ":" + pad(parts.tm_sec, 2)
        if milliseconds {
            text += "." + pad(Int32(min(999, max(0, ((interval - whole) * 1000).rounded(.down)))), 3)
        }
        return text + "Z"
    }

    /// Whether a scalar would break a line or a terminal (C0 and C1 controls, DEL, the line
    /// and paragraph separators, bidirectional controls): `TerminalText`'s one definition.
    static func isUnsafe(_ scalar: Unicode.Scalar) -> Bool {
        TerminalText.isUnsafe(scalar)
    }

    /// Control characters as `\n`, `\r`, `\t` or `\u{1B}`; everything else unchanged.
    static func escapeControls(_ text: String) -> String {
        guard text.unicodeScalars.contains(where: isUnsafe) else { return text }
        var out = ""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where isUnsafe(scalar): out += "\\u{" + String(scalar.value, radix: 16, uppercase: true) + "}"
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out
    }

    /// A logfmt-style value: bare when it is a plain word, else double-quoted with `\` and `"`
    /// escaped and control characters escaped.
    static func textValue(_ value: String) -> String {
        let needsQuotes =
            value.isEmpty
            || value.unicodeScalars.contains { $0 == " " || $0 == "\"" || $0 == "=" || $0 == "\\" || isUnsafe($0) }
        guard needsQuotes else { return value }
        let inner = value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
        return "\"" + escapeControls(inner) + "\""
    }

    /// A JSON string literal, quotes included. Non-ASCII stays UTF-8; every scalar unsafe on a
    /// terminal (C1 and bidirectional controls, U+2028/2029 for JavaScript consumers too) is
    /// escaped as `\uXXXX`.
    static func jsonString(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where isUnsafe(scalar):
                let hex = String(scalar.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }
}
