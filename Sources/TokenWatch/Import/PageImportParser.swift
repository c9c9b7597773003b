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
        let (records, readProblems) = CSVReader.read(data)
        var problems = readProblems.map {
            PageImportProblem(source: source, line: $0.line, kind: .malformedRecord, message: $0.message)
        }
        func problem(_ line: Int?, _ kind: PageImportProblem.Kind, _ message: String) {
            problems.append(PageImportProblem(source: source, line: line, kind: kind, message: message))
        }
        let expected = columns.joined(separator: ",")

        guard let header = records.first else {
            if problems.isEmpty {
                problem(nil, .emptyFile, "the file is empty; it needs the header \(expected)")
            }
            return .failure(PageImportProblems(sorted(problems)))
        }
        guard header.notUTF8Lines.isEmpty else {
            for line in header.notUTF8Lines {
                problem(line, .notUTF8, "the header is not valid UTF-8; save the file as UTF-8")
            }
            return .failure(PageImportProblems(sorted(problems)))
        }

        // Header names are trimmed but compared case-sensitively, as documented.
        let names = header.fields.map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
        guard names.contains(where: columns.contains) else {
            // Most likely the header row is missing and this line is data: echo none of it.
            problem(header.line, .missingHeader, "the first line is not the header \(expected)")
            return .failure(PageImportProblems(sorted(problems)))
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
                    "unknown column \(shown(name, position: index + 1)); the columns are \(expected)")
            }
        }
        for column in columns where position[column] == nil {
            problem(header.line, .missingColumn(column), "missing column \(column)")
        }

        var rows: [PageImportRow] = []
        var firstLineOfPage: [String: Int] = [:]
        for record in records.dropFirst() {
            let line = record.line
            guard record.notUTF8Lines.isEmpty else {
                for bad in record.notUTF8Lines {
                    problem(bad, .notUTF8, "not valid UTF-8; save the file as UTF-8")
                }
                continue
            }
            guard record.fields.count == names.count else {
                problem(
                    line, .wrongFieldCount(expected: names.count, found: record.fields.count),
                    "the row has \(record.fields.count) fields, the header has \(names.count)")
                continue
            }
            func value(_ column: String) -> String? {
                position[column].map { record.fields[$0].trimmingCharacters(in: .whitespacesAndNewlines) }
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
                if let text = value(column), text.unicodeScalars.contains(where: Self.isControl) {
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
            if rowIsGood, let company = value("company"), let pageID = value("page_id"),
                let pageName = value("page_name"), let token = value("access_token")
            {
                rows.append(
                    PageImportRow(
                        line: line, company: company, pageID: pageID, pageName: pageName,
                        accessToken: Secret(token)))
            }
        }
        return problems.isEmpty ? .success(rows) : .failure(PageImportProblems(sorted(problems)))
    }

    /// C0 and C1 control characters and DEL.
    static func isControl(_ scalar: Unicode.Scalar) -> Bool {
        scalar.value < 0x20 || (0x7F...0x9F).contains(scalar.value)
    }

    /// A header name as messages may show it: quoted when it looks like a column name, only its
    /// position when it could be data (a token pasted where the header belongs).
    private static func shown(_ name: String, position: Int) -> String {
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
    private static func sorted(_ problems: [PageImportProblem]) -> [PageImportProblem] {
        problems.enumerated().sorted { a, b in
            let (la, lb) = (a.element.line ?? 0, b.element.line ?? 0)
            return la != lb ? la < lb : a.offset < b.offset
        }.map(\.element)
    }
}
