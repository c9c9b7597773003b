import Foundation
import TokenWatchModel
import TokenWatchReports
import TokenWatchTemplates

/// A component benchmark of the HTML report alone (not the product's speed: no database, no
/// Graph): `tokenwatch-bench report N [DIR]` builds a fleet of N pages shaped like a real
/// one — 1 % invalid, 0.5 % not confirmed, 1 % changed in the run, the rest valid — and times
/// `ReportWriter.write` (HTML streamed to its file, the CSV, `latest.*`, the summary) and
/// `ReportIndex.write`. Prints the HTML size. With DIR the files stay there (to open them in
/// a browser); otherwise they go to a temporary directory that is removed.
enum ReportBenchmark {
    static func run(_ arguments: [String]) throws {
        let count = arguments.first.flatMap { Int($0) } ?? 100_000
        let keep = arguments.count > 1 ? arguments[1] : nil
        let directory =
            keep ?? FileManager.default.temporaryDirectory.appendingPathComponent("tokenwatch-bench-\(UUID())").path
        defer { if keep == nil { try? FileManager.default.removeItem(atPath: directory) } }

        let input = fleet(count)
        let templates = try TemplateSet()
        let clock = ContinuousClock()
        var files: ReportFiles?
        let write = try clock.measure {
            files = try ReportWriter().write(input, templates: templates, to: directory)
        }
        let index = try clock.measure { try ReportIndex.write(directory: directory) }
        // The parts alone, in memory: the HTML rendering (templates), and the CSV.
        var htmlBytes = 0
        let htmlOnly = clock.measure {
            HTMLReport.render(input, templates: templates) { htmlBytes += $0.utf8.count }
        }
        let csvOnly = clock.measure { _ = CSVReport.render(input) }
        guard let files else { return }
        let size = (try? FileManager.default.attributesOfItem(atPath: files.html)[.size] as? Int) ?? 0
        let csvSize = (try? FileManager.default.attributesOfItem(atPath: files.csv)[.size] as? Int) ?? 0
        print(
            """
            report benchmark (component: ReportWriter.write, no database), \(count) pages
              write (HTML streamed + CSV + latest.* + summary): \(write)
              index.html: \(index)
              HTML rendering alone (in memory, \(htmlBytes) bytes): \(htmlOnly)
              CSV rendering alone (in memory): \(csvOnly)
              HTML: \(size) bytes (\(size / max(count, 1)) bytes a page), CSV: \(csvSize) bytes
              \(files.html)
            """)
    }

    /// N pages spread over N/100 companies, with a few log entries for the pages that show them.
    static func fleet(_ count: Int) -> ReportInput {
        let now = Date(timeIntervalSince1970: 1_795_000_000)
        var pages: [PageRecord] = []
        pages.reserveCapacity(count)
        var events: [String: [PageEvent]] = [:]
        var changed: Set<String> = []
        let scopes = ["pages_messaging", "pages_manage_metadata", "pages_read_engagement", "pages_show_list"]
        for index in 0..<count {
            let id = String(100_000_000_000_000 + index)
            let company = "Company \(index % max(count / 100, 1))"
            var page = PageRecord(
                company: company, pageID: id, pageName: "Careers page \(index)", status: .valid,
                statusSince: now.addingTimeInterval(-86_400 * 30), tokenUpdatedAt: now.addingTimeInterval(-86_400 * 40),
                lastCheckedAt: now, scopes: scopes)
            switch index % 200 {
            case 0, 1:
                page.status = .invalid
                page.reason = .passwordChanged
            case 2:
                page.status = .unknown
                page.lastCheckError = "Graph did not answer within 30 s (timeout)."
            default:
                break
            }
            if index % 100 == 1 { changed.insert(id) }
            if page.status != .valid || changed.contains(id) {
                events[id] = [
                    PageEvent(at: now, kind: .becameInvalid, actor: "cron", detail: "password changed"),
                    PageEvent(at: now.addingTimeInterval(-86_400 * 40), kind: .connected, actor: "cli:ops"),
                ]
            }
            pages.append(page)
        }
        var run = RunOutcome(
            runID: 1, actor: "cron", startedAt: now, endedAt: now.addingTimeInterval(60), status: .partial,
            reasons: ["\(count / 200) pages not confirmed in this run"], configuredVersion: "v25.0")
        run.pagesTotal = count
        run.changedPageIDs = changed
        return ReportInput(
            generatedAt: now, run: run, pages: pages, recentEvents: events, changedPageIDs: changed,
            origin: ReportOrigin(
                host: "bench", appID: "1234567890", database: "bench.sqlite", configuredVersion: "v25.0"))
    }
}
