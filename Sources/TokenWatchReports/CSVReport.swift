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

    /// Rows are handed to the sink in chunks of about this many bytes.
    static let chunkSize = 1 << 18

    /// The whole file: the header, then a row per page in report order.
    public static func render(_ input: ReportInput) -> String {
        var bytes: [UInt8] = []
        write(input.orderedPages) { bytes += $0 }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Writes the file in pieces of about `chunkSize` bytes to `sink`: the header, then a row
    /// per page of `pages` (already in report order). The same bytes as `CSVFormat.record` of
    /// `cells(for:)` (a test holds them equal, hostile values included), written byte by byte
    /// instead of through a `String` and an array per row.
    static func write<Failure: Error>(
        _ pages: [PageRecord], into sink: ([UInt8]) throws(Failure) -> Void
    ) throws(Failure) {
        var out: [UInt8] = []
        out.reserveCapacity(chunkSize + 4_096)
        out += Array(CSVFormat.record(columns).utf8)
        for page in pages {
            appendRow(page, to: &out)
            if out.count >= chunkSize {
                try sink(out)
                out.removeAll(keepingCapacity: true)
            }
        }
        if !out.isEmpty { try sink(out) }
    }

    /// One page's record, as `CSVFormat.record(cells(for: page))` writes it.
    static func appendRow(_ page: PageRecord, to out: inout [UInt8]) {
        let comma = UInt8(ascii: ",")
        appendCell(page.company, to: &out)
        out.append(comma)
        appendCell(page.pageID, to: &out)
        out.append(comma)
        appendCell(page.pageName, to: &out)
        out.append(comma)
        appendCell(page.status.rawValue, to: &out)
        out.append(comma)
        if page.status == .invalid { appendCell(page.reason?.sentence ?? "", to: &out) }
        out.append(comma)
        ReportTime.appendISO(page.statusSince, to: &out)
        out.append(comma)
        ReportTime.appendISO(page.tokenUpdatedAt, to: &out)
        out.append(comma)
        ReportTime.appendISO(page.lastCheckedAt, to: &out)
        out.append(comma)
        appendCell(page.lastCheckError ?? "", to: &out)
        out.append(comma)
        appendScopes(page.scopes, to: &out)
        out.append(comma)
        appendScopes(page.missingScopes, to: &out)
        out.append(comma)
        ReportTime.appendISO(page.expiresAt, to: &out)
        out.append(comma)
        ReportTime.appendISO(page.dataAccessExpiresAt, to: &out)
        out.append(UInt8(ascii: "\r"))
        out.append(UInt8(ascii: "\n"))
    }

    private static func appendScopes(_ scopes: [String], to out: inout [UInt8]) {
        switch scopes.count {
        case 0: return
        case 1: appendCell(scopes[0], to: &out)
        default: appendCell(scopes.joined(separator: " "), to: &out)
        }
    }

    /// One cell as `CSVFormat.quoted(CSVFormat.neutralized(text))` writes it. The characters
    /// both look for are ASCII, and in UTF-8 an ASCII byte is always that character, so bytes
    /// decide exactly what scalars did.
    static func appendCell(_ text: String, to out: inout [UInt8]) {
        let utf8 = text.utf8
        guard let first = utf8.first else { return }
        let neutral =
            first == UInt8(ascii: "=") || first == UInt8(ascii: "+") || first == UInt8(ascii: "-")
            || first == UInt8(ascii: "@") || first == UInt8(ascii: "\t") || first == UInt8(ascii: "\r")
        let quote = UInt8(ascii: "\"")
        let needsQuotes = utf8.contains { byte in
            byte == UInt8(ascii: ",") || byte == quote || byte == UInt8(ascii: "\r") || byte == UInt8(ascii: "\n")
        }
        if needsQuotes { out.append(quote) }
        if neutral { out.append(UInt8(ascii: "'")) }
        if needsQuotes {
            for byte in utf8 {
                out.append(byte)
                if byte == quote { out.append(quote) }
            }
            out.append(quote)
        } else {
            out.append(contentsOf: utf8)
        }
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
