import Foundation
import Testing

@testable import TokenWatchModel
@testable import TokenWatchReports
@testable import TokenWatchTemplates

/// Issue #13: finding a page among hundreds, the header that says where a report came from,
/// Owners per company, the whole log; issue #12: compact rows and the streamed rendering.
@Suite("HTML report: navigation, header, compact rows, streaming")
struct HTMLReportNavigationTests {
    static func render(_ input: ReportInput, templates: TemplateSet? = nil) throws -> String {
        HTMLReport.render(input, templates: try templates ?? TemplateSet(), version: "0.0.0-test")
    }

    @Test("a contents list by company: counts, Owners, anchors to the company and its pages")
    func contents() throws {
        let html = try Self.render(ReportFixtures.input)
        #expect(html.contains("<a href=\"#companies-heading\">Companies (3)</a>"))
        #expect(html.contains("<li id=\"company-acme-recruiting\" class=\"has-invalid\">"))
        #expect(html.contains("<a href=\"#company-brightside-staffing\">Brightside Staffing</a>"))
        #expect(
            html.contains(
                "<p class=\"tally\">3 pages: <span class=\"t-invalid\">1 invalid</span> · 0 unknown · 2 valid · 0 disconnected</p>"
            ))
        #expect(
            html.contains(
                "<span class=\"owner\">hr@brightside.example</span> <span class=\"owner\">owner@brightside.example</span>"
            ))
        #expect(html.contains("none: nobody is emailed about its pages"), "Cobalt Logistics has no Owner")
        #expect(
            html.contains(
                "<li><a href=\"#page-100000000000002\">Acme Jobs PH</a> <span class=\"to-invalid\">Invalid</span></li>")
        )
        // Every page has its anchor, and every link to a page points at one.
        for page in ReportFixtures.pages {
            #expect(html.contains("id=\"page-\(page.pageID)\""), "\(page.pageID)")
        }
        let ids = Set(Self.values(of: "id", in: html))
        for target in Self.values(of: "href", in: html) where target.hasPrefix("#") {
            #expect(ids.contains(String(target.dropFirst())), "dangling link \(target)")
        }
        #expect(ids.count == Self.values(of: "id", in: html).count, "ids are unique")
    }

    @Test("company slugs are ASCII, unique and stable whatever the names")
    func slugs() {
        let slugs = HTMLReport.companySlugs(["Acme Inc", "acme-inc", "ACME INC.", "Café 😀", "😀", "עמוד", ""])
        #expect(
            Set(["Acme Inc", "acme-inc", "ACME INC."].compactMap { slugs[$0] }) == [
                "acme-inc", "acme-inc-2", "acme-inc-3",
            ])
        #expect(Set(slugs.values).count == slugs.count)
        #expect(slugs["Café 😀"] == "caf")
        for slug in slugs.values {
            #expect(!slug.isEmpty && slug.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-") })
        }
    }

    @Test("the header: who ran it, host, app ID, Graph versions, database, outcome and exit code")
    func header() throws {
        let html = try Self.render(ReportFixtures.input)
        #expect(html.contains("<div><dt>Run by</dt><dd>cron</dd></div>"))
        #expect(html.contains("<div><dt>Host</dt><dd>tokenwatch-1</dd></div>"))
        #expect(html.contains("<div><dt>App ID</dt><dd>1234567890</dd></div>"))
        #expect(html.contains("<dd class=\"path\">/var/lib/tokenwatch/tokenwatch.sqlite</dd>"))
        #expect(html.contains("v25.0 configured · v25.0 served"))
        #expect(html.contains("completed, exit code 0"))
    }

    @Test("a regenerated report says so, and names and links the last check run")
    func regenerated() throws {
        var input = ReportFixtures.input
        input.run = nil
        input.lastRun = StoredRun(
            startedAt: ReportFixtures.at(-3600), actor: "cli:maria", outcome: "completed in part", exitCode: 75,
            reportFile: "token-report-20261129T032910Z.html")
        let html = try Self.render(input)
        #expect(
            html.contains(
                "Regenerated from stored state at <time datetime=\"2026-11-29T04:29:10Z\">2026-11-29 04:29:10 UTC</time>; no check ran for this report."
            ))
        #expect(
            html.contains(
                "<time datetime=\"2026-11-29T03:29:10Z\">2026-11-29 03:29:10 UTC</time>, completed in part, exit code 75, run by cli:maria · <a href=\"token-report-20261129T032910Z.html\">its report</a>"
            ))
        #expect(!html.contains("<dt>Run by</dt>"), "no run of its own")
        #expect(!html.contains("Not checked</span>"))
    }

    @Test("quiet pages get a compact row, an unconfirmed one with its note; the others keep their details")
    func compactRows() throws {
        let html = try Self.render(ReportFixtures.input)
        // Compact pages are one row each, in a group of compact rows: the unknown page whose
        // only note is that this run did not confirm it, then the valid page with nothing to note.
        let start = try #require(
            html.range(
                of: "<tbody class=\"group\">\n<tr class=\"page status-unknown compact\" id=\"page-200000000000002\">"))
        let end = try #require(html[start.upperBound...].range(of: "</tr>\n</tbody>\n"))
        let compact = String(html[start.lowerBound..<end.upperBound])
        #expect(!compact.contains("<details>"))
        #expect(compact.contains("<tr class=\"page status-valid compact\" id=\"page-100000000000001\">"))
        #expect(compact.contains("<td class=\"id\">100000000000001</td>"))
        #expect(
            compact.contains(
                "<li class=\"note-error\">Not confirmed in this run: Graph did not answer within 30 s (timeout).</li>"))
        #expect(compact.components(separatedBy: "note-error").count == 2, "the valid page carries no note")
        // Changed (Cobalt Warehouse), expiring (Acme Internships), invalid, disconnected: full rows.
        for id in ["300000000000002", "100000000000003", "100000000000002", "300000000000001"] {
            let body = try #require(Self.tbody(of: id, in: html))
            #expect(body.contains("<details>"), "\(id)")
            #expect(!body.contains("compact"), "\(id)")
        }
        #expect(
            html.contains(
                "Valid pages with nothing to note, and valid or unknown pages whose only note is that this run did not confirm them (2), have a short row"
            ))
    }

    @Test("the log is complete, or says how many older entries `pages log` has")
    func olderEntries() throws {
        let html = try Self.render(ReportFixtures.input)
        let body = try #require(Self.tbody(of: "200000000000001", in: html))
        #expect(body.contains("<summary>Permissions and Log (12 entries)</summary>"))
        #expect(
            body.contains("<p class=\"older\">9 older entries: <code>tokenwatch pages log 200000000000001</code></p>"))
        let complete = try #require(Self.tbody(of: "100000000000002", in: html))
        #expect(complete.contains("(2 entries)"))
        #expect(!complete.contains("older entries"))
    }

    @Test("without its script the report still lists every page, in order")
    func withoutScript() throws {
        let html = try Self.render(ReportFixtures.input)
        let start = try #require(html.range(of: "<script>"))
        let end = try #require(html.range(of: "</script>"))
        let stripped = String(html[..<start.lowerBound]) + String(html[end.upperBound...])
        #expect(!stripped.contains("<script"))
        // The controls the script drives are hidden without it; no page is.
        #expect(stripped.contains("<div class=\"tools\" id=\"tools\" hidden>"))
        for page in ReportFixtures.pages {
            let body = try #require(Self.tbody(of: page.pageID, in: stripped), "\(page.pageID)")
            #expect(!body.hasPrefix("<tbody hidden"), "\(page.pageID)")
            #expect(body.contains("<td class=\"id\">\(page.pageID)</td>"))
        }
        #expect(!stripped.contains(" hidden>\n<tr>"), "no page row is hidden in the markup")
    }

    @Test("streaming in chunks writes the same document as rendering it whole")
    func streaming() throws {
        let templates = try TemplateSet()
        var input = ReportFixtures.input
        for index in 0..<3_000 {
            input.pages.append(
                PageRecord(
                    company: "Bulk \(index % 7)", pageID: String(500_000_000_000_000 + index),
                    pageName: "Page \(index)",
                    status: .valid, statusSince: ReportFixtures.at(-9_000), tokenUpdatedAt: ReportFixtures.at(-9_000),
                    lastCheckedAt: ReportFixtures.at(5)))
        }
        var chunks: [String] = []
        HTMLReport.render(input, templates: templates, version: "0.0.0-test") { chunks.append($0) }
        #expect(chunks.count > 3, "the rows come in more than one piece")
        let whole = chunks.joined()
        #expect(whole.contains("<strong>3007 pages</strong>"))
        #expect(whole.hasSuffix("</html>\n"))
        #expect(whole.components(separatedBy: " class=\"page ").count - 1 == 3_007)
        // Acme Careers alone, then 3,000 bulk pages in groups of 200.
        #expect(whole.components(separatedBy: "<tbody class=\"group\">").count - 1 == 16)
        #expect(whole.components(separatedBy: "<tbody").count == whole.components(separatedBy: "</tbody>").count)
    }

    @Test("an operator's single-template report.html.mustache ({{#pages}}, no {{rows}}) still works")
    func singleTemplateOverride() throws {
        let directory = try TemporaryDirectory()
        defer { directory.cleanup() }
        try Data(
            "<!doctype html><title>{{title}}</title>{{#pages}}<p id=\"{{anchor}}\">{{pageName}} {{statusLabel}}</p>{{/pages}}"
                .utf8
        ).write(to: URL(fileURLWithPath: directory.file("report.html.mustache")))
        let templates = try TemplateSet(overridesDirectory: directory.path)
        let html = try Self.render(ReportFixtures.input, templates: templates)
        #expect(html.contains("<p id=\"page-100000000000002\">Acme Jobs PH Invalid</p>"))
        #expect(html.components(separatedBy: "<p id=").count - 1 == ReportFixtures.pages.count)
        #expect(!html.contains(HTMLReport.rowsMarker))
    }

    @Test("an operator's row template replaces the built-in rows")
    func rowOverride() throws {
        let directory = try TemporaryDirectory()
        defer { directory.cleanup() }
        try Data("<tbody id=\"{{anchor}}\"><tr><td>{{pageName}}</td></tr></tbody>\n".utf8)
            .write(to: URL(fileURLWithPath: directory.file("report-page.html.mustache")))
        let html = try Self.render(ReportFixtures.input, templates: try TemplateSet(overridesDirectory: directory.path))
        #expect(html.contains("<tbody id=\"page-100000000000001\"><tr><td>Acme Careers</td></tr></tbody>"))
        #expect(html.contains("<caption>"), "the frame is still the built-in one")
    }

    // MARK: - Helpers

    /// The `<tbody>` of one page, from its start tag to its end tag.
    static func tbody(of pageID: String, in html: String) -> String? {
        guard let anchor = html.range(of: "id=\"page-\(pageID)\""),
            let start = html[..<anchor.lowerBound].range(of: "<tbody", options: .backwards),
            let end = html[anchor.upperBound...].range(of: "</table>\n<footer>")
        else { return nil }
        // A full row holds the log's own <tbody> (no class): end before the next page's or group's.
        let rest = html[start.lowerBound...]
        guard let next = rest.dropFirst(6).range(of: "<tbody class=\"") else {
            return String(html[start.lowerBound..<end.lowerBound])
        }
        return String(html[start.lowerBound..<next.lowerBound])
    }

    /// Every value of attribute `name` (`name="…"`) in `html`.
    static func values(of name: String, in html: String) -> [String] {
        html.components(separatedBy: " \(name)=\"").dropFirst().compactMap {
            $0.split(separator: "\"").first.map(String.init)
        }
    }
}

