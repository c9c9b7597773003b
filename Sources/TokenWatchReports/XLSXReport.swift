import CXLSX
import Foundation
import TokenWatchModel

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// The spreadsheet half of a report, for auditors: the CSV's rows and columns on a "Pages"
/// sheet with page IDs as text, times as real dates, a frozen header and an autofilter, and a
/// "Summary" sheet with the counts per status and how the run ended.
///
/// Written with libxlsxwriter. Every text goes through `worksheet_write_string`, which stores
/// it as a string cell: nothing in the workbook is ever a formula, so a page named
/// `=HYPERLINK(…)` shows as that text and runs nothing, and the value needs no apostrophe
/// (unlike the CSV, where a spreadsheet guesses each cell's type).
public enum XLSXReport {
    /// The columns of the "Pages" sheet: the CSV's, in the same order.
    public static let columns = CSVReport.columns
    /// Columns holding times, written as date cells.
    static let timeColumns: Set<String> = [
        "status_since", "token_updated_at", "last_checked_at", "expires_at", "data_access_expires_at",
    ]
    /// Column widths in characters, by column name; others get `defaultWidth`.
    static let widths: [String: Double] = [
        "company": 24, "page_id": 20, "page_name": 32, "status": 13, "reason": 48, "last_check_error": 40,
        "scopes": 48, "missing_scopes": 28,
    ]
    static let defaultWidth = 20.0
    static let dateWidth = 20.0
    /// The number format of every time cell: what auditors read, and still a date to sort by.
    static let dateFormat = "yyyy-mm-dd hh:mm:ss"
    /// Excel's limit on the characters of one cell.
    static let cellLimit = 32_767

    /// Renders the workbook and returns its bytes.
    /// - Throws: `ReportError.cannotWrite` when libxlsxwriter cannot build or save it (for
    ///   example the temporary directory is not writable).
    public static func render(_ input: ReportInput) throws(ReportError) -> [UInt8] {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/report.xlsx"
        try write(input, to: path)
        guard let data = FileManager.default.contents(atPath: path) else {
            throw .cannotWrite(path: "spreadsheet", reason: "the rendered workbook could not be read back")
        }
        return [UInt8](data)
    }

    /// Writes the workbook to `path` (a private temporary file: `ReportWriter` places it).
    static func write(_ input: ReportInput, to path: String) throws(ReportError) {
        try write(input, to: path) { input }
    }

    /// Writes the Pages sheet of `input` first, then asks `summary` for the input whose run
    /// the Summary sheet reports (the same pages, the run's outcome now decided): the pages can
    /// be written while the digests go out. `summary` returning nil abandons the workbook.
    static func write(_ input: ReportInput, to path: String, summary: () -> ReportInput?) throws(ReportError) {
        var pages: [PageRecord]? = input.orderedPages
        try write(
            to: path,
            pages: { () throws(ReportError) -> [PageRecord]? in
                defer { pages = nil }
                return pages
            }, summary: summary)
    }

    /// Writes the Pages sheet from `nextPages`, which gives the pages in report order a chunk
    /// at a time (nil after the last; a `PageFeed` gives them while they are read), then the
    /// Summary sheet as above.
    ///
    /// The pages' workbook is closed — compressed — before `summary` is asked, with an empty
    /// Summary sheet; the real one is written into a workbook of its own with the same
    /// formats, and `ZipEntrySplice` puts the file together from the two. So the long
    /// compression runs while the digests go out, not after them.
    static func write(
        to path: String, pages nextPages: () throws(ReportError) -> [PageRecord]?, summary: () -> ReportInput?
    ) throws(ReportError) {
        // Names ending in .tmp, beside `path`: a run killed meanwhile leaves what
        // `ReportWriter.removeStaleTemporaries` sweeps.
        let pagesPath = path + ".pages.tmp"
        let summaryPath = path + ".summary.tmp"
        defer {
            _ = unlink(pagesPath)
            _ = unlink(summaryPath)
        }
        try build(pagesPath) { book throws(ReportError) in
            try book.writePages(nextPages)
            _ = try book.sheet(summarySheet)
        }
        guard let final = summary() else {
            throw .cannotWrite(path: "spreadsheet", reason: "abandoned: the report was not finished")
        }
        try build(summaryPath) { book throws(ReportError) in
            _ = try book.sheet(pagesSheet)
            try book.writeSummary(final)
        }
        // styles.xml holds the formats both workbooks' cells point at by index.
        try ZipEntrySplice.replace(
            entry: "xl/worksheets/sheet2.xml", in: pagesPath, from: summaryPath, into: path,
            sameIn: ["xl/styles.xml", "[Content_Types].xml"])
    }

    static let pagesSheet = "Pages"
    static let summarySheet = "Summary"

