import Foundation
import Testing

@testable import TokenWatchMail
@testable import TokenWatchModel
@testable import TokenWatchReports
@testable import TokenWatchStore
@testable import TokenWatchTemplates

@Suite("HTML report")
struct HTMLReportTests {
    static let testVersion = "0.0.0-test"

    static func render(_ input: ReportInput) throws -> String {
        HTMLReport.render(input, templates: try TemplateSet(), version: testVersion)
    }

    @Test("matches the golden file")
    func golden() throws {
        let html = try Self.render(ReportFixtures.input)
        if let difference = try Golden.compare(html, to: "report.html") {
            Issue.record(Comment(rawValue: difference))
        }
    }

    @Test("hostile values match their golden file (validated like the main one)")
    func hostileGolden() throws {
        let html = try Self.render(ReportFixtures.hostileInput)
        if let difference = try Golden.compare(html, to: "report-hostile.html") {
            Issue.record(Comment(rawValue: difference))
        }
    }

    @Test("a self-contained document: doctype, language, charset, one inline script, no external assets")
    func selfContained() throws {
        let html = try Self.render(ReportFixtures.input)
        #expect(html.hasPrefix("<!doctype html>\n<html lang=\"en\">"))
        #expect(html.contains("<meta charset=\"utf-8\">"))
        #expect(html.contains("@media print"))
        #expect(html.components(separatedBy: "<script").count - 1 == 1, "exactly the one inline script")
        #expect(html.contains("<script>\n"), "inline, no attributes")
        for forbidden in [
            "<link", "<img", "<iframe", "src=", "@import", "url(", "@font-face", "http://", "https://",
            "fetch(", "xmlhttprequest", "import(",
        ] {
            #expect(!html.lowercased().contains(forbidden), "found \(forbidden)")
        }
    }

    @Test("the seed dashboard's columns, in order, with scope")
    func columns() throws {
        let html = try Self.render(ReportFixtures.input)
        let headers = [
            "Page name", "Page ID", "Company", "Updated Date", "Status", "Status since", "Last checked",
        ].map { "<th scope=\"col\">\($0)</th>" }
        #expect(html.contains(headers.joined() + "<th scope=\"col\" class=\"notes-col\">Notes</th>"))
        #expect(html.contains("<caption>"))
    }

