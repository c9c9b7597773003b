import Foundation
import Testing

@testable import TokenWatchModel
@testable import TokenWatchReports
@testable import TokenWatchTemplates

@Suite("XLSX report")
struct XLSXReportTests {
    /// A Page ID too long for a double: a spreadsheet that took it as a number would show
    /// 61550123456789000.
    static let longID = "61550123456789012"

    /// The fixtures, the hostile names and a page with a 17-digit ID.
    static var input: ReportInput {
        var input = ReportFixtures.input
        input.pages += ReportFixtures.hostileInput.pages
        input.pages.append(
            PageRecord(
                company: "Acme Recruiting", pageID: longID, pageName: "Acme Long ID", status: .valid,
                statusSince: ReportFixtures.at(-1), tokenUpdatedAt: ReportFixtures.at(-2),
                lastCheckedAt: ReportFixtures.at(3), scopes: ReportFixtures.scopes))
        return input
    }

    /// The CSV cell as its writer meant it: the apostrophe that neutralises a formula-looking
    /// cell is the CSV's defence, not part of the value.
    static func unneutralised(_ cell: String) -> String {
        guard cell.hasPrefix("'"), let next = cell.unicodeScalars.dropFirst().first,
            ["=", "+", "-", "@", "\t", "\r"].contains(next)
        else { return cell }
        return String(cell.dropFirst())
    }

    @Test("every cell of the Pages sheet equals the CSV's; IDs are text, times are dates, no formula")
    func matchesCSV() async throws {
        let temp = try TemporaryDirectory()
        defer { temp.cleanup() }
        let files = try ReportWriter().write(Self.input, templates: try TemplateSet(), to: temp.path)
        #expect(files.xlsx == temp.path + "/" + files.stem + ".xlsx")
        #expect(FileManager.default.fileExists(atPath: files.latestXLSX))
        let csv = try await PythonCSV.read(files.csv)
        let book = try await PythonXLSX.read(files.xlsx)
        #expect(book.order == ["Pages", "Summary"])
        let pages = try #require(book.sheets["Pages"])
        #expect(pages.rows.count == csv.count)
        for (rowIndex, (row, csvRow)) in zip(pages.rows, csv).enumerated() {
            #expect(row.count == csvRow.count, "row \(rowIndex)")
            for (column, (cell, csvCell)) in zip(row, csvRow).enumerated() {
                #expect(cell == Self.unneutralised(csvCell), "row \(rowIndex), \(CSVReport.columns[column])")
            }
        }
        // Nothing is a formula; IDs are strings, times are dates with a date format.
        #expect(!pages.types.joined().contains("f"))
        let idColumn = try #require(CSVReport.columns.firstIndex(of: "page_id"))
        let sinceColumn = try #require(CSVReport.columns.firstIndex(of: "status_since"))
        for row in pages.types.dropFirst() {
            #expect(row[idColumn] == "s")
            #expect(row[sinceColumn] == "d" || row[sinceColumn] == "")
        }
        #expect(pages.rows.contains { $0[idColumn] == Self.longID })
        #expect(pages.rows.contains { $0.contains("=HYPERLINK(\"http://x\")") })
        #expect(pages.formats[1][sinceColumn] == XLSXReport.dateFormat)
        #expect(pages.freezePanes == "A2")
        #expect(pages.autoFilter == "A1:M\(csv.count)")
        #expect((pages.widths["C"] ?? 0) > 20)
    }

    @Test("the stamped spreadsheet is as readable as its HTML and CSV: an auditor's account opens all three")
    func stampedSpreadsheetHasTheReportsMode() throws {
        let temp = try TemporaryDirectory()
        defer { temp.cleanup() }
        let files = try ReportWriter().write(Self.input, templates: try TemplateSet(), to: temp.path)
        func mode(_ path: String) -> mode_t {
            var info = stat()
            return stat(path, &info) == 0 ? info.st_mode & 0o777 : 0
        }
        // Every report file is 0644 before the umask (the test does not change the process's
        // umask: other tests run beside it), so all four have the HTML's bits.
        let htmlMode = mode(files.html)
        #expect(htmlMode & 0o600 == 0o600)
        #expect(mode(files.csv) == htmlMode)
        #expect(mode(files.xlsx) == htmlMode)
        #expect(mode(files.latestXLSX) == htmlMode)
    }

