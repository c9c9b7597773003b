import Foundation
import Testing

@testable import TokenWatchReports

@Suite("Template documentation")
struct TemplateDocumentationTests {
    static let document = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("docs/templates.md")

    /// Every key of every dictionary in the context, recursively.
    static func keys(of value: Any) -> Set<String> {
        if let dictionary = value as? [String: Any] {
            return dictionary.reduce(into: Set(dictionary.keys)) { $0.formUnion(keys(of: $1.value)) }
        }
        if let array = value as? [Any] {
            return array.reduce(into: Set<String>()) { $0.formUnion(keys(of: $1)) }
        }
        return []
    }

    /// The backticked names in the first column of the tables in the report's section.
    static func documentedNames() throws -> Set<String> {
        let text = try String(contentsOf: document, encoding: .utf8)
        guard let start = text.range(of: "## report.html.mustache") else { return [] }
        let section = text[start.upperBound...].components(separatedBy: "\n## ").first ?? ""
        var names: Set<String> = []
        for line in section.split(separator: "\n") where line.hasPrefix("| `") {
            let firstCell = line.dropFirst(2).prefix { $0 != "|" }
            for (index, part) in firstCell.split(separator: "`", omittingEmptySubsequences: false).enumerated()
            where index % 2 == 1 {
                names.insert(String(part))
            }
        }
        return names
    }

    @Test("docs/templates.md documents exactly the variables the report templates receive")
    func documented() throws {
        var input = ReportFixtures.input
        input.notices = ["n"]
        let context = HTMLReport.context(for: input)
        // A regenerated report has no `run` but names the last check run.
        var regenerated = input
        regenerated.run = nil
        regenerated.lastRun = StoredRun(
            startedAt: ReportFixtures.generatedAt, actor: "cron", outcome: "completed", exitCode: 0,
            reportFile: "token-report-20261129T042910Z.html")
        let actual = Self.keys(of: context).union(Self.keys(of: HTMLReport.context(for: regenerated)))
        let documented = try Self.documentedNames()
        #expect(actual.subtracting(documented).isEmpty, "undocumented: \(actual.subtracting(documented).sorted())")
        #expect(
            documented.subtracting(actual).isEmpty, "documented but absent: \(documented.subtracting(actual).sorted())")
    }
}
