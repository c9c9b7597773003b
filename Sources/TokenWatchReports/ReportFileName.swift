import Foundation
import TokenWatchModel

/// The names of report files: `token-report-20261129T042910Z.html`, then `-2`, `-3`… before the
/// extension for further reports in the same second. Pruning deletes only names that parse.
struct ReportFileName: Sendable, Equatable {
    static let prefix = "token-report-"
    static let extensions = ["html", "csv", "xlsx", "json"]

    /// `token-report-20261129T042910Z` or `token-report-20261129T042910Z-2`.
    var stem: String
    /// The time in the name, to the second.
    var date: Date
    /// 1 for the first report of that second, 2 for `-2`…
    var sequence: Int
    /// `html`, `csv`, `xlsx` or `json` (the report's summary, for `index.html`).
    var pathExtension: String

    static func stem(for date: Date, sequence: Int) -> String {
        prefix + ReportTime.compact(date) + (sequence > 1 ? "-\(sequence)" : "")
    }

    /// Parses a file name; nil for anything that is not exactly a report's name.
    init?(_ name: String) {
        guard name.hasPrefix(Self.prefix), let dot = name.lastIndex(of: ".") else { return nil }
        let pathExtension = String(name[name.index(after: dot)...])
        guard Self.extensions.contains(pathExtension) else { return nil }
        let stem = name[..<dot]
        let rest = stem.dropFirst(Self.prefix.count)
        let stamp = rest.prefix(16)
        guard let date = ReportTime.parseCompact(stamp) else { return nil }
        let suffix = rest.dropFirst(16)
        var sequence = 1
        if !suffix.isEmpty {
            // `-N` with N ≥ 2 and no leading zero: the only suffix the writer produces.
            let digits = suffix.dropFirst()
            guard suffix.first == "-", !digits.isEmpty, digits.first != "0",
                digits.allSatisfy({ $0.isASCII && $0.isNumber }), digits.count < 10,
                let number = Int(digits), number >= 2
            else { return nil }
            sequence = number
        }
        self.stem = String(stem)
        self.date = date
        self.sequence = sequence
        self.pathExtension = pathExtension
    }
}
