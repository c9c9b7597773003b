import Foundation
import TokenWatchMail
import TokenWatchModel

/// One page to import, as read from the file: checked for shape, not yet against the database.
public struct PageImportRow: Sendable, Equatable {
    /// The line the row starts on, for messages about it later (another company's page…).
    public var line: Int
    public var company: String
    public var pageID: String
    public var pageName: String
    public var accessToken: Secret

    public init(line: Int, company: String, pageID: String, pageName: String, accessToken: Secret) {
        self.line = line
        self.company = company
        self.pageID = pageID
        self.pageName = pageName
        self.accessToken = accessToken
    }
}

/// One thing wrong with an import file, with where it is. Its message never contains an
/// access token (nor any other field's value except a page ID made of digits).
public struct PageImportProblem: Sendable, Equatable, CustomStringConvertible {
    /// What is wrong, for code that reacts to it; `message` says it in words.
    public enum Kind: Sendable, Equatable {
        case emptyFile
        case notUTF8
        case malformedRecord
        /// The first line is not a header (no known column name in it).
        case missingHeader
        case missingColumn(String)
        case unknownColumn(position: Int)
        case duplicateColumn(String)
        case wrongFieldCount(expected: Int, found: Int)
        case emptyField(String)
        case pageIDNotDigits
        case duplicatePageID(pageID: String, firstLine: Int)
        /// A control character (NUL, ESC, a line break …) inside a company or page name.
        case controlCharacter(String)
    }

    /// The file name as given (`pages.csv`, `stdin`).
    public var source: String
    /// The line the problem is on (where its record starts); nil for the file as a whole.
    public var line: Int?
    public var kind: Kind
    public var message: String

    public init(source: String, line: Int?, kind: Kind, message: String) {
        self.source = source
        self.line = line
        self.kind = kind
        self.message = message
    }

    /// `pages.csv, line 7: access_token is empty`.
    public var description: String {
        if let line { "\(source), line \(line): \(message)" } else { "\(source): \(message)" }
    }
}

/// Every problem found in an import file, in line order. Bad input (exit 65); nothing is written.
public struct PageImportProblems: Error, Sendable, Equatable, CustomStringConvertible {
    public var problems: [PageImportProblem]

    public init(_ problems: [PageImportProblem]) { self.problems = problems }

    /// One problem per line.
    public var description: String { problems.map(\.description).joined(separator: "\n") }
}

/// Reads `pages import` files: CSV with the header `company,page_id,page_name,access_token`
/// (columns in any order). Finds every problem in one pass so the operator fixes the file once.
/// Checks that need the database (a page ID that belongs to another company) happen elsewhere.
public enum PageImportParser {
    /// The columns an import file must have, each exactly once.
    public static let columns = ["company", "page_id", "page_name", "access_token"]

    /// Parses and checks the whole file; `source` names it in problems.
    public static func parse(data: Data, source: String) -> Result<[PageImportRow], PageImportProblems> {
        var stream = PageImportStream(source: source)
        var rows: [PageImportRow] = []
        data.withUnsafeBytes { raw in stream.feed(raw.bindMemory(to: UInt8.self)) }
        rows += stream.takeRows()
        stream.finish()
        rows += stream.takeRows()
        return stream.hasProblems ? .failure(stream.problems) : .success(rows)
    }