@Suite("Compact rows written without Mustache")
struct CompactRowTests {
    @Test("the same bytes as the built-in row template, hostile values included")
    func sameAsTemplate() throws {
        let templates = try TemplateSet()
        let names = ReportFixtures.hostileNames + ["Plain name", ""]
        let input = ReportInput(generatedAt: ReportFixtures.generatedAt)
        for (index, name) in names.enumerated() {
            var page = PageRecord(
                company: name, pageID: String(700_000_000_000_000 + index), pageName: name, status: .valid,
                statusSince: index % 3 == 0 ? nil : ReportFixtures.at(Double(-index) * 86_123.7),
                tokenUpdatedAt: ReportFixtures.at(Double(index) * -3_000_017),
                lastCheckedAt: index % 4 == 0 ? nil : ReportFixtures.at(5))
            if index == 1 { page.statusSince = Date(timeIntervalSince1970: 0) }
            // Every third one not confirmed by this run, its error hostile too; some unknown.
            if index % 3 == 2 {
                page.lastCheckError = name + " <timeout>"
                if index % 2 == 0 { page.status = .unknown }
            }
            #expect(HTMLReport.isCompact(page, in: input))
            var fast = ""
            CompactRow.append(page, note: HTMLReport.unconfirmedNote(page, in: input), to: &fast)
            // No run: the note names the last check.
            #expect(fast.contains("<li class=\"note-error\">Not confirmed by the last check: ") == (index % 3 == 2))
            let context = HTMLReport.page(for: page, in: input, slugs: HTMLReport.companySlugs([name]))
            #expect(fast == templates.render(.reportPage, context), "\(name)")
        }
    }

