import Foundation
import Testing

@testable import TokenWatch
@testable import TokenWatchMail
@testable import TokenWatchModel
@testable import TokenWatchReports
@testable import TokenWatchStore
@testable import TokenWatchSystem
@testable import TokenWatchTemplates

@Suite("Pages import parser")
struct PageImportParserTests {
    static let token = "EAAGtokenSECRET123"

    static func parse(_ text: String, source: String = "pages.csv") -> Result<[PageImportRow], PageImportProblems> {
        PageImportParser.parse(data: Data(text.utf8), source: source)
    }

    static func problems(_ text: String) throws -> [PageImportProblem] {
        switch parse(text) {
        case .success(let rows): throw Failure("expected problems, got \(rows.count) rows")
        case .failure(let problems): return problems.problems
        }
    }

    static func rows(_ data: Data) throws -> [PageImportRow] {
        switch PageImportParser.parse(data: data, source: "pages.csv") {
        case .success(let rows): return rows
        case .failure(let problems): throw Failure(problems.description)
        }
    }

    struct Failure: Error, CustomStringConvertible {
        var description: String
        init(_ description: String) { self.description = description }
    }

    @Test("a good file, CRLF line ends, trailing newline")
    func goodFile() throws {
        let rows = try Self.rows(
            Data(
                "company,page_id,page_name,access_token\r\nAcme,123,Acme Careers,\(Self.token)\r\nAcme,456,Acme Jobs,t2\r\n"
                    .utf8))
        #expect(
            rows == [
                PageImportRow(
                    line: 2, company: "Acme", pageID: "123", pageName: "Acme Careers", accessToken: Secret(Self.token)),
                PageImportRow(
                    line: 3, company: "Acme", pageID: "456", pageName: "Acme Jobs", accessToken: Secret("t2")),
            ])
    }

    @Test("columns in any order, header names trimmed, LF, no trailing newline, blank lines skipped")
    func anyOrder() throws {
        let rows = try Self.rows(
            Data(" access_token , page_name,company ,page_id\n\nt1,Name,Acme,123\n   \nt2,Other,Beta,456".utf8))
        #expect(rows.map(\.pageID) == ["123", "456"])
        #expect(rows.map(\.line) == [3, 5])
        #expect(rows[0].company == "Acme")
        #expect(rows[0].pageName == "Name")
        #expect(rows[0].accessToken.reveal == "t1")
    }

    @Test("a UTF-8 byte-order mark before the header")
    func byteOrderMark() throws {
        let rows = try Self.rows(
            Data([0xEF, 0xBB, 0xBF]) + Data("company,page_id,page_name,access_token\nÉcole,1,Café 😀,t\n".utf8))
        #expect(rows.first?.company == "École")
        #expect(rows.first?.pageName == "Café 😀")
    }

    @Test("quoted fields: commas, doubled quotes, line breaks; lines counted from where the record starts")
    func quotedFields() throws {
        let text = #"""
            company,page_id,page_name,access_token
            "Acme, Inc.",1,"Say ""hi""",t1
            Acme,3,"עמוד",t3

            """#
        let rows = try Self.rows(Data(text.utf8))
        #expect(rows.map(\.line) == [2, 3])
        #expect(rows[0].company == "Acme, Inc.")
        #expect(rows[0].pageName == "Say \"hi\"")
        #expect(rows[1].pageName == "עמוד")

        // A quoted line break is read as part of its field, and the record after it is counted
        // from the line it starts on; a name with a line break is then refused (plain text only).
        let multiline = #"""
            company,page_id,page_name,access_token
            Acme,2,"Two
            lines
            here",t2
            Acme,x,Fine,t4

            """#
        let problems = try Self.problems(multiline)
        #expect(problems.map(\.line) == [2, 5])
        #expect(problems.first?.kind == .controlCharacter("page_name"))
        #expect(problems.last?.kind == .pageIDNotDigits)
    }

    @Test("a header alone is an empty import, not an error")
    func headerOnly() throws {
        #expect(try Self.rows(Data("company,page_id,page_name,access_token\n".utf8)).isEmpty)
    }

    @Test("every problem at once, each with file and line, never the token")
    func allProblems() throws {
        let text = """
            company,page_id,page_name,access_token
            Acme,123,Careers,\(Self.token)
            ,124,Jobs,\(Self.token)
            Acme,12x,Bad ID,\(Self.token)
            Acme,125,,
            Acme,123,Careers again,\(Self.token)
            Acme,126,Too,many,\(Self.token)
            Acme,127,Short
            Acme,128,Fine,\(Self.token)

            """
        let problems = try Self.problems(text)
        #expect(
            problems.map(\.description) == [
                "pages.csv, line 3: company is empty",
                "pages.csv, line 4: page_id must be digits only (a Facebook Page ID)",
                "pages.csv, line 5: page_name is empty",
                "pages.csv, line 5: access_token is empty",
                "pages.csv, line 6: page ID 123 is on lines 2 and 6",
                "pages.csv, line 7: the row has 5 fields, the header has 4",
                "pages.csv, line 8: the row has 3 fields, the header has 4",
            ])
        #expect(problems[4].kind == .duplicatePageID(pageID: "123", firstLine: 2))
        #expect(problems[5].kind == .wrongFieldCount(expected: 4, found: 5))
        #expect(problems[0].kind == .emptyField("company"))
        for problem in problems {
            #expect(!problem.description.contains("SECRET"))
        }
        if case .failure(let all) = Self.parse(text) {
            #expect(!all.description.contains(Self.token))
            #expect(!String(describing: all).contains(Self.token))
        }
    }

    @Test("missing, unknown and repeated columns are named")
    func headerProblems() throws {
        let problems = try Self.problems("company,page_id,Page_Name,token,page_id\nAcme,1,P,t,1\n")
        #expect(
            problems.map(\.message) == [
                "unknown column \"Page_Name\"; the columns are company,page_id,page_name,access_token",
                "unknown column \"token\"; the columns are company,page_id,page_name,access_token",
                "column page_id appears more than once",
                "missing column page_name",
                "missing column access_token",
            ])
        #expect(problems.allSatisfy { $0.line == 1 && $0.source == "pages.csv" })
        #expect(problems[3].kind == .missingColumn("page_name"))
    }

    @Test("rows are still checked when the header lacks a column")
    func rowsCheckedDespiteHeader() throws {
        let problems = try Self.problems("company,page_id,page_name\nAcme,1,P\n,x,Q\n")
        #expect(
            problems.map(\.description) == [
                "pages.csv, line 1: missing column access_token",
                "pages.csv, line 3: company is empty",
                "pages.csv, line 3: page_id must be digits only (a Facebook Page ID)",
            ])
    }

    @Test("a file without its header: no value echoed, a token least of all")
    func noHeader() throws {
        let problems = try Self.problems("Acme,123,Careers,\(Self.token)\n")
        #expect(
            problems.map(\.description) == [
                "pages.csv, line 1: the first line is not the header company,page_id,page_name,access_token"
            ])
        #expect(problems[0].kind == .missingHeader)
        // A long header name that could be a pasted token is shown by position only.
        let long = try Self.problems("company,page_id,page_name,\(Self.token)0123456789012345678901234567890\n")
        #expect(
            long.map(\.message).contains(
                "unknown column number 4; the columns are company,page_id,page_name,access_token"))
        #expect(!long.map(\.description).joined().contains(Self.token))
    }

    @Test("an empty file")
    func emptyFile() throws {
        let problems = try Self.problems("")
        #expect(
            problems.map(\.description) == [
                "pages.csv: the file is empty; it needs the header company,page_id,page_name,access_token"
            ])
        #expect(try Self.problems("\n\n").first?.kind == .emptyFile)
    }

    @Test("invalid UTF-8 names its line, even inside a multi-line field, and other rows are still checked")
    func invalidUTF8() throws {
        var data = Data("company,page_id,page_name,access_token\nAcme,1,Caf".utf8)
        data.append(contentsOf: [0xE9])  // Latin-1 é
        data.append(Data(",t1\nAcme,2,\"first\nsecond ".utf8))
        data.append(contentsOf: [0xFF, 0xFE])
        data.append(Data("\",t2\n,3,P,t3\n".utf8))
        guard case .failure(let problems) = PageImportParser.parse(data: data, source: "latin1.csv") else {
            Issue.record("expected problems")
            return
        }
        #expect(
            problems.problems.map(\.description) == [
                "latin1.csv, line 2: not valid UTF-8; save the file as UTF-8",
                "latin1.csv, line 4: not valid UTF-8; save the file as UTF-8",
                "latin1.csv, line 5: company is empty",
            ])
        #expect(problems.problems[0].kind == .notUTF8)
    }

    @Test("an invalid UTF-8 header stops the checks there")
    func invalidHeader() throws {
        var data = Data("company,page_id,page_name,access_token".utf8)
        data.append(contentsOf: [0xC3])
        data.append(Data("\nAcme,1,P,t\n".utf8))
        guard case .failure(let problems) = PageImportParser.parse(data: data, source: "f.csv") else {
            Issue.record("expected problems")
            return
        }
        #expect(
            problems.problems.map(\.description) == [
                "f.csv, line 1: the header is not valid UTF-8; save the file as UTF-8"
            ])
    }

    @Test("malformed quoting: text after a closing quote, a quote never closed")
    func malformedQuotes() throws {
        let problems = try Self.problems(
            "company,page_id,page_name,access_token\nAcme,1,\"Name\"x,t\nAcme,2,\"open,t\nAcme,3,P,t\n")
        #expect(
            problems.map(\.description) == [
                "pages.csv, line 2: text follows a closing quote; quote the whole field and double any quote inside it",
                "pages.csv, line 3: a quoted field starting on this line is never closed",
            ])
        #expect(problems.allSatisfy { $0.kind == .malformedRecord })
    }
}

@Suite("CSV reader")
struct CSVReaderTests {
    @Test("records, fields and start lines")
    func records() {
        let (records, problems) = CSVReader.read(Data("a,b\r\n\"x\r\ny\",\"\"\r\n\"\"\r\n,\n".utf8))
        #expect(problems.isEmpty)
        #expect(records.map(\.line) == [1, 2, 4, 5])
        #expect(records.map(\.fields) == [["a", "b"], ["x\r\ny", ""], [""], ["", ""]])
    }

    @Test("a quote inside an unquoted field is kept as text, as spreadsheets write it")
    func bareQuote() {
        let (records, problems) = CSVReader.read(Data("Joe's \"Best\" Pizza,1\n".utf8))
        #expect(problems.isEmpty)
        #expect(records.first?.fields == ["Joe's \"Best\" Pizza", "1"])
    }

    @Test("what the reader reads, Python's csv module reads the same way")
    func agreesWithPython() async throws {
        let temp = try TemporaryDirectory()
        defer { temp.cleanup() }
        let cells = [["company", "name"], ["a,b", "say \"hi\""], ["line\nbreak", "=1"], ["", "עמוד 😀"]]
        let text = cells.map { CSVFormat.record($0, neutralizingFormulas: false) }.joined()
        let path = temp.file("round.csv")
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
        let python = try await PythonCSV.read(path)
        let ours = CSVReader.read(Data(text.utf8)).records.map(\.fields)
        #expect(python == cells)
        #expect(ours == cells)
    }
}