    /// `text` without leading and trailing whitespace and newlines. The same result as
    /// `trimmingCharacters(in: .whitespacesAndNewlines)`, which it calls only when an end is
    /// not plain ASCII: on Linux that call goes through NSString and was a third of a
    /// 1,000,000-row import's CPU (measured with perf), for fields that almost never need it.
    static func trimmed(_ text: String) -> String {
        guard let first = text.utf8.first, let last = text.utf8.last else { return text }
        func plain(_ byte: UInt8) -> Bool { byte < 0x80 && byte != 0x20 && !(0x09...0x0D).contains(byte) }
        return plain(first) && plain(last) ? text : text.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// C0 and C1 control characters and DEL.
    static func isControl(_ scalar: Unicode.Scalar) -> Bool {
        scalar.value < 0x20 || (0x7F...0x9F).contains(scalar.value)
    }

    /// A header name as messages may show it: quoted when it looks like a column name, only its
    /// position when it could be data (a token pasted where the header belongs).
    static func shown(_ name: String, position: Int) -> String {
        let looksLikeAName =
            !name.isEmpty && name.count <= 40
            && name.unicodeScalars.allSatisfy {
                $0.isASCII
                    && ($0.properties.isAlphabetic || $0.properties.numericType != nil || $0 == "_" || $0 == " "
                        || $0 == "-")
            }
        if name.isEmpty { return "number \(position) (it has no name)" }
        return looksLikeAName ? "\"\(name)\"" : "number \(position)"
    }

    /// Problems in line order; those about the whole file first. Stable, so a line's problems
    /// keep the order they were found in.
    static func sorted(_ problems: [PageImportProblem]) -> [PageImportProblem] {
        problems.enumerated().sorted { a, b in
            let (la, lb) = (a.element.line ?? 0, b.element.line ?? 0)
            return la != lb ? la < lb : a.offset < b.offset
        }.map(\.element)
    }
}

/// `pages import` read as a stream: the file goes in a chunk at a time (`feed`), checked rows
/// come out (`takeRows`), and problems accumulate with their lines. What it keeps between
/// chunks is the header, the first line of every page ID seen (to name duplicates) and the
/// problems — never the file, and never more rows than the last chunk completed.
public struct PageImportStream: Sendable {
    /// The file name as given (`pages.csv`, `stdin`).
    public let source: String
    private var reader = CSVReader()
    private var records: [CSVRecord] = []
    /// Problems found by the checks below; the reader keeps its own, which come first.
    private var checkProblems: [PageImportProblem] = []
    private var header = Header.awaiting
    private var firstLineOfPage: [String: Int] = [:]
    private var rows: [PageImportRow] = []
    private var finished = false
    /// Records read so far, the header included (for a progress line).
    public private(set) var recordsRead = 0

    private enum Header {
        case awaiting
        /// Not a usable header: nothing after it is checked (its problems are reported).
        case rejected
        case accepted(names: [String], position: [String: Int])
    }

    public init(source: String) {
        self.source = source
    }

    /// Reads `chunk` and checks the records it completes.
    public mutating func feed(_ chunk: UnsafeBufferPointer<UInt8>) {
        reader.feed(chunk, into: &records)
        checkRecords()
    }

    /// Ends the file: its last record, an unclosed quote, an empty file.
    public mutating func finish() {
        guard !finished else { return }
        finished = true
        reader.finish(into: &records)
        checkRecords()
        if case .awaiting = header, reader.problems.isEmpty {
            let expected = PageImportParser.columns.joined(separator: ",")
            problem(nil, .emptyFile, "the file is empty; it needs the header \(expected)")
        }
    }

    /// The rows checked since the last call, in file order. Meaningful only while
    /// `hasProblems` is false: a file with any problem imports nothing.
    public mutating func takeRows() -> [PageImportRow] {
        defer { rows.removeAll(keepingCapacity: true) }
        return rows
    }

    /// Whether any problem has been found so far.
    public var hasProblems: Bool { !reader.problems.isEmpty || !checkProblems.isEmpty }

    /// Every problem found so far, in line order (those about the whole file first).
    public var problems: PageImportProblems {
        let read = reader.problems.map {
            PageImportProblem(source: source, line: $0.line, kind: .malformedRecord, message: $0.message)
        }
        return PageImportProblems(PageImportParser.sorted(read + checkProblems))
    }

    private mutating func problem(_ line: Int?, _ kind: PageImportProblem.Kind, _ message: String) {
        checkProblems.append(PageImportProblem(source: source, line: line, kind: kind, message: message))
    }

