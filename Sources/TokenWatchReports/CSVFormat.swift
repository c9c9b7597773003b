/// RFC 4180 output: how one field and one record are written. Shared by the CSV report and
/// `pages list --format csv`, so both quote, neutralise and end lines the same way.
public enum CSVFormat {
    /// RFC 4180 ends every record, the last one included, with CRLF.
    public static let recordTerminator = "\r\n"

    /// The field as RFC 4180 writes it: wrapped in double quotes, with inner quotes doubled,
    /// when it holds a comma, a quote, CR or LF; unchanged otherwise.
    public static func quoted(_ field: String) -> String {
        // Compared as Unicode scalars: a CRLF pair is one Character and would not match "\n".
        let needsQuotes = field.unicodeScalars.contains { $0 == "," || $0 == "\"" || $0 == "\r" || $0 == "\n" }
        guard needsQuotes else { return field }
        return "\"" + field.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }

    /// The cell with a single quote in front when it starts with `=`, `+`, `-`, `@`, tab or CR:
    /// spreadsheets would otherwise run it as a formula (OWASP "CSV injection").
    public static func neutralized(_ cell: String) -> String {
        guard let first = cell.unicodeScalars.first else { return cell }
        switch first {
        case "=", "+", "-", "@", "\t", "\r": return "'" + cell
        default: return cell
        }
    }

    /// One record: each cell neutralised (when asked) and quoted, joined by commas, ended by CRLF.
    public static func record(_ cells: [String], neutralizingFormulas: Bool = true) -> String {
        cells.map { quoted(neutralizingFormulas ? neutralized($0) : $0) }.joined(separator: ",")
            + recordTerminator
    }
}
