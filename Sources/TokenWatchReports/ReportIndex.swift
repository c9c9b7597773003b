import Foundation
import TokenWatchModel

/// `reports/index.html`: every report still in the directory, newest first, with its time,
/// outcome, exit code and counts, linked; a trend chart (inline SVG) of valid, invalid and
/// undecided pages per check run; and the pages that changed most often. Made from the
/// reports' summaries (`<stem>.json`), never from old HTML; rewritten after every report and
/// every pruning. Rendered here rather than from a template: it holds no wording an operator
/// needs to change, and every value goes through `escape`.
public enum ReportIndex {
    /// One report in the directory: its HTML (and CSV) name and its summary when it has one.
    struct Entry: Sendable, Equatable {
        var stem: String
        var date: Date
        var sequence: Int
        var hasCSV: Bool
        var summary: ReportSummary?
    }

    /// Rows of "changed most" shown: pages whose status changed in two or more kept runs.
    static let mostChangedShown = 20

    /// Lists the reports of `directory` and replaces `index.html` atomically.
    public static func write(directory: String, version: String = TokenWatchVersion.current) throws(ReportError) {
        let html = render(entries(in: directory), version: version)
        try ReportWriter.replace(ReportWriter.path(directory, "index.html"), with: Array(html.utf8), in: directory)
    }

