import Foundation
import TokenWatchMail
import TokenWatchModel

/// One record read from a CSV file.
struct CSVRecord: Sendable, Equatable {
    /// The physical line (1-based) the record starts on; a quoted field may carry it further.
    var line: Int
    /// The fields, unquoted. Bytes that are not UTF-8 are replaced by U+FFFD; see `notUTF8Lines`.
    var fields: [String]
    /// The physical lines of this record that are not valid UTF-8: its fields cannot be trusted.
    var notUTF8Lines: [Int]
}

/// A defect the reader found in the file's structure.
struct CSVReadProblem: Sendable, Equatable {
    var line: Int
    var message: String
}

/// A small RFC 4180 reader for import files: works on bytes (every delimiter is ASCII, and no
/// byte of a multi-byte UTF-8 sequence is), accepts CRLF or LF, a UTF-8 byte-order mark, a
/// trailing newline and blank lines, and keeps the line number each record starts on.
///
/// Lenient where Excel and hand-edited files are (a quote inside an unquoted field is kept as
/// text); strict where a value would be silently wrong (text after a closing quote, a quoted
/// field that never closes).
enum CSVReader {
    private static let quote = UInt8(ascii: "\"")
    private static let comma = UInt8(ascii: ",")
    private static let cr = UInt8(ascii: "\r")
    private static let lf = UInt8(ascii: "\n")

    static func read(_ data: Data) -> (records: [CSVRecord], problems: [CSVReadProblem]) {
        var bytes = [UInt8](data)
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { bytes.removeFirst(3) }
        let badLines = notUTF8Lines(bytes)

        var records: [CSVRecord] = []
        var problems: [CSVReadProblem] = []
        var fields: [[UInt8]] = []
        var field: [UInt8] = []
        var fieldWasQuoted = false
        // A record of one empty quoted field (`""`) is data, not a blank line.
        var fieldWasQuotedInRecord = false
        var inQuotes = false
        var afterClosingQuote = false
        var reportedAfterQuote = false
        var line = 1
        var recordLine = 1

        func endField() {
            fields.append(field)
            field = []
            fieldWasQuoted = false
            afterClosingQuote = false
        }
        func endRecord(lastLine: Int) {
            endField()
            let blank =
                fields.count == 1 && !fieldWasQuotedInRecord
                && fields[0].allSatisfy { $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\t") }
            if !blank {
                records.append(
                    CSVRecord(
                        line: recordLine,
                        fields: fields.map { String(decoding: $0, as: UTF8.self) },
                        notUTF8Lines: badLines.isEmpty ? [] : (recordLine...lastLine).filter(badLines.contains)))
            }
            fields = []
            fieldWasQuotedInRecord = false
            reportedAfterQuote = false
        }
        var index = 0
        while index < bytes.count {
            let byte = bytes[index]
            if inQuotes {
                if byte == quote {
                    if index + 1 < bytes.count, bytes[index + 1] == quote {
                        field.append(quote)
                        index += 1
                    } else {
                        inQuotes = false
                        afterClosingQuote = true
                    }
                } else {
                    if byte == lf { line += 1 }
                    field.append(byte)
                }
            } else if byte == comma {
                endField()
            } else if byte == lf || (byte == cr && index + 1 < bytes.count && bytes[index + 1] == lf) {
                if byte == cr { index += 1 }
                endRecord(lastLine: line)
                line += 1
                recordLine = line
            } else if byte == quote && field.isEmpty && !fieldWasQuoted {
                inQuotes = true
                fieldWasQuoted = true
                fieldWasQuotedInRecord = true
            } else {
                if afterClosingQuote && !reportedAfterQuote {
                    problems.append(
                        CSVReadProblem(
                            line: recordLine,
                            message:
                                "text follows a closing quote; quote the whole field and double any quote inside it"))
                    reportedAfterQuote = true
                }
                field.append(byte)
            }
            index += 1
        }
        if inQuotes {
            problems.append(
                CSVReadProblem(line: recordLine, message: "a quoted field starting on this line is never closed"))
        } else if !fields.isEmpty || !field.isEmpty || fieldWasQuoted {
            // The last record has no newline after it.
            endRecord(lastLine: line)
        }
        return (records, problems)
    }

    /// Physical lines (1-based, split at LF) that are not valid UTF-8.
    static func notUTF8Lines(_ bytes: [UInt8]) -> Set<Int> {
        var result: Set<Int> = []
        var number = 1
        for line in bytes.split(separator: lf, omittingEmptySubsequences: false) {
            if String(validating: line, as: UTF8.self) == nil { result.insert(number) }
            number += 1
        }
        return result
    }
}
