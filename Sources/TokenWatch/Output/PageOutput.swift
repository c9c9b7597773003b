import Foundation

/// `pages list` and `pages log` output for people (aligned tables) and scripts (stable
/// snake_case JSON).
public enum PageOutput {
    /// The JSON shape of one page (SPEC.md "`--format json` output").
    struct PageJSON: Encodable {
        var company: String
        var page_id: String
        var page_name: String
        var status: String
        var reason: String?
        var reason_code: String?
        var status_since: String?
        var token_updated_at: String?
        var last_checked_at: String?
        var last_check_error: String?
        var scopes: [String]
        var missing_scopes: [String]
        var expires_at: String?
        var data_access_expires_at: String?

        init(_ page: PageRecord) {
            company = page.company
            page_id = page.pageID
            page_name = page.pageName
            status = page.status.rawValue
            reason = page.reason?.sentence
            reason_code = page.reason?.code
            status_since = Timestamp.iso(page.statusSince)
            token_updated_at = Timestamp.iso(page.tokenUpdatedAt)
            last_checked_at = Timestamp.iso(page.lastCheckedAt)
            last_check_error = page.lastCheckError
            scopes = page.scopes
            missing_scopes = page.missingScopes
            expires_at = Timestamp.iso(page.expiresAt)
            data_access_expires_at = Timestamp.iso(page.dataAccessExpiresAt)
        }

        // Absent values are written as null, so every key is always there.
        func encode(to encoder: any Encoder) throws {
            enum Key: String, CodingKey {
                case company, page_id, page_name, status, reason, reason_code, status_since, token_updated_at,
                    last_checked_at, last_check_error, scopes, missing_scopes, expires_at, data_access_expires_at
            }
            var c = encoder.container(keyedBy: Key.self)
            try c.encode(company, forKey: .company)
            try c.encode(page_id, forKey: .page_id)
            try c.encode(page_name, forKey: .page_name)
            try c.encode(status, forKey: .status)
            try c.encode(reason, forKey: .reason)
            try c.encode(reason_code, forKey: .reason_code)
            try c.encode(status_since, forKey: .status_since)
            try c.encode(token_updated_at, forKey: .token_updated_at)
            try c.encode(last_checked_at, forKey: .last_checked_at)
            try c.encode(last_check_error, forKey: .last_check_error)
            try c.encode(scopes, forKey: .scopes)
            try c.encode(missing_scopes, forKey: .missing_scopes)
            try c.encode(expires_at, forKey: .expires_at)
            try c.encode(data_access_expires_at, forKey: .data_access_expires_at)
        }
    }

    struct EventJSON: Encodable {
        var at: String
        var kind: String
        var actor: String
        var detail: String?

        func encode(to encoder: any Encoder) throws {
            enum Key: String, CodingKey { case at, kind, actor, detail }
            var c = encoder.container(keyedBy: Key.self)
            try c.encode(at, forKey: .at)
            try c.encode(kind, forKey: .kind)
            try c.encode(actor, forKey: .actor)
            try c.encode(detail, forKey: .detail)
        }
    }

    struct LogJSON: Encodable {
        var page_id: String
        var page_name: String
        var company: String
        var status: String
        var reason: String?
        var scopes: [String]
        var missing_scopes: [String]
        var events: [EventJSON]
    }

    static func encode(_ value: some Encodable) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        guard let data = try? encoder.encode(value) else { return "[]" }
        return String(decoding: data, as: UTF8.self)
    }

    /// `pages list --format json`: an array of pages.
    public static func json(_ pages: [PageRecord]) -> String {
        encode(pages.map(PageJSON.init))
    }

    /// `pages log ID --format json`.
    public static func logJSON(_ page: PageRecord, events: [PageEvent]) -> String {
        encode(
            LogJSON(
                page_id: page.pageID, page_name: page.pageName, company: page.company, status: page.status.rawValue,
                reason: page.reason?.sentence, scopes: page.scopes, missing_scopes: page.missingScopes,
                events: events.map {
                    EventJSON(at: Timestamp.iso($0.at) ?? "", kind: $0.kind.rawValue, actor: $0.actor, detail: $0.detail)
                }))
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
        if let reason = page.reason { return reason.sentence }
        if let error = page.lastCheckError { return error }
        if page.status == .valid, let expiresAt = page.expiresAt { return "token expires \(Timestamp.readable(expiresAt))" }
        return ""
    }

    /// `pages log ID` for people: the page, its permissions now, then every movement.
    public static func logTable(_ page: PageRecord, events: [PageEvent]) -> String {
        var lines = [
            "\(page.pageName) (page \(page.pageID), company \(page.company))",
            "Status: \(page.status.label)\(page.reason.map { " — \($0.sentence)" } ?? "")"
                + (page.statusSince.map { " since \(Timestamp.readable($0))" } ?? ""),
            "Updated Date: \(Timestamp.readable(page.tokenUpdatedAt))",
            "Permissions: \(page.scopes.isEmpty ? "(none known yet)" : page.scopes.joined(separator: ", "))",
        ]
        if !page.missingScopes.isEmpty { lines.append("Missing: \(page.missingScopes.joined(separator: ", "))") }
        lines.append("")
        lines.append(
            TextTable.render(
                header: ["WHEN", "WHAT", "BY", "DETAIL"],
                rows: events.map { [Timestamp.readable($0.at), $0.kind.rawValue.replacingOccurrences(of: "_", with: " "), $0.actor, $0.detail ?? ""] }))
        return lines.joined(separator: "\n")
    }
}

/// Plain aligned columns for a terminal. Control characters in cells are made visible so a
/// page name cannot move the cursor or fake a line.
public enum TextTable {
    public static func render(header: [String], rows: [[String]]) -> String {
        let clean = rows.map { $0.map(sanitise) }
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

    /// Control characters made visible ("?"), so a name cannot move the cursor or forge a line.
    public static func sanitise(_ text: String) -> String {
        String(String.UnicodeScalarView(text.unicodeScalars.map { $0.value < 0x20 || $0.value == 0x7F ? "?" : $0 }))
    }
}