    /// The reports in `directory`, newest first. A report is its `.html`; a summary or CSV
    /// without its HTML is not listed.
    static func entries(in directory: String) -> [Entry] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        var byStem: [String: (file: ReportFileName, html: Bool, csv: Bool, json: Bool)] = [:]
        for name in names {
            guard let file = ReportFileName(name) else { continue }
            var entry = byStem[file.stem] ?? (file, false, false, false)
            switch file.pathExtension {
            case "html": entry.html = true
            case "csv": entry.csv = true
            default: entry.json = true
            }
            byStem[file.stem] = entry
        }
        return byStem.values.filter(\.html).map { found in
            Entry(
                stem: found.file.stem, date: found.file.date, sequence: found.file.sequence, hasCSV: found.csv,
                summary: found.json ? ReportSummary.read(ReportWriter.path(directory, found.file.stem + ".json")) : nil)
        }.sorted { ($0.date, $0.sequence) > ($1.date, $1.sequence) }
    }

    /// HTML-escapes a value for text and for double-quoted attributes.
    static func escape(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for character in text.unicodeScalars {
            switch character {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default:
                // Control characters never reach a report (TerminalText); drop any that would.
                if character.value < 0x20 && character != "\n" && character != "\t" { continue }
                out.unicodeScalars.append(character)
            }
        }
        return out
    }

    static func render(_ entries: [Entry], version: String) -> String {
        let runs = entries.filter { $0.summary.map { !$0.regenerated } ?? false }.reversed()
        var html = """
            <!doctype html>
            <html lang="en">
            <head>
            <meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <meta name="generator" content="TokenWatch \(escape(version))">
            <title>TokenWatch reports</title>
            <style>
            :root { --ink: #1d2939; --muted: #667085; --line: #e4e7ec; --paper: #ffffff; --wash: #f9fafb;
              --invalid: #b42318; --valid: #067647; --unknown: #b54708; --link: #175cd3; }
            * { box-sizing: border-box; }
            body { margin: 0; background: var(--wash); color: var(--ink);
              font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, "Noto Sans", sans-serif; }
            .index { max-width: 1280px; margin: 0 auto; padding: 24px 28px 40px; }
            h1 { font-size: 22px; margin: 0 0 4px; }
            h2 { font-size: 15px; margin: 24px 0 8px; }
            p.subtitle { margin: 0; color: var(--muted); }
            a { color: var(--link); }
            .charts { display: grid; grid-template-columns: repeat(auto-fit, minmax(260px, 1fr)); gap: 12px; }
            figure { margin: 0; background: var(--paper); border: 1px solid var(--line); border-radius: 8px; padding: 10px 12px; }
            figcaption { font-size: 13px; font-weight: 600; }
            figcaption .now { font-weight: 400; color: var(--muted); }
            svg { display: block; width: 100%; height: auto; }
            .axis { font-size: 11px; color: var(--muted); display: flex; justify-content: space-between; }
            table { width: 100%; border-collapse: collapse; background: var(--paper); border: 1px solid var(--line); font-size: 13px; }
            th, td { text-align: left; padding: 6px 10px; border-bottom: 1px solid var(--line); vertical-align: top; }
            thead th { background: var(--wash); color: var(--muted); font-size: 12px; }
            td.n, th.n { text-align: right; font-variant-numeric: tabular-nums; }
            .bad { color: var(--invalid); font-weight: 600; }
            .muted { color: var(--muted); }
            .id { font-family: ui-monospace, "SF Mono", Menlo, Consolas, "Liberation Mono", monospace; font-size: 12.5px; }
            @media (max-width: 600px) {
              .index { padding: 12px; }
              .wide { display: block; overflow-x: auto; }
            }
            @media print { body { background: #ffffff; } .index { padding: 0; } }
            </style>
            </head>
            <body>
            <div class="index">
            <h1>TokenWatch reports</h1>
            <p class="subtitle">\(entries.count) reports kept · newest first · times are UTC · <a href="latest.html">latest report</a></p>

            """
        html += "<h2 id=\"trend\">Trend over \(runs.count) check runs</h2>\n"
        if runs.count < 2 {
            html += "<p class=\"muted\">The chart needs two check runs.</p>\n"
        } else {
            let summaries = runs.compactMap(\.summary)
            let first = ReportTime.display(summaries.first?.generatedAt)
            let last = ReportTime.display(summaries.last?.generatedAt)
            html += "<div class=\"charts\">\n"
            html += chart("Valid", "#067647", summaries.map(\.valid), first: first, last: last)
            html += chart("Invalid", "#b42318", summaries.map(\.invalid), first: first, last: last)
            html += chart("Not confirmed", "#b54708", summaries.map(\.undecided), first: first, last: last)
            html += "</div>\n"
        }

        html += """
            <h2 id="reports">Reports</h2>
            <div class="wide">
            <table>
            <thead><tr><th scope="col">Report (UTC)</th><th scope="col">Outcome</th><th scope="col" class="n">Exit code</th><th scope="col" class="n">Pages</th><th scope="col" class="n">Valid</th><th scope="col" class="n">Invalid</th><th scope="col" class="n">Unknown</th><th scope="col" class="n">Disconnected</th><th scope="col" class="n">Not confirmed</th><th scope="col" class="n">Changed</th><th scope="col">Run by</th><th scope="col">CSV</th></tr></thead>
            <tbody>

            """
        for entry in entries {
            let name = escape(entry.stem)
            let when =
                "<a href=\"\(name).html\"><time datetime=\"\(ReportTime.iso(entry.date))\">\(ReportTime.display(entry.date, seconds: true, zone: false))</time></a>"
                + (entry.sequence > 1 ? " (\(entry.sequence))" : "")
            let csv = entry.hasCSV ? "<a href=\"\(name).csv\">CSV</a>" : "<span class=\"muted\">—</span>"
            guard let summary = entry.summary else {
                html +=
                    "<tr><td>\(when)</td><td colspan=\"10\" class=\"muted\">no summary (written by an older TokenWatch)</td><td>\(csv)</td></tr>\n"
                continue
            }
            let outcome =
                summary.regenerated
                ? "<span class=\"muted\">regenerated from stored state</span>"
                : (summary.exitCode == 0
                    ? escape(summary.outcome ?? "") : "<span class=\"bad\">\(escape(summary.outcome ?? ""))</span>")
            let exitCode = summary.exitCode.map(String.init) ?? "—"
            let cells = [
                summary.pages, summary.valid, summary.invalid, summary.unknown, summary.disconnected,
                summary.undecided, summary.changedCount,
            ].map { "<td class=\"n\">\($0)</td>" }.joined()
            html +=
                "<tr><td>\(when)</td><td>\(outcome)</td><td class=\"n\">\(exitCode)</td>\(cells)<td>\(escape(summary.actor ?? "—"))</td><td>\(csv)</td></tr>\n"
        }
        html += "</tbody>\n</table>\n</div>\n"

        // The pages that changed status in the most kept runs.
        var changes: [String: (page: ReportSummary.ChangedPage, count: Int)] = [:]
        for summary in runs.compactMap(\.summary) {
            for page in summary.changed {
                changes[page.id, default: (page, 0)].count += 1
                changes[page.id]?.page = page
            }
        }
        // A page that changed once (connected, one invalidation) is not a pattern: two or more.
        let most = changes.values.filter { $0.count >= 2 }.sorted {
            $0.count != $1.count ? $0.count > $1.count : $0.page.id < $1.page.id
        }.prefix(mostChangedShown)
        html += "<h2 id=\"changed-most\">Pages that changed most</h2>\n"
        if most.isEmpty {
            html += "<p class=\"muted\">No page changed status in more than one kept check run.</p>\n"
        } else {
            html += """
                <div class="wide">
                <table>
                <thead><tr><th scope="col">Page name</th><th scope="col">Page ID</th><th scope="col">Company</th><th scope="col" class="n">Changes</th><th scope="col">Status now</th></tr></thead>
                <tbody>

                """
            for (page, count) in most {
                html +=
                    "<tr><td>\(escape(page.name))</td><td class=\"id\">\(escape(page.id))</td><td>\(escape(page.company))</td><td class=\"n\">\(count)</td><td>\(escape(PageStatus(rawValue: page.status)?.label ?? page.status))</td></tr>\n"
            }
            html += "</tbody>\n</table>\n</div>\n"
        }
        html += "</div>\n</body>\n</html>\n"
        return html
    }

    /// One series as a small SVG line chart scaled to its own maximum (valid pages are
    /// thousands, invalid ones a handful: one shared scale would flatten them).
    static func chart(_ label: String, _ colour: String, _ values: [Int], first: String, last: String) -> String {
        let width = 300.0
        let height = 80.0
        let top = Double(max(values.max() ?? 0, 1))
        let step = values.count > 1 ? width / Double(values.count - 1) : 0
        let points = values.enumerated().map { index, value in
            let x = Double(index) * step
            let y = height - 4 - (Double(value) / top) * (height - 8)
            return String(format: "%.1f,%.1f", x, y)
        }.joined(separator: " ")
        let now = values.last ?? 0
        return """
            <figure>
            <figcaption>\(escape(label)) <span class="now">now \(now) · peak \(values.max() ?? 0)</span></figcaption>
            <svg viewBox="0 0 \(Int(width)) \(Int(height))" preserveAspectRatio="none" role="img" aria-label="\(escape(label)) pages per run, \(values.count) runs: \(values.map(String.init).joined(separator: ", "))">
            <line x1="0" y1="\(Int(height) - 4)" x2="\(Int(width))" y2="\(Int(height) - 4)" stroke="#e4e7ec" stroke-width="1"/>
            <polyline fill="none" stroke="\(colour)" stroke-width="2" vector-effect="non-scaling-stroke" points="\(points)"/>
            </svg>
            <div class="axis"><span>\(escape(first))</span><span>\(escape(last))</span></div>
            </figure>

            """
    }
}

extension ReportIndex {
    /// The HTML report of the check run that started at `startedAt`, when it is still in
    /// `directory`: a regenerated report links the run it follows.
    public static func reportFile(startedAt: Date, in directory: String) -> String? {
        let stamp = ReportTime.compact(startedAt)
        return entries(in: directory).last { entry in
            ReportTime.compact(entry.date) == stamp && !(entry.summary?.regenerated ?? false)
        }.map { $0.stem + ".html" }
    }
}