    private mutating func checkRecords() {
        defer { records.removeAll(keepingCapacity: true) }
        for record in records {
            recordsRead += 1
            switch header {
            case .awaiting: header = readHeader(record)
            case .rejected: continue
            case .accepted(let names, let position): check(record, names: names, position: position)
            }
        }
    }

    private mutating func readHeader(_ header: CSVRecord) -> Header {
        let columns = PageImportParser.columns
        let expected = columns.joined(separator: ",")
        guard header.notUTF8Lines.isEmpty else {
            for line in header.notUTF8Lines {
                problem(line, .notUTF8, "the header is not valid UTF-8; save the file as UTF-8")
            }
            return .rejected
        }
        // Header names are trimmed but compared case-sensitively, as documented.
        let names = header.fields.map(PageImportParser.trimmed)
        guard names.contains(where: columns.contains) else {
            // Most likely the header row is missing and this line is data: echo none of it.
            problem(header.line, .missingHeader, "the first line is not the header \(expected)")
            return .rejected
        }
        var position: [String: Int] = [:]
        for (index, name) in names.enumerated() {
            if columns.contains(name) {
                if position[name] != nil {
                    problem(header.line, .duplicateColumn(name), "column \(name) appears more than once")
                } else {
                    position[name] = index
                }
            } else {
                problem(
                    header.line, .unknownColumn(position: index + 1),
                    "unknown column \(PageImportParser.shown(name, position: index + 1)); the columns are \(expected)")
            }
        }
        for column in columns where position[column] == nil {
            problem(header.line, .missingColumn(column), "missing column \(column)")
        }
        return .accepted(names: names, position: position)
    }

    private mutating func check(_ record: CSVRecord, names: [String], position: [String: Int]) {
        let columns = PageImportParser.columns
        let line = record.line
        guard record.notUTF8Lines.isEmpty else {
            for bad in record.notUTF8Lines {
                problem(bad, .notUTF8, "not valid UTF-8; save the file as UTF-8")
            }
            return
        }
        guard record.fields.count == names.count else {
            problem(
                line, .wrongFieldCount(expected: names.count, found: record.fields.count),
                "the row has \(record.fields.count) fields, the header has \(names.count)")
            return
        }
        func value(_ column: String) -> String? {
            position[column].map { PageImportParser.trimmed(record.fields[$0]) }
        }
        var rowIsGood = position.count == columns.count
        for column in columns {
            if let text = value(column), text.isEmpty {
                problem(line, .emptyField(column), "\(column) is empty")
                rowIsGood = false
            }
        }
        for column in ["company", "page_name"] {
            // A NUL would cut the name short in SQLite and C strings; an ESC or a line break
            // would move a terminal's cursor or forge a line. Names are text, nothing else.
            if let text = value(column), text.unicodeScalars.contains(where: PageImportParser.isControl) {
                problem(
                    line, .controlCharacter(column),
                    "\(column) contains a control character (NUL, ESC, a line break or a tab); names must be plain text"
                )
                rowIsGood = false
            }
        }
        if let pageID = value("page_id"), !pageID.isEmpty {
            if !pageID.utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }) {
                // Not echoed: a shifted column could put a token here.
                problem(line, .pageIDNotDigits, "page_id must be digits only (a Facebook Page ID)")
                rowIsGood = false
            } else if let first = firstLineOfPage[pageID] {
                problem(
                    line, .duplicatePageID(pageID: pageID, firstLine: first),
                    "page ID \(pageID) is on lines \(first) and \(line)")
                rowIsGood = false
            } else {
                firstLineOfPage[pageID] = line
            }
        }
        // Once the file has a problem nothing will be imported: no need to keep rows.
        if rowIsGood, !hasProblems, let company = value("company"), let pageID = value("page_id"),
            let pageName = value("page_name"), let token = value("access_token")
        {
            rows.append(
                PageImportRow(
                    line: line, company: company, pageID: pageID, pageName: pageName, accessToken: Secret(token)))
        }
    }
}