    @Test("full rows: the same bytes as the built-in row template, over every kind of page")
    func fullRowsSameAsTemplate() throws {
        let templates = try TemplateSet()
        let names = ReportFixtures.hostileNames + ["Plain name", ""]
        let day = ReportFixtures.day
        let at = ReportFixtures.at
        var pages: [PageRecord] = []
        var events: [String: [PageEvent]] = [:]
        var counts: [String: Int] = [:]
        var notifications: [String: PageNotification] = [:]
        var changed: Set<String> = []
        let statuses: [PageStatus] = [.invalid, .unknown, .valid, .disconnected]
        let reasons: [InvalidReason?] = [nil, .passwordChanged, .missingPermissions(["pages_messaging"])]
        for index in 0..<240 {
            let name = names[index % names.count]
            let id = String(710_000_000_000_000 + index)
            var page = PageRecord(
                company: names[(index / 3) % names.count], pageID: id, pageName: name,
                status: statuses[index % statuses.count], reason: reasons[index % reasons.count],
                statusSince: index % 5 == 0 ? nil : at(Double(-index) * 7_919),
                tokenUpdatedAt: index % 11 == 0 ? Date(timeIntervalSince1970: 0) : at(Double(-index) * 86_011),
                lastCheckedAt: index % 7 == 0 ? nil : at(Double(index)),
                lastCheckError: index % 6 == 1 ? name : nil,
                scopes: index % 4 == 0 ? [] : [name, "pages_messaging"],
                missingScopes: index % 3 == 0 ? ["pages_manage_metadata", name] : [],
                expiresAt: index % 9 == 0 ? at(Double(index % 2 == 0 ? -1 : 3) * day) : nil,
                dataAccessExpiresAt: index % 8 == 0 ? at(Double(index % 3 == 0 ? -2 : 5) * day) : at(90 * day))
            if index % 13 == 0 { page.statusSince = Date(timeIntervalSince1970: 0) }
            if index % 2 == 0 { changed.insert(id) }
            if index % 4 == 1 {
                events[id] = (0..<(index % 5)).map { step in
                    PageEvent(
                        at: at(Double(-step) * 3_601),
                        kind: PageEventKind.allCases[step % PageEventKind.allCases.count],
                        actor: names[(index + step) % names.count], detail: step % 2 == 0 ? name : nil)
                }
            }
            if index % 10 == 3 { counts[id] = 40 }
            if index % 5 == 2 {
                notifications[id] = PageNotification(
                    notified: [name], pending: index % 2 == 0 ? ["a@b.example", name] : [],
                    held: index % 3 == 0 ? [name] : [])
            }
            pages.append(page)
        }
        for run in [nil, ReportFixtures.run] as [RunOutcome?] {
            let input = ReportInput(
                generatedAt: ReportFixtures.generatedAt, run: run, notifications: notifications, pages: pages,
                recentEvents: events, changedPageIDs: changed, expiryWarningDays: 14, logEntryCounts: counts)
            var shown = 0
            for page in pages where !HTMLReport.isCompact(page, in: input) {
                shown += 1
                var fast = ""
                var times = CompactRow.Times()
                FullRow.append(page, facts: HTMLReport.fullRowFacts(page, in: input), to: &fast, times: &times)
                let context = HTMLReport.page(for: page, in: input, slugs: HTMLReport.companySlugs([page.company]))
                #expect(fast == templates.render(.reportPage, context), "page \(page.pageID)")
            }
            #expect(shown > 200)
        }
    }

