import Foundation
import Testing
import TokenWatchModel
import TokenWatchReports
import TokenWatchTestSupport

/// The demo's report in a real browser (headless Chromium, when installed: scripts/install-deps.sh
/// --test installs it): at 390 px nothing is wider than the screen, at 1440 px nothing overflows,
/// and the inline script filters the table. An outer page shows the report in an iframe and
/// writes what it measured into its DOM, which `--dump-dom` prints.
@Suite("Report in a browser")
struct ReportBrowserTests {
    static let chromium = ["chromium", "chromium-browser", "google-chrome"].lazy
        .compactMap { ReportValidationTests.executableOnPath($0) }.first

    /// Measures `page` after layout, from an outer page that shows it in an iframe `width` px
    /// wide (headless Chromium makes no window narrower than 500 px; media queries follow the
    /// iframe's width): the document's scroll width, the viewport's width, the pages in the
    /// table, and how many stay visible when the status filter says Invalid.
    static func harness(for page: String, width: Int) -> String {
        """
        <!doctype html><html lang="en"><head><meta charset="utf-8"><title>probe</title>
        <style>body{margin:0}iframe{display:block;border:0;width:\(width)px;height:900px}</style></head>
        <body><iframe id="f" src="file://\(page)"></iframe>
        <script>
        document.getElementById("f").addEventListener("load", function () {
          var d = this.contentDocument, root = d.documentElement;
          var all = d.querySelectorAll("#pages-table .page").length;
          var text = "scrollWidth=" + root.scrollWidth + " innerWidth=" + this.contentWindow.innerWidth + " pages=" + all;
          var select = d.getElementById("f-status");
          select.value = "status-invalid";
          select.dispatchEvent(new Event("change"));
          text += " invalidShown=" + d.querySelectorAll("#pages-table .page:not([hidden])").length;
          var p = document.createElement("p");
          p.id = "probe";
          p.textContent = text;
          document.body.appendChild(p);
        });
        </script>
        </body></html>
        """
    }

    /// Loads the report at `page` at `width` px and returns the probe's numbers.
    static func measure(_ page: String, width: Int, in directory: TestDirectory) async throws -> [String: Int] {
        let chromium = try #require(chromium)
        let outer = directory.file("probe-\(width).html")
        try Data(harness(for: page, width: width).utf8).write(to: URL(fileURLWithPath: outer))
        let run = try await ReportValidationTests.run(
            [
                chromium, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                "--allow-file-access-from-files", "--force-device-scale-factor=1",
                "--window-size=\(max(width, 500) + 20),900", "--virtual-time-budget=5000", "--dump-dom",
                "file://\(outer)",
            ], in: directory, separateErrors: true)
        try #require(run.status == 0, "chromium exited \(run.status): \(run.errors)")
        let line = try #require(
            run.output.components(separatedBy: "<p id=\"probe\">").dropFirst().first?.components(separatedBy: "<")
                .first, "no probe output: \(run.errors)")
        var numbers: [String: Int] = [:]
        for pair in line.split(separator: " ") {
            let parts = pair.split(separator: "=")
            if parts.count == 2, let value = Int(parts[1]) { numbers[String(parts[0])] = value }
        }
        return numbers
    }

    @Test(
        .enabled(if: chromium != nil, "chromium is not installed (scripts/install-deps.sh --test installs it)"),
        .timeLimit(.minutes(2)))
    func theDemoReportFitsAPhoneAndADesktop() async throws {
        let directory = try TestDirectory()
        let (files, pages) = try await ReportValidationTests.demoRun(in: directory)
        let invalid = pages.filter { $0.status == .invalid }.count

        let phone = try await Self.measure(files.html, width: 390, in: directory)
        #expect(phone["innerWidth"] == 390, "the viewport is 390 px: \(phone)")
        #expect((phone["scrollWidth"] ?? .max) <= 390, "wider than a 390 px screen: \(phone)")
        #expect(phone["pages"] == pages.count)
        #expect(phone["invalidShown"] == invalid, "the status filter shows the invalid pages only")

        let desktop = try await Self.measure(files.html, width: 1440, in: directory)
        #expect(desktop["innerWidth"] == 1440, "\(desktop)")
        #expect((desktop["scrollWidth"] ?? .max) <= 1440, "wider than 1440 px: \(desktop)")
        #expect(desktop["invalidShown"] == invalid)
    }
}
