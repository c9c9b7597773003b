import Foundation
import TokenWatchModel

/// The CSV half of a report: one row per page for auditors and spreadsheets. RFC 4180, UTF-8
/// without a byte-order mark, CRLF line ends, formula-looking cells neutralised.
public enum CSVReport {
    /// The header row, in column order.
    public static let columns = [
        "company", "page_id", "page_name", "status", "reason", "status_since", "token_updated_at",
        "last_checked_at", "last_check_error", "scopes", "missing_scopes", "expires_at",
        "data_access_expires_at",
    ]

    /// The whole file: the header, then a row per page in report order.
    public static func render(_ input: ReportInput) -> String {
        var text = CSVFormat.record(columns)
        for page in input.orderedPages {
            text += CSVFormat.record(cells(for: page))
        }
        return text
    }

    /// One page's cells, in `columns` order, before quoting.
    static func cells(for page: PageRecord) -> [String] {
        [
            page.company,
            page.pageID,
            page.pageName,
            page.status.rawValue,
            page.status == .invalid ? (page.reason?.sentence ?? "") : "",
            ReportTime.iso(page.statusSince),
            ReportTime.iso(page.tokenUpdatedAt),
            ReportTime.iso(page.lastCheckedAt),
            page.lastCheckError ?? "",
            page.scopes.joined(separator: " "),
            page.missingScopes.joined(separator: " "),
            ReportTime.iso(page.expiresAt),
            ReportTime.iso(page.dataAccessExpiresAt),
        ]
    }
}
