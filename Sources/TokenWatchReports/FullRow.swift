import Foundation
import TokenWatchModel

/// Writes the full row (a `<tbody>` with the page's notes, permissions and recent log) of the
/// built-in `report-page.html.mustache` without Mustache: the same bytes (a test holds them
/// equal over every kind of page, hostile values included). The pages shown in full are the
/// ones that need someone; at a thousand of them, rendering each through the template was
/// the HTML report's largest cost. An operator's own row template is always rendered as
/// written.
enum FullRow {
    /// Appends the row of `page` (not compact: `HTMLReport.isCompact` is false), whose notes
    /// and log `facts` holds, to `out`; the table's times go through `times`.
    static func append(
        _ page: PageRecord, facts: HTMLReport.FullRowFacts, to out: inout String, times: inout CompactRow.Times
    ) {
        let escape = CompactRow.escape
        // The template's row starts with the line its `{{/compact}}` leaves.
        out += "\n<tbody class=\"page "
        escape(facts.rowClass, &out)
        out += "\" id=\"page-"
        escape(page.pageID, &out)
        out += "\">\n<tr>\n<th scope=\"row\">"
        escape(page.pageName, &out)
        out += "</th>\n<td class=\"id\">"
        escape(page.pageID, &out)
        out += "</td>\n<td>"
        escape(page.company, &out)
        out += "</td>\n<td class=\"when\"><time datetime=\""
        out += ReportTime.iso(page.tokenUpdatedAt)
        out += "\">"
        out += times.text(page.tokenUpdatedAt)
        out += "</time></td>\n<td><span class=\"status\">"
        out += page.status.label
        out += "</span>"
        if facts.changed { out += "<br><span class=\"badge badge-changed\">changed in this run</span>" }
        if facts.expiring { out += "<br><span class=\"badge badge-expiring\">expiring</span>" }
        out += "</td>\n<td class=\"when\">"
        time(page.statusSince, placeholder: "—", to: &out, times: &times)
        out += "</td>\n<td class=\"when\">"
        time(page.lastCheckedAt, placeholder: "never", to: &out, times: &times)
        out += "</td>\n<td>"
        if facts.notes.isEmpty {
            out += "<span class=\"none\">—</span>"
        } else {
            CompactRow.appendNotes(facts.notes, to: &out)
        }
        out += "</td>\n</tr>\n<tr class=\"more\">\n<td colspan=\"8\">\n<details>\n"
        out += "<summary>Permissions and Log (\(facts.logEntryCount) entries)</summary>\n"
        out += "<div class=\"more-grid\">\n<div>\n<h3>Granted permissions</h3>\n"
        list(page.scopes, opening: "<ul class=\"scopes\">", to: &out)
        out += "\n"
        if page.scopes.isEmpty { out += "<p class=\"empty\">None recorded.</p>" }
        out += "\n</div>\n<div>\n<h3>Missing permissions</h3>\n"
        list(page.missingScopes, opening: "<ul class=\"scopes missing\">", to: &out)
        out += "\n"
        if page.missingScopes.isEmpty { out += "<p class=\"empty\">None.</p>" }
        out += "\n</div>\n<div>\n<h3>Log</h3>\n"
        if !facts.events.isEmpty {
            out += "<table class=\"log\">\n"
            out += "<thead><tr><th scope=\"col\">When</th><th scope=\"col\">What</th>"
            out += "<th scope=\"col\">By</th><th scope=\"col\">Detail</th></tr></thead>\n<tbody>\n"
            for event in facts.events {
                out += "<tr><td class=\"nowrap\">"
                eventTime(event.at, to: &out)
                out += "</td><td class=\"nowrap\">"
                escape(event.phrase, &out)
                out += "</td><td>"
                escape(event.actor, &out)
                out += "</td><td>"
                escape(event.detail ?? "", &out)
                out += "</td></tr>\n"
            }
            out += "</tbody>\n</table>\n"
        } else {
            out += "<p class=\"empty\">No log entries.</p>"
        }
        out += "\n"
        if facts.olderEntries > 0 {
            out += "<p class=\"older\">\(facts.olderEntries) older entries: <code>tokenwatch pages log "
            escape(page.pageID, &out)
            out += "</code></p>"
        }
        out += "\n</div>\n</div>\n</details>\n<div class=\"print-only\">\n<p><strong>Permissions:</strong> "
        if page.scopes.isEmpty {
            out += "none recorded"
        } else {
            spans(page.scopes, to: &out)
        }
        if !page.missingScopes.isEmpty {
            out += " · <strong>Missing:</strong> "
            spans(page.missingScopes, to: &out)
        }
        out += "</p>\n"
        if !facts.events.isEmpty {
            out += "<p><strong>Log:</strong> "
            for event in facts.events {
                out += "<span class=\"entry\">"
                eventTime(event.at, to: &out)
                out += " "
                escape(event.phrase, &out)
                out += " ("
                escape(event.actor, &out)
                out += ")"
                if let detail = event.detail, !detail.isEmpty {
                    out += ": "
                    escape(detail, &out)
                }
                out += "</span>; "
            }
            if facts.olderEntries > 0 {
                out += " \(facts.olderEntries) older entries: tokenwatch pages log "
                escape(page.pageID, &out)
            }
            out += "</p>"
        }
        out += "\n</div>\n</td>\n</tr>\n</tbody>\n"
    }

    /// `<ul …><li>scope</li>…</ul>`, or nothing for no scopes.
    private static func list(_ scopes: [String], opening: String, to out: inout String) {
        guard !scopes.isEmpty else { return }
        out += opening
        for scope in scopes {
            out += "<li>"
            CompactRow.escape(scope, to: &out)
            out += "</li>"
        }
        out += "</ul>"
    }

    /// `<span class="scope">scope</span> ` per scope, as the print-only summary shows them.
    private static func spans(_ scopes: [String], to out: inout String) {
        for scope in scopes {
            out += "<span class=\"scope\">"
            CompactRow.escape(scope, to: &out)
            out += "</span> "
        }
    }

    /// A table time as `<time>`, or the template's placeholder for none (or never).
    private static func time(
        _ date: Date?, placeholder: String, to out: inout String, times: inout CompactRow.Times
    ) {
        guard let date, !ReportTime.isNever(date) else {
            out += "<span class=\"none\">\(placeholder)</span>"
            return
        }
        out += "<time datetime=\""
        out += ReportTime.iso(date)
        out += "\">"
        out += times.text(date)
        out += "</time>"
    }

    /// A log entry's time, as the template writes `at` (which is never left out).
    private static func eventTime(_ date: Date, to out: inout String) {
        out += "<time datetime=\""
        out += ReportTime.iso(date)
        out += "\">"
        out += ReportTime.display(date, zone: false)
        out += "</time>"
    }
}