    @Test("a row's times reused from the previous row are the times it would have written")
    func reusedTimes() {
        var times = CompactRow.Times()
        // Runs within a minute, steps across minute boundaries both ways, before 1970, never.
        var seconds: [Double] = [0, 59, 59.999, 60, 61, -0.5, -1, -59, -60, -61, -60.000_1, 1_795_926_540]
        seconds += (0..<200).map { 1_795_926_540 + Double($0) * 0.7 }
        seconds += (0..<200).map { -86_400 * 3 + Double($0) * 13.3 }
        seconds += [1_795_926_599.999, 1_795_926_600, 1_795_926_599, 0, 4_102_444_800]
        // Rows of three times each (token updated, status since, last checked), as the report
        // writes them; then five minutes in turn, one more than the remembered ones.
        for row in 0..<100 {
            seconds += [1_700_000_000, 1_795_000_000 + Double(row % 3) * 60, 1_795_926_540 + Double(row) * 7]
        }
        seconds += (0..<50).map { 1_795_926_540 + Double($0 % 5) * 60 + 1 }
        for value in seconds {
            let date = Date(timeIntervalSince1970: value)
            #expect(times.text(date) == CompactRow.minuteText(date), "\(value)")
        }
    }

    @Test("times by arithmetic match ReportTime's calendar, over three centuries")
    func times() {
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<5_000 {
            let date = Date(timeIntervalSince1970: Double.random(in: -2_208_988_800...4_102_444_800, using: &generator))
            #expect(CompactRow.minuteText(date) == ReportTime.display(date, zone: false), "\(date)")
        }
        for edge in [0.0, -1, 59.9, 951_782_400, 4_107_542_400, 1_795_926_550] {
            let date = Date(timeIntervalSince1970: edge)
            #expect(CompactRow.minuteText(date) == ReportTime.display(date, zone: false), "\(edge)")
        }
    }
}
