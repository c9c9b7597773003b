import Foundation
import TokenWatchMail
import TokenWatchModel
import TokenWatchStore

/// `pages list` and `pages log` output for people (aligned tables) and scripts (stable
/// snake_case JSON).
public enum PageOutput {
    /// The JSON object of one page (SPEC.md "`--format json` output"). Every key is always
    /// there; an absent value is `null`.
    static func object(_ page: PageRecord) -> [String: Any] {
        [
            "company": page.company,
            "page_id": page.pageID,
            "page_name": page.pageName,
            "status": page.status.rawValue,
            "reason": orNull(page.reason?.sentence),
            "reason_code": orNull(page.reason?.code),
            "status_since": orNull(Timestamp.iso(page.statusSince)),
            "token_updated_at": orNull(Timestamp.iso(page.tokenUpdatedAt)),
            "last_checked_at": orNull(Timestamp.iso(page.lastCheckedAt)),
            "last_check_error": orNull(page.lastCheckError),
            "unconfirmed": page.isUnconfirmed,
            "scopes": page.scopes,
            "missing_scopes": page.missingScopes,
            "expires_at": orNull(Timestamp.iso(page.expiresAt)),
            "data_access_expires_at": orNull(Timestamp.iso(page.dataAccessExpiresAt)),
        ]
    }

    static func orNull(_ value: String?) -> Any { value ?? NSNull() }

    /// Stable text: keys sorted, slashes not escaped, and no raw control character (DEL, C1,
    /// bidirectional controls are escaped too), so the JSON is safe on a terminal and its
    /// values stay exact.
    static func encode(_ value: Any) -> String {
        guard
            let data = try? JSONSerialization.data(
                withJSONObject: value, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
        else { return "[]" }
        return TerminalText.escapingForJSON(String(decoding: data, as: UTF8.self))
    }

    /// `pages list --format json`: an array of pages.
    public static func json(_ pages: [PageRecord]) -> String {
        encode(pages.map(object))
    }

    /// `pages log ID --format json`.
    public static func logJSON(_ page: PageRecord, events: [PageEvent]) -> String {
        encode(
            [
                "page_id": page.pageID, "page_name": page.pageName, "company": page.company,
                "status": page.status.rawValue, "reason": orNull(page.reason?.sentence), "scopes": page.scopes,
                "missing_scopes": page.missingScopes,
                "events": events.map { event -> [String: Any] in
                    [
                        "at": orNull(Timestamp.iso(event.at)), "kind": event.kindName, "actor": event.actor,
                        "detail": orNull(event.detail),
                    ]
                },
            ] as [String: Any])
    }

    /// `pages list` as an aligned table, in the dashboard's columns.
    public static func table(_ pages: [PageRecord]) -> String {
        let header = ["PAGE NAME", "PAGE ID", "COMPANY", "UPDATED DATE", "STATUS", "LAST CHECKED", "REASON / NOTE"]
        let rows = pages.map { page in
            [
                page.pageName, page.pageID, page.company, Timestamp.readable(page.tokenUpdatedAt), page.status.label,
                Timestamp.readable(page.lastCheckedAt),
                note(page),
            ]
        }
        return TextTable.render(header: header, rows: rows)
    }

    /// The table's last column: why a page is invalid, why the last check could not decide,
    /// or when its token expires.
    static func note(_ page: PageRecord, now: Date = Date()) -> String {
        var parts: [String] = []
        if let reason = page.reason { parts.append(reason.sentence) }
        if page.isUnconfirmed, let error = page.lastCheckError {
            parts.append("not confirmed by the last check: \(error)")
        }
        if !parts.isEmpty { return parts.joined(separator: " ") }
        if page.status == .valid, let expiresAt = page.expiresAt {
            return "token expires \(Timestamp.readable(expiresAt))"
        }
        return ""
    }

    /// `pages log ID` for people: the page, its permissions now, then every movement. Every
    /// value from outside (names, Graph's scopes and reasons) is made safe for a terminal.
    public static func logTable(_ page: PageRecord, events: [PageEvent]) -> String {
        let safe = TerminalText.sanitise
        var lines = [
            "\(safe(page.pageName)) (page \(safe(page.pageID)), company \(safe(page.company)))",
            "Status: \(page.status.label)\(page.reason.map { " — \(safe($0.sentence))" } ?? "")"
                + (page.statusSince.map { " since \(Timestamp.readable($0))" } ?? ""),
            "Updated Date: \(Timestamp.readable(page.tokenUpdatedAt))",
            "Permissions: \(page.scopes.isEmpty ? "(none known yet)" : safe(page.scopes.joined(separator: ", ")))",
        ]
        if !page.missingScopes.isEmpty {
            lines.append("Missing: \(safe(page.missingScopes.joined(separator: ", ")))")
        }
        lines.append("")
        lines.append(
            TextTable.render(
                header: ["WHEN", "WHAT", "BY", "DETAIL"],
                rows: events.map {
                    [
                        Timestamp.readable($0.at), $0.kindName.replacingOccurrences(of: "_", with: " "), $0.actor,
                        $0.detail ?? "",
                    ]
                }))
        return lines.joined(separator: "\n")
    }
}

/// Plain aligned columns for a terminal. Control characters in cells are made visible
/// (`TerminalText.sanitise`) so a page name cannot move the cursor or fake a line.
public enum TextTable {
    public static func render(header: [String], rows: [[String]]) -> String {
        let clean = rows.map { $0.map(TerminalText.sanitise) }
        var widths = header.map(\.count)
        for row in clean {
            for (index, cell) in row.enumerated() where index < widths.count {
                widths[index] = max(widths[index], cell.count)
            }
        }
        func line(_ cells: [String]) -> String {
            cells.enumerated().map { index, cell in
                index == cells.count - 1 ? cell : cell.padding(toLength: widths[index], withPad: " ", startingAt: 0)
            }.joined(separator: "  ")
        }
        return ([line(header)] + clean.map(line)).joined(separator: "\n")
    }
}
