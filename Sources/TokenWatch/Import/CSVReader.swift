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
///
/// It streams: `feed` takes the file a chunk at a time (a chunk may end anywhere, even between
/// the two bytes of `""` or CRLF) and hands back the records completed so far, so a
/// 1,000,000-row import holds one chunk and one record, never the file. Invalid UTF-8 is found
/// per physical line as the line ends, keeping only the current line's bytes from its first
/// non-ASCII byte on.
struct CSVReader {
    private static let quote = UInt8(ascii: "\"")
    private static let comma = UInt8(ascii: ",")
    private static let cr = UInt8(ascii: "\r")
    private static let lf = UInt8(ascii: "\n")

    /// Structural problems found so far, in the order found.
    private(set) var problems: [CSVReadProblem] = []

    private var fields: [[UInt8]] = []
    private var field: [UInt8] = []
    private var fieldWasQuoted = false
    // A record of one empty quoted field (`""`) is data, not a blank line.
    private var fieldWasQuotedInRecord = false
    private var inQuotes = false
    /// A quote seen inside quotes: the end of the field, or the first of `""`.
    private var quoteInQuotes = false
    /// A CR seen outside quotes: the start of CRLF, or a byte of the field.
    private var pendingCR = false
    private var afterClosingQuote = false
    private var reportedAfterQuote = false
    private var line = 1
    private var recordLine = 1
    /// The first bytes of the stream, until it is known whether they are a byte-order mark.
    private var head: [UInt8]? = []
    /// The current physical line from its first non-ASCII byte on (an ASCII prefix is always
    /// valid UTF-8 and cannot join a multi-byte sequence).
    private var lineTail: [UInt8] = []
    private var lineHasNonASCII = false
    /// Lines of the current record found not to be UTF-8.
    private var badLinesInRecord: [Int] = []

    init() {}

    /// The whole of `data` at once: every record and every problem.
    static func read(_ data: Data) -> (records: [CSVRecord], problems: [CSVReadProblem]) {
        var reader = CSVReader()
        var records: [CSVRecord] = []
        data.withUnsafeBytes { raw in
            reader.feed(raw.bindMemory(to: UInt8.self), into: &records)
        }
        reader.finish(into: &records)
        return (records, reader.problems)
    }

    /// Reads `chunk`, appending the records it completes to `records`.
    mutating func feed(_ chunk: UnsafeBufferPointer<UInt8>, into records: inout [CSVRecord]) {
        var start = 0
        if var pending = head {
            // A byte-order mark is skipped only at the very start of the stream.
            let take = min(3 - pending.count, chunk.count)
            pending.append(contentsOf: chunk[0..<take])
            start = take
            if pending.count < 3 && pending == Array([0xEF, 0xBB, 0xBF].prefix(pending.count)) {
                head = pending
                return
            }
            head = nil
            if pending != [0xEF, 0xBB, 0xBF] {
                for byte in pending { consume(byte, into: &records) }
            }
        }
        for index in start..<chunk.count { consume(chunk[index], into: &records) }
    }

    /// Ends the stream: the last record without a newline, an unclosed quote.
    mutating func finish(into records: inout [CSVRecord]) {
        if let pending = head {
            head = nil
            if pending != [0xEF, 0xBB, 0xBF] {
                for byte in pending { consume(byte, into: &records) }
            }
        }
        if quoteInQuotes {
            quoteInQuotes = false
            inQuotes = false
            afterClosingQuote = true
        }
        if pendingCR {
            pendingCR = false
            appendUnquoted(Self.cr)
        }
        endLine()
        if inQuotes {
            problems.append(
                CSVReadProblem(line: recordLine, message: "a quoted field starting on this line is never closed"))
        } else if !fields.isEmpty || !field.isEmpty || fieldWasQuoted {
            // The last record has no newline after it.
            endRecord(into: &records)
        }
    }

    @inline(__always)
    private mutating func consume(_ byte: UInt8, into records: inout [CSVRecord]) {
        if byte >= 0x80 { lineHasNonASCII = true }
        if lineHasNonASCII && byte != Self.lf { lineTail.append(byte) }
        if quoteInQuotes {
            quoteInQuotes = false
            if byte == Self.quote {
                field.append(Self.quote)
                return
            }
            inQuotes = false
            afterClosingQuote = true
            // The byte after a closing quote is read as outside quotes, below.
        } else if inQuotes {
            if byte == Self.quote {
                quoteInQuotes = true
            } else {
                if byte == Self.lf {
                    endLine()
                    line += 1
                }
                field.append(byte)
            }
            return
        }
        if pendingCR {
            pendingCR = false
            if byte == Self.lf {
                endLine()
                endRecord(into: &records)
                line += 1
                recordLine = line
                return
            }
            appendUnquoted(Self.cr)
        }
        if byte == Self.comma {
            endField()
        } else if byte == Self.lf {
            endLine()
            endRecord(into: &records)
            line += 1
            recordLine = line
        } else if byte == Self.cr {
            pendingCR = true
        } else if byte == Self.quote && field.isEmpty && !fieldWasQuoted {
            inQuotes = true
            fieldWasQuoted = true
            fieldWasQuotedInRecord = true
        } else {
            appendUnquoted(byte)
        }
    }

    private mutating func appendUnquoted(_ byte: UInt8) {
        if afterClosingQuote && !reportedAfterQuote {
            problems.append(
                CSVReadProblem(
                    line: recordLine,
                    message: "text follows a closing quote; quote the whole field and double any quote inside it"))
            reportedAfterQuote = true
        }
        field.append(byte)
    }

    /// The physical line ends (at LF or at the end of the stream): is it UTF-8?
    private mutating func endLine() {
        if lineHasNonASCII, String(validating: lineTail, as: UTF8.self) == nil {
            badLinesInRecord.append(line)
        }
        lineHasNonASCII = false
        lineTail.removeAll(keepingCapacity: true)
    }

    private mutating func endField() {
        fields.append(field)
        field = []
        fieldWasQuoted = false
        afterClosingQuote = false
    }

    private mutating func endRecord(into records: inout [CSVRecord]) {
        endField()
        let blank =
            fields.count == 1 && !fieldWasQuotedInRecord
            && fields[0].allSatisfy { $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\t") }
        if !blank {
            records.append(
                CSVRecord(
                    line: recordLine, fields: fields.map { String(decoding: $0, as: UTF8.self) },
                    notUTF8Lines: badLinesInRecord))
        }
        badLinesInRecord.removeAll(keepingCapacity: true)
        fields.removeAll(keepingCapacity: true)
        fieldWasQuotedInRecord = false
        reportedAfterQuote = false
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
