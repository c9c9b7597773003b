import Foundation
import TokenWatchModel

/// Writes the compact row (one `<tr>`) of the built-in `report-page.html.mustache` without Mustache: the
/// same bytes (a test holds them equal, hostile values included), about ten times faster. Most
/// pages of a large fleet are compact, and rendering them through the template was most of a
/// 100,000-page report's time. An operator's own row template is always rendered as written.
enum CompactRow {
    /// The last few minutes written and their texts: a fleet's rows share few times (pages
    /// checked in one batch, imported together), so most rows reuse an earlier row's text. A
    /// row shows three times (token updated, status since, last checked), so one remembered
    /// minute would be replaced at every column; four cover a row's and its neighbours'.
    struct Times {
        private var remembered: [(minute: Int64, text: String)] = Array(repeating: (.min, ""), count: 4)
        /// The slot the next new minute replaces: the oldest one.
        private var next = 0

        init() {}

        /// `minuteText(date)`, reusing an earlier answer for the same minute.
        mutating func text(_ date: Date) -> String {
            if ReportTime.isNever(date) { return "" }
            let seconds = date.timeIntervalSince1970.rounded(.down)
            guard seconds.magnitude < 1e15 else { return CompactRow.minuteText(date) }
            // The minute `minuteText` shows: the whole seconds, divided rounding down.
            let whole = Int64(seconds)
            let minute = whole >= 0 ? whole / 60 : (whole - 59) / 60
            if let known = remembered.first(where: { $0.minute == minute }) { return known.text }
            let text = CompactRow.minuteText(date)
            remembered[next] = (minute, text)
            next = (next + 1) % remembered.count
            return text
        }
    }

    /// Appends the row of `page` (a compact page: `HTMLReport.isCompact`) to `out`, with its
    /// `note` (`HTMLReport.unconfirmedNote`) when it has one.
    static func append(_ page: PageRecord, note: String? = nil, to out: inout String) {
        var times = Times()
        append(page, note: note, to: &out, times: &times)
    }

    /// Appends the row of `page` to `out`, formatting its times through `times`.
    static func append(_ page: PageRecord, note: String?, to out: inout String, times: inout Times) {
        out += "<tr class=\"page status-"
        out += page.status.rawValue
        out += " compact\" id=\"page-"
        escape(page.pageID, to: &out)
        out += "\"><th scope=\"row\">"
        escape(page.pageName, to: &out)
        out += "</th><td class=\"id\">"
        escape(page.pageID, to: &out)
        out += "</td><td>"
        escape(page.company, to: &out)
        out += "</td><td>"
        out += times.text(page.tokenUpdatedAt)
        out += "</td><td><span class=\"status\">"
        out += page.status.label
        out += "</span></td><td>"
        out += time(page.statusSince, &times) ?? "—"
        out += "</td><td>"
        out += time(page.lastCheckedAt, &times) ?? "never"
        out += "</td><td>"
        if let note { appendNotes([("error", note)], to: &out) }
        out += "</td></tr>\n"
    }

    /// A notes list as both row templates write it: `<ul class="notes">` with one
    /// `<li class="note-<kind>">` per note, kinds and texts escaped.
    static func appendNotes(_ notes: [(kind: String, text: String)], to out: inout String) {
        out += "<ul class=\"notes\">"
        for note in notes {
            out += "<li class=\"note-"
            escape(note.kind, to: &out)
            out += "\">"
            escape(note.text, to: &out)
            out += "</li>"
        }
        out += "</ul>"
    }

    /// The table's time text, or nil where the template shows its placeholder.
    private static func time(_ date: Date?, _ times: inout Times) -> String? {
        guard let date, !ReportTime.isNever(date) else { return nil }
        return times.text(date)
    }

    /// Escapes as Mustache's HTML content type does: `<`, `>`, `&`, `"` and `'`.
    static func escape(_ text: String, to out: inout String) {
        let special = text.utf8.contains { byte in
            byte == UInt8(ascii: "<") || byte == UInt8(ascii: ">") || byte == UInt8(ascii: "&")
                || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "'")
        }
        guard special else {
            out += text
            return
        }
        for scalar in text.unicodeScalars {
            switch scalar {
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "&": out += "&amp;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.unicodeScalars.append(scalar)
            }
        }
    }

    /// `2026-11-29 04:29`, as `ReportTime.display(date, zone: false)` writes it, from
    /// `ReportTime.civilParts` (arithmetic) instead of `Calendar`.
    /// Empty for a time that never comes, as there.
    static func minuteText(_ date: Date) -> String {
        if ReportTime.isNever(date) { return "" }
        let parts = ReportTime.civilParts(Int64(date.timeIntervalSince1970.rounded(.down)))
        return pad(parts.year, 4) + "-" + pad(parts.month, 2) + "-" + pad(parts.day, 2) + " " + pad(parts.hour, 2)
            + ":" + pad(parts.minute, 2)
    }

    private static func pad(_ value: Int, _ width: Int) -> String {
        let digits = String(value)
        return digits.count >= width ? digits : String(repeating: "0", count: width - digits.count) + digits
    }
}
