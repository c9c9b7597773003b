import Foundation
import Testing

@testable import TokenWatchModel
@testable import TokenWatchReports
@testable import TokenWatchStore

@Suite("CSV report")
struct CSVReportTests {
    @Test("matches the golden file")
    func golden() throws {
        let csv = CSVReport.render(ReportFixtures.input)
        if let difference = try Golden.compare(csv, to: "report.csv") {
            Issue.record(Comment(rawValue: difference))
        }
    }

    @Test("hostile values match their golden file")
    func hostileGolden() throws {
        if let difference = try Golden.compare(CSVReport.render(ReportFixtures.hostileInput), to: "report-hostile.csv")
        {
            Issue.record(Comment(rawValue: difference))
        }
    }

    @Test("header row, CRLF line ends, no byte-order mark")
    func shape() {
        let csv = CSVReport.render(ReportFixtures.input)
        #expect(
            csv.hasPrefix(
                "company,page_id,page_name,status,reason,status_since,token_updated_at,last_checked_at,"
                    + "last_check_error,scopes,missing_scopes,expires_at,data_access_expires_at\r\n"))
        #expect(!Array(csv.utf8).starts(with: [0xEF, 0xBB, 0xBF]))
        #expect(csv.hasSuffix("\r\n"))
        // Every LF in the fixture (no names with line breaks) is part of a CRLF.
        let bytes = Array(csv.utf8)
        for (index, byte) in bytes.enumerated() where byte == 0x0A {
            #expect(index > 0 && bytes[index - 1] == 0x0D)
        }
    }

    @Test("rows: invalid, unknown, valid, disconnected; then company, then page name")
    func order() throws {
        let rows = CSVReport.render(ReportFixtures.input).components(separatedBy: "\r\n").dropFirst()
            .filter { !$0.isEmpty }
        let ids = rows.map { $0.split(separator: ",")[1] }
        #expect(
            ids == [
                "100000000000002", "200000000000001", "200000000000002", "100000000000001", "100000000000003",
                "300000000000002", "300000000000001",
            ])
    }

    @Test("cells: ISO 8601 UTC times, empty for nil and never, scopes joined with spaces, reason sentence")
    func cells() {
        var page = ReportFixtures.pages[2]
        page.expiresAt = Date(timeIntervalSince1970: 0)
        let cells = CSVReport.cells(for: page)
        #expect(cells[3] == "invalid")
        #expect(cells[4] == "The token lacks required permissions: pages_messaging.")
        #expect(cells[5] == "2026-11-26T04:29:10Z")
        #expect(cells[9] == "pages_manage_metadata pages_show_list")
        #expect(cells[10] == "pages_messaging")
        #expect(cells[11] == "")
        #expect(cells[12] == "")
        let valid = CSVReport.cells(for: ReportFixtures.pages[0])
        #expect(valid[4] == "")
        #expect(valid[8] == "")
    }

    @Test("a reason left on a page that is no longer invalid is not reported")
    func reasonOnlyWhenInvalid() {
        var page = ReportFixtures.pages[0]
        page.reason = .revoked
        #expect(CSVReport.cells(for: page)[4] == "")
    }

    @Test("hostile values read back by Python's csv module exactly, formulas neutralised")
    func hostileRoundTrip() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.cleanup() }
        let input = ReportFixtures.hostileInput
        let path = directory.file("hostile.csv")
        try Data(CSVReport.render(input).utf8).write(to: URL(fileURLWithPath: path))

        let rows = try await PythonCSV.read(path)
        #expect(rows.first == CSVReport.columns)
        #expect(rows.count == input.pages.count + 1)
        let expectedStored: [String: String] = [
            "<script>alert(1)</script>": "<script>alert(1)</script>",
            "Say \"hi\"": "Say \"hi\"",
            "Fish & Chips": "Fish & Chips",
            "=HYPERLINK(\"http://x\")": "'=HYPERLINK(\"http://x\")",
            "+1": "'+1",
            "-2": "'-2",
            "@SUM(A1:A2)": "'@SUM(A1:A2)",
            "\tTabbed": "'\tTabbed",
            "Line one\r\nLine two": "Line one\r\nLine two",
            "\rCarriage": "'\rCarriage",
            "Café 😀 Pages": "Café 😀 Pages",
            "עמוד הבית": "עמוד הבית",
            "comma, inside": "comma, inside",
            "it's": "it's",
        ]
        #expect(expectedStored.count == ReportFixtures.hostileNames.count)
        for row in rows.dropFirst() {
            #expect(row.count == CSVReport.columns.count)
            let index = try #require(Int(row[1])) - 900_000_000_000_000
            let original = ReportFixtures.hostileNames[index]
            let expected = try #require(expectedStored[original])
            #expect(row[0] == expected, "company of \(original.debugDescription)")
            #expect(row[2] == expected, "page_name of \(original.debugDescription)")
            #expect(row[8] == expected, "last_check_error of \(original.debugDescription)")
            #expect(row[9] == expected, "scopes of \(original.debugDescription)")
            #expect(row[3] == "unknown")
            #expect(row[7] == "2026-11-29T04:29:11Z")
        }
    }
}