    /// Creates a workbook at `path`, lets `fill` write its sheets, and closes it.
    private static func build(_ path: String, _ fill: (Book) throws(ReportError) -> Void) throws(ReportError) {
        guard let workbook = tw_workbook_new_streaming(path) else {
            throw .cannotWrite(path: "spreadsheet", reason: "libxlsxwriter could not create a workbook")
        }
        do throws(ReportError) {
            try fill(Book(workbook: workbook))
        } catch {
            // Closing is the only way to free the workbook; the half-written file is discarded.
            _ = workbook_close(workbook)
            throw error
        }
        let closed = workbook_close(workbook)
        guard closed == LXW_NO_ERROR else {
            throw .cannotWrite(path: "spreadsheet", reason: String(cString: lxw_strerror(closed)))
        }
    }

    /// A directory only this process uses, for libxlsxwriter's output file.
    static func temporaryDirectory() throws(ReportError) -> String {
        var template = Array((NSTemporaryDirectory() + "/tokenwatch-xlsx-XXXXXX").utf8CString)
        let made = template.withUnsafeMutableBufferPointer { buffer -> Bool in
            guard let base = buffer.baseAddress else { return false }
            return mkdtemp(base) != nil
        }
        guard made else {
            throw .cannotWrite(
                path: NSTemporaryDirectory(), reason: "cannot create a temporary directory for the spreadsheet")
        }
        return String(decoding: template.dropLast().map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// The text as one cell holds it: without NUL (a C string would end there) and cut to
    /// Excel's limit.
    static func cellText(_ text: String) -> String {
        // The common case, checked on bytes: no NUL, and short enough whatever the scalars.
        var copy = text
        let hasNUL = copy.withUTF8 { bytes in
            bytes.baseAddress.map { memchr($0, 0, bytes.count) != nil } ?? false
        }
        if text.utf8.count <= cellLimit, !hasNUL { return text }
        let scalars = text.unicodeScalars.filter { $0 != "\u{0}" }
        guard scalars.count > cellLimit else { return String(String.UnicodeScalarView(scalars)) }
        return String(String.UnicodeScalarView(scalars.prefix(cellLimit)))
    }

    /// The workbook being written and its formats.
    private struct Book {
        let workbook: UnsafeMutablePointer<lxw_workbook>
        let header: UnsafeMutablePointer<lxw_format>?
        let date: UnsafeMutablePointer<lxw_format>?
        let text: UnsafeMutablePointer<lxw_format>?

        init(workbook: UnsafeMutablePointer<lxw_workbook>) {
            self.workbook = workbook
            header = workbook_add_format(workbook)
            format_set_bold(header)
            date = workbook_add_format(workbook)
            format_set_num_format(date, XLSXReport.dateFormat)
            text = workbook_add_format(workbook)
            // "@": the cell is text, so editing a page ID never turns it into a number.
            format_set_num_format(text, "@")
            // Cells name their format by index, given on first use: fixed here, in one order,
            // so a workbook holding only the Summary sheet numbers them as the Pages one does.
            for format in [header, date, text] { _ = lxw_format_get_xf_index(format) }
        }

        func sheet(_ name: String) throws(ReportError) -> UnsafeMutablePointer<lxw_worksheet> {
            guard let sheet = workbook_add_worksheet(workbook, name) else {
                throw .cannotWrite(path: "spreadsheet", reason: "cannot add the \(name) sheet")
            }
            return sheet
        }

        func check(_ result: lxw_error) throws(ReportError) {
            guard result == LXW_NO_ERROR else {
                throw .cannotWrite(path: "spreadsheet", reason: String(cString: lxw_strerror(result)))
            }
        }

        func string(
            _ sheet: UnsafeMutablePointer<lxw_worksheet>, _ row: UInt32, _ column: UInt16, _ value: String,
            _ format: UnsafeMutablePointer<lxw_format>? = nil
        ) throws(ReportError) {
            // An empty cell stays blank, as in the CSV.
            guard !value.isEmpty else { return }
            try check(worksheet_write_string(sheet, row, column, XLSXReport.cellText(value), format))
        }

        func time(_ sheet: UnsafeMutablePointer<lxw_worksheet>, _ row: UInt32, _ column: UInt16, _ value: Date?)
            throws(ReportError)
        {
            // The CSV's rule: a time that never comes (or none) is an empty cell.
            guard let value, !ReportTime.isNever(value) else { return }
            let seconds = Int64(value.timeIntervalSince1970.rounded(.down))
            try check(worksheet_write_unixtime(sheet, row, column, seconds, date))
        }

        func number(_ sheet: UnsafeMutablePointer<lxw_worksheet>, _ row: UInt32, _ column: UInt16, _ value: Int)
            throws(ReportError)
        {
            try check(worksheet_write_number(sheet, row, column, Double(value), nil))
        }

        func writePages(_ nextPages: () throws(ReportError) -> [PageRecord]?) throws(ReportError) {
            let sheet = try sheet(XLSXReport.pagesSheet)
            let columns = XLSXReport.columns
            for (index, name) in columns.enumerated() {
                let column = UInt16(index)
                let width =
                    XLSXReport.timeColumns.contains(name)
                    ? XLSXReport.dateWidth : XLSXReport.widths[name] ?? XLSXReport.defaultWidth
                let format = name == "page_id" ? text : nil
                try check(worksheet_set_column(sheet, column, column, width, format))
            }
            for (index, name) in columns.enumerated() {
                try string(sheet, 0, UInt16(index), name, header)
            }
            var row: UInt32 = 0
            var scopes = ScopeText()
            var missingScopes = ScopeText()
            while let pages = try nextPages() {
                for page in pages {
                    row += 1
                    // In `columns` order (the test compares every cell with the CSV's, so the two
                    // cannot drift apart); times are date cells, everything else a string cell.
                    try string(sheet, row, 0, page.company)
                    try string(sheet, row, 1, page.pageID, text)
                    try string(sheet, row, 2, page.pageName)
                    try string(sheet, row, 3, page.status.rawValue)
                    try string(sheet, row, 4, page.status == .invalid ? (page.reason?.sentence ?? "") : "")
                    try time(sheet, row, 5, page.statusSince)
                    try time(sheet, row, 6, page.tokenUpdatedAt)
                    try time(sheet, row, 7, page.lastCheckedAt)
                    try string(sheet, row, 8, page.lastCheckError ?? "")
                    try string(sheet, row, 9, scopes.text(page.scopes))
                    try string(sheet, row, 10, missingScopes.text(page.missingScopes))
                    try time(sheet, row, 11, page.expiresAt)
                    try time(sheet, row, 12, page.dataAccessExpiresAt)
                }
            }
            worksheet_freeze_panes(sheet, 1, 0)
            try check(worksheet_autofilter(sheet, 0, 0, row, UInt16(columns.count - 1)))
        }

        func writeSummary(_ input: ReportInput) throws(ReportError) {
            let sheet = try sheet(XLSXReport.summarySheet)
            try check(worksheet_set_column(sheet, 0, 0, 30, nil))
            try check(worksheet_set_column(sheet, 1, 1, 40, nil))
            var row: UInt32 = 0
            func label(_ text: String) throws(ReportError) { try string(sheet, row, 0, text, header) }
            try label("Generated at")
            try time(sheet, row, 1, input.generatedAt)
            row += 1
            try label("Run outcome")
            if let run = input.run {
                try string(sheet, row, 1, run.status.phrase)
                row += 1
                try label("Exit code")
                try number(sheet, row, 1, Int(run.status.rawValue))
                row += 1
                try label("Run by")
                try string(sheet, row, 1, run.actor)
                row += 1
                try label("Run started at")
                try time(sheet, row, 1, run.startedAt)
                row += 1
                try label("Run ended at")
                try time(sheet, row, 1, run.endedAt)
                for reason in run.reasons {
                    row += 1
                    try label("Why not completed")
                    try string(sheet, row, 1, reason)
                }
            } else {
                try string(sheet, row, 1, "no check run: regenerated from stored state")
            }
            // One pass over the pages, read in place: this sheet is written after the digests,
            // when nothing else is left to do, and a pass per status copied every page five times.
            var counts: [PageStatus: Int] = [:]
            var unconfirmed = 0
            for index in input.pages.indices {
                counts[input.pages[index].status, default: 0] += 1
                if input.pages[index].isUnconfirmed { unconfirmed += 1 }
            }
            row += 2
            try string(sheet, row, 0, "Status", header)
            try string(sheet, row, 1, "Pages", header)
            for status in PageStatus.allCases {
                row += 1
                try string(sheet, row, 0, status.rawValue)
                try number(sheet, row, 1, counts[status] ?? 0)
            }
            row += 1
            try string(sheet, row, 0, "total", header)
            try number(sheet, row, 1, input.pages.count)
            if unconfirmed > 0 {
                row += 1
                try string(sheet, row, 0, "not confirmed in this run")
                try number(sheet, row, 1, unconfirmed)
            }
        }
    }
}

/// A page's scopes as one cell, joined once per distinct list. A fleet's pages share a few
/// lists (the store hands them the same array), and a join per page was a twentieth of the
/// spreadsheet's thread, the report's last to finish.
struct ScopeText {
    private var list: [String] = []
    private var text = ""

    /// `scopes` space-separated.
    mutating func text(_ scopes: [String]) -> String {
        if scopes != list {
            list = scopes
            text = scopes.joined(separator: " ")
        }
        return text
    }
}
