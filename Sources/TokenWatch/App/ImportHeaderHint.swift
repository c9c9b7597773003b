import Foundation

/// What an import file's first line looks like when it is not the header `pages import`
/// expects: the delimiter it seems to use and the column names it has, next to what is
/// expected. Called after the parser rejected the header, so the parser stays about parsing.
///
/// Only names that look like column names are echoed (letters, spaces, `_` and `-`, short):
/// a first line that is data could hold a token, and a token is never printed.
enum ImportHeaderHint {
    /// The expected header.
    static var expected: String { PageImportParser.columns.joined(separator: ",") }

    /// Column names people write for ours, by their normalised form.
    static let aliases: [String: String] = [
        "page_id": "page_id", "pageid": "page_id", "id": "page_id", "facebook_page_id": "page_id",
        "page_name": "page_name", "pagename": "page_name", "name": "page_name",
        "name_of_the_facebook_page": "page_name", "company": "company", "company_name": "company",
        "tenant": "company", "access_token": "access_token", "accesstoken": "access_token",
        "token": "access_token", "page_access_token": "access_token",
    ]

    /// One or two sentences for a rejected header; nil when there is nothing useful to add.
    static func describe(_ data: Data) -> String? {
        var bytes = data.prefix(4096)
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { bytes = bytes.dropFirst(3) }
        let text = String(decoding: bytes, as: UTF8.self)
        guard let line = text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).first,
            !line.isEmpty
        else { return nil }
        let candidates: [(Character, String)] = [
            (",", "commas"), (";", "semicolons"), ("\t", "tabs"), ("|", "vertical bars"),
        ]
        let counts = candidates.map { candidate in (candidate, line.filter { $0 == candidate.0 }.count) }
        guard let best = counts.max(by: { $0.1 < $1.1 }), best.1 > 0 else {
            return "the first line has no delimiter; expected the header \(expected)"
        }
        let (delimiter, delimiterName) = best.0
        let names = line.split(separator: delimiter, omittingEmptySubsequences: false).map {
            $0.trimmingCharacters(in: .whitespaces).trimmingCharacters(in: CharacterSet(charactersIn: "\""))
        }
        var sentences: [String] = []
        if delimiter != "," {
            sentences.append(
                "the first line is separated by \(delimiterName) (\(delimiter == "\t" ? "\\t" : String(delimiter))); the file must be comma-separated"
            )
        }
        let shown = names.filter(Self.looksLikeName)
        if !shown.isEmpty, shown.count == names.count {
            sentences.append(
                "it has the columns " + shown.map { "\"\($0)\"" }.joined(separator: ", ")
                    + "; expected \(expected)")
            let renames = shown.compactMap { name -> String? in
                guard let column = aliases[normalised(name)], column != name else { return nil }
                return "\"\(name)\" → \(column)"
            }
            if !renames.isEmpty { sentences.append("rename " + renames.joined(separator: ", ")) }
        } else if delimiter != "," {
            sentences.append("expected the header \(expected)")
        }
        return sentences.isEmpty ? nil : "hint: " + sentences.joined(separator: "; ")
    }

    /// `Page ID` → `page_id`.
    static func normalised(_ name: String) -> String {
        name.lowercased().replacingOccurrences(of: " ", with: "_").replacingOccurrences(of: "-", with: "_")
    }

    /// A short run of letters, spaces, `_` and `-`: a column name, not data.
    static func looksLikeName(_ name: String) -> Bool {
        !name.isEmpty && name.count <= 40
            && name.unicodeScalars.allSatisfy { $0.properties.isAlphabetic || " _-".unicodeScalars.contains($0) }
    }
}