@Suite("CSV format")
struct CSVFormatTests {
    @Test("quotes only what needs it, doubling inner quotes")
    func quoting() {
        #expect(CSVFormat.quoted("plain") == "plain")
        #expect(CSVFormat.quoted("") == "")
        #expect(CSVFormat.quoted("a,b") == "\"a,b\"")
        #expect(CSVFormat.quoted("say \"hi\"") == "\"say \"\"hi\"\"\"")
        #expect(CSVFormat.quoted("a\nb") == "\"a\nb\"")
        #expect(CSVFormat.quoted("a\r\nb") == "\"a\r\nb\"")
        #expect(CSVFormat.quoted("a\rb") == "\"a\rb\"")
        #expect(CSVFormat.quoted("it's") == "it's")
    }

    @Test("neutralises cells that spreadsheets would run as formulas")
    func neutralising() {
        for cell in ["=1+1", "+1", "-2", "@SUM(A1)", "\tx", "\rx"] {
            #expect(CSVFormat.neutralized(cell) == "'" + cell)
        }
        for cell in ["", "1", "a=b", " =1", "'quoted", "100000000000001"] {
            #expect(CSVFormat.neutralized(cell) == cell)
        }
    }

    @Test("a record ends with CRLF; neutralising can be turned off")
    func record() {
        #expect(CSVFormat.record(["a", "b,c", "=d"]) == "a,\"b,c\",'=d\r\n")
        #expect(CSVFormat.record(["-1"], neutralizingFormulas: false) == "-1\r\n")
    }

    @Test("the byte writer writes what CSVFormat.record writes, hostile and random values included")
    func byteWriterMatchesRecord() {
        var pages = ReportFixtures.pages + ReportFixtures.hostileInput.pages
        let alphabet = Array("a,\"\r\n=+-@\t'é😀 ".unicodeScalars)
        var generator = SystemRandomNumberGenerator()
        for index in 0..<2_000 {
            func text() -> String {
                String(
                    String.UnicodeScalarView(
                        (0..<Int.random(in: 0...6, using: &generator)).map { _ in
                            alphabet.randomElement(using: &generator) ?? "a"
                        }))
            }
            pages.append(
                PageRecord(
                    company: text(), pageID: String(index), pageName: text(),
                    status: index % 2 == 0 ? .invalid : .unknown, reason: .missingPermissions([text()]),
                    statusSince: Date(timeIntervalSince1970: Double(index) * 1_000_003.7),
                    tokenUpdatedAt: Date(timeIntervalSince1970: 0), lastCheckError: text(),
                    scopes: [text(), text()], missingScopes: [text()]))
        }
        for page in pages {
            var bytes: [UInt8] = []
            CSVReport.appendRow(page, to: &bytes)
            #expect(bytes == Array(CSVFormat.record(CSVReport.cells(for: page)).utf8), "\(page.pageID)")
        }
    }

    @Test("ISO times by arithmetic match the Gregorian calendar, 1601 to 9999")
    func isoTimesMatchCalendar() {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = .gmt
        func reference(_ date: Date) -> String {
            let c = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second], from: date)
            return String(
                format: "%04d-%02d-%02dT%02d:%02d:%02dZ", c.year ?? 0, c.month ?? 0, c.day ?? 0, c.hour ?? 0,
                c.minute ?? 0, c.second ?? 0)
        }
        var generator = SystemRandomNumberGenerator()
        var dates = (0..<5_000).map { _ in
            Date(timeIntervalSince1970: Double.random(in: -2_208_988_800...4_102_444_800, using: &generator))
        }
        dates += [-1, 59.9, 951_782_400, 4_107_542_400, 1_795_926_550, 253_402_300_799].map {
            Date(timeIntervalSince1970: $0)
        }
        for date in dates {
            var bytes: [UInt8] = []
            ReportTime.appendISO(date, to: &bytes)
            #expect(ReportTime.iso(date) == reference(date), "\(date.timeIntervalSince1970)")
            #expect(String(decoding: bytes, as: UTF8.self) == reference(date), "\(date.timeIntervalSince1970)")
        }
    }
}