    @Test("the Summary sheet gives the counts per status, the run's outcome, exit code and time")
    func summary() async throws {
        let temp = try TemporaryDirectory()
        defer { temp.cleanup() }
        let bytes = try XLSXReport.render(ReportFixtures.input)
        let path = temp.file("summary.xlsx")
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        let summary = try #require(try await PythonXLSX.read(path).sheets["Summary"])
        let pairs = Dictionary(
            summary.rows.filter { $0.count >= 2 && !$0[0].isEmpty }.map { ($0[0], $0[1]) },
            uniquingKeysWith: { first, _ in first })
        #expect(pairs["Generated at"] == "2026-11-29T04:29:10Z")
        #expect(pairs["Run outcome"] == ReportFixtures.run.status.phrase)
        #expect(pairs["Exit code"] == String(ReportFixtures.run.status.rawValue))
        #expect(pairs["valid"] == "3")
        #expect(pairs["invalid"] == "2")
        #expect(pairs["unknown"] == "1")
        #expect(pairs["disconnected"] == "1")
        #expect(pairs["total"] == "7")
        // The Summary sheet comes from a workbook of its own (ZipEntrySplice): its cells must
        // still point at the right formats — labels bold, times as dates, counts plain.
        let generated = try #require(summary.rows.firstIndex { $0.first == "Generated at" })
        #expect(summary.bold[generated] == [true, false])
        #expect(summary.formats[generated][1] == XLSXReport.dateFormat)
        let total = try #require(summary.rows.firstIndex { $0.first == "total" })
        #expect(summary.bold[total] == [true, false])
        #expect(summary.formats[total][1] == "General")
        let valid = try #require(summary.rows.firstIndex { $0.first == "valid" })
        #expect(summary.bold[valid] == [false, false])

        var regenerated = ReportFixtures.input
        regenerated.run = nil
        try Data(try XLSXReport.render(regenerated)).write(to: URL(fileURLWithPath: path))
        let rows = try #require(try await PythonXLSX.read(path).sheets["Summary"]).rows
        #expect(rows.contains { $0.first == "Run outcome" && $0.dropFirst().first?.contains("no check run") == true })
    }

    @Test("a cell's text loses its NULs and stops at Excel's limit; other text is kept as it is")
    func cellText() {
        #expect(XLSXReport.cellText("Café \"Étoile\" 😀") == "Café \"Étoile\" 😀")
        #expect(XLSXReport.cellText("a\u{0}b\u{0}") == "ab")
        #expect(XLSXReport.cellText("") == "")
        let long = String(repeating: "é", count: XLSXReport.cellLimit + 5)
        #expect(XLSXReport.cellText(long).unicodeScalars.count == XLSXReport.cellLimit)
        let atLimit = String(repeating: "x", count: XLSXReport.cellLimit)
        #expect(XLSXReport.cellText(atLimit) == atLimit)
        #expect(XLSXReport.cellText("\u{0}" + atLimit) == atLimit)
    }

    @Test("a report started before the outcome is the report written at once; abandoned, it leaves nothing")
    func startedReport() async throws {
        let templates = try TemplateSet()
        let whole = try TemporaryDirectory()
        let staged = try TemporaryDirectory()
        let abandoned = try TemporaryDirectory()
        defer { for directory in [whole, staged, abandoned] { directory.cleanup() } }
        let direct = try ReportWriter().write(Self.input, templates: templates, to: whole.path)

        // Started with the pages alone (no run, another time), finished with the outcome.
        let started = try ReportWriter().start(
            ReportInput(generatedAt: Date(timeIntervalSince1970: 0), pages: Self.input.pages), in: staged.path)
        var input = started.pages
        let full = Self.input
        (input.generatedAt, input.run, input.notifications) = (full.generatedAt, full.run, full.notifications)
        (input.recentEvents, input.logEntryCounts, input.changedPageIDs) =
            (full.recentEvents, full.logEntryCounts, full.changedPageIDs)
        (input.notices, input.owners, input.origin) = (full.notices, full.owners, full.origin)
        let files = try ReportWriter().write(input, templates: templates, to: staged.path, started: started)
        #expect(files.stem == direct.stem)
        #expect(
            try Data(contentsOf: URL(fileURLWithPath: files.html))
                == Data(contentsOf: URL(fileURLWithPath: direct.html)))
        #expect(
            try Data(contentsOf: URL(fileURLWithPath: files.csv)) == Data(contentsOf: URL(fileURLWithPath: direct.csv)))
        let (one, other) = (try await PythonXLSX.read(files.xlsx), try await PythonXLSX.read(direct.xlsx))
        #expect(one.order == other.order)
        #expect(one.sheets["Pages"]?.rows == other.sheets["Pages"]?.rows)
        #expect(one.sheets["Summary"]?.rows == other.sheets["Summary"]?.rows)
        // Nothing temporary is left beside the placed files.
        let names = try FileManager.default.contentsOfDirectory(atPath: staged.path)
        #expect(!names.contains { $0.hasPrefix(".") })

        let dropped = try ReportWriter().start(
            ReportInput(generatedAt: Self.input.generatedAt, pages: Self.input.pages), in: abandoned.path)
        dropped.abandon()
        dropped.abandon()
        #expect(try FileManager.default.contentsOfDirectory(atPath: abandoned.path).isEmpty)
    }

    @Test("a scope list's cell is joined once per distinct list, and always the list's own")
    func scopeTextFollowsEachList() {
        var scopes = ScopeText()
        let shared = ["pages_messaging", "pages_show_list"]
        let lists = [shared, shared, [], ["pages_messaging"], shared, ["a", "b"], ["a", "b"]]
        #expect(lists.map { scopes.text($0) } == lists.map { $0.joined(separator: " ") })
    }
}