    @Test("counts per status, expiring and not checked")
    func counts() throws {
        var input = ReportFixtures.input
        input.run?.unchecked = 4
        let context = HTMLReport.context(for: input, version: Self.testVersion)
        let summary = try #require(context["summary"] as? [[String: Any]])
        let counts = Dictionary(
            uniqueKeysWithValues: summary.map { ($0["key"] as? String ?? "", $0["count"] as? Int ?? -1) })
        #expect(
            counts == [
                "invalid": 2, "unknown": 1, "valid": 3, "disconnected": 1, "expiring": 1, "undecided": 1,
                "not-checked": 4,
            ])
        let html = try Self.render(input)
        #expect(html.contains("<span class=\"n\">4</span> <span class=\"label\">Not checked</span>"))
    }

    @Test("a page the run did not reach says so once, in this run's words or the last run's")
    func notCheckedNote() throws {
        var input = ReportFixtures.input
        let index = try #require(input.pages.firstIndex { $0.status == .valid })
        input.pages[index].lastCheckError = PageRecord.notCheckedPrefix + "stopped by a signal"
        let page = input.pages[index]
        #expect(HTMLReport.unconfirmedNote(page, in: input) == "Not checked in this run: stopped by a signal")
        let html = try Self.render(input)
        #expect(html.contains("Not checked in this run: stopped by a signal"))
        #expect(!html.contains("Not confirmed in this run: not checked"))
        input.run = nil
        #expect(HTMLReport.unconfirmedNote(page, in: input) == "Not checked in the last run: stopped by a signal")
        // An outage's error keeps its wording.
        input.pages[index].lastCheckError = "Graph did not answer within 30 s (timeout)."
        #expect(
            HTMLReport.unconfirmedNote(input.pages[index], in: input)
                == "Not confirmed by the last check: Graph did not answer within 30 s (timeout).")
    }

    @Test("invalid first; changed rows carry a badge, not only a colour")
    func pagesMarked() throws {
        let html = try Self.render(ReportFixtures.input)
        let invalid = try #require(html.range(of: "Acme Jobs PH"))
        let valid = try #require(html.range(of: "Acme Careers"))
        let disconnected = try #require(html.range(of: "Cobalt Retail"))
        #expect(invalid.lowerBound < valid.lowerBound)
        #expect(valid.lowerBound < disconnected.lowerBound)
        #expect(html.components(separatedBy: ">changed in this run</span>").count - 1 == 2)
        #expect(html.components(separatedBy: ">expiring</span>").count - 1 == 1)
        #expect(html.contains("The page admin changed their Facebook password"))
        #expect(html.contains("Generate New Token"))
        #expect(html.contains("Not confirmed in this run: Graph did not answer within 30 s (timeout)."))
        #expect(html.contains("Disconnected: no longer checked."))
        #expect(html.contains("Token expires 2026-12-04 04:29 UTC."))
        #expect(html.contains("Data access ends 2026-12-02 04:29 UTC"))
        #expect(html.contains("<details>"))
        #expect(html.contains("<li>pages_messaging</li>"))
    }

    @Test("a page without data: em dash and never, not empty cells")
    func emptyValues() throws {
        let page = PageRecord(company: "C", pageID: "1", pageName: "P", tokenUpdatedAt: ReportFixtures.generatedAt)
        let html = try Self.render(ReportInput(generatedAt: ReportFixtures.generatedAt, pages: [page]))
        #expect(html.contains("<span class=\"none\">never</span>"))
        #expect(html.contains("Not checked yet."))
        #expect(html.contains("None recorded."))
        #expect(html.contains("No log entries."))
        #expect(html.contains("; no check ran for this report."))
        #expect(html.contains("<dt>Last check run</dt><dd>none on record</dd>"))
        #expect(!html.contains("Not checked</span>"))
    }

    @Test("no pages at all")
    func noPages() throws {
        let html = try Self.render(ReportInput(generatedAt: ReportFixtures.generatedAt))
        #expect(html.contains("No pages are connected."))
        #expect(!html.contains("<table"))
    }

    @Test("served Graph version differing from the configured one is flagged")
    func versionMismatch() throws {
        var input = ReportFixtures.input
        input.run?.servedVersion = "v26.0"
        let html = try Self.render(input)
        #expect(html.contains("v25.0 configured · v26.0 served · <strong class=\"warn\">versions differ</strong>"))
        #expect(!(try Self.render(ReportFixtures.input)).contains("versions differ"))
        input.run?.servedVersion = nil
        #expect(try Self.render(input).contains("v25.0 configured · served version not reported</dd>"))
    }

    @Test("hostile values are escaped everywhere")
    func hostile() throws {
        let html = try Self.render(ReportFixtures.hostileInput)
        // The report's own inline script is the only one.
        #expect(html.lowercased().components(separatedBy: "<script").count - 1 == 1)
        #expect(!html.contains("<b>"))
        #expect(!html.contains("<i>"))
        #expect(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"))
        #expect(html.contains("&lt;b&gt;cli:eve&lt;/b&gt;"))
        #expect(html.contains("Say &quot;hi&quot;"))
        #expect(html.contains("Fish &amp; Chips"))
        #expect(html.contains("it&#39;s"))
        #expect(html.contains("=HYPERLINK(&quot;http://x&quot;)"))
        #expect(html.contains("Café 😀 Pages"))
        #expect(html.contains("עמוד הבית"))
        // Each hostile value appears escaped in the row header, company, notes, scopes, log and notices.
        let escapedScript = "&lt;script&gt;alert(1)&lt;/script&gt;"
        #expect(html.components(separatedBy: escapedScript).count - 1 >= 7)
        // No raw quote can end an attribute early: every attribute value is ours.
        #expect(!html.contains("class=\"count-\""))
    }
}
