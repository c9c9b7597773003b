import Foundation
import Testing

@testable import TokenWatchMail
@testable import TokenWatchModel
@testable import TokenWatchReports
@testable import TokenWatchTemplates

@Suite("Report writer")
struct ReportWriterTests {
    static let stem = "token-report-20261129T042910Z"

    static func read(_ path: String) throws -> String {
        String(decoding: try Data(contentsOf: URL(fileURLWithPath: path)), as: UTF8.self)
    }

    @Test("writes the pair and latest.*, creating the directory")
    func writesPair() throws {
        let temp = try TemporaryDirectory()
        defer { temp.cleanup() }
        let directory = temp.file("nested/reports")
        let files = try ReportWriter().write(ReportFixtures.input, templates: try TemplateSet(), to: directory)
        #expect(files.stem == Self.stem)
        #expect(files.html == directory + "/\(Self.stem).html")
        #expect(files.csv == directory + "/\(Self.stem).csv")
        #expect(try Self.read(files.html) == (try Self.read(files.latestHTML)))
        #expect(try Self.read(files.csv) == CSVReport.render(ReportFixtures.input))
        #expect(try Self.read(files.latestCSV) == CSVReport.render(ReportFixtures.input))
        let names = try FileManager.default.contentsOfDirectory(atPath: directory).sorted()
        #expect(
            names == [
                "latest.csv", "latest.html", "latest.xlsx", "\(Self.stem).csv", "\(Self.stem).html",
                "\(Self.stem).json", "\(Self.stem).xlsx",
            ])
    }

    @Test("the report's summary beside it: counts, outcome, changed pages")
    func summary() throws {
        let temp = try TemporaryDirectory()
        defer { temp.cleanup() }
        let files = try ReportWriter().write(ReportFixtures.input, templates: try TemplateSet(), to: temp.path)
        let summary = try #require(ReportSummary.read(temp.file(files.stem + ".json")))
        #expect(summary.stem == files.stem)
        #expect(summary.generatedAt == ReportFixtures.generatedAt)
        #expect(!summary.regenerated)
        #expect(summary.outcome == "completed" && summary.exitCode == 0 && summary.actor == "cron")
        let counts: [Int] = [
            summary.pages, summary.valid, summary.invalid, summary.unknown, summary.disconnected, summary.undecided,
        ]
        #expect(counts == [7, 3, 2, 1, 1, 1])
        #expect(summary.changedCount == 2)
        #expect(Set(summary.changed.map(\.id)) == ["100000000000002", "300000000000002"])
    }

    @Test("index.html lists every kept report, newest first, with a trend chart and the pages that changed most")
    func index() throws {
        let temp = try TemporaryDirectory()
        defer { temp.cleanup() }
        let templates = try TemplateSet()
        var input = ReportFixtures.input
        var stems: [String] = []
        for hour in 0..<3 {
            input.generatedAt = ReportFixtures.at(Double(hour) * 3600)
            input.run?.startedAt = input.generatedAt
            input.run?.status = hour == 1 ? .partial : .completed
            stems.append(try ReportWriter().write(input, templates: templates, to: temp.path).stem)
        }
        var regenerated = input
        regenerated.run = nil
        regenerated.generatedAt = ReportFixtures.at(4 * 3600)
        let last = try ReportWriter().write(regenerated, templates: templates, to: temp.path).stem
        try Data("<html></html>".utf8).write(
            to: URL(fileURLWithPath: temp.file("token-report-20200101T000000Z.html")))  // no summary
        try ReportIndex.write(directory: temp.path, version: "0.0.0-test")
        let html = try Self.read(temp.file("index.html"))
        let order = ([last] + stems.reversed() + ["token-report-20200101T000000Z"]).map {
            html.range(of: "<a href=\"\($0).html\">")?.lowerBound
        }
        #expect(order.allSatisfy { $0 != nil })
        #expect(order.compactMap { $0 } == order.compactMap { $0 }.sorted(), "newest first")
        #expect(html.contains("<span class=\"bad\">completed in part</span></td><td class=\"n\">75</td>"))
        #expect(html.contains("regenerated from stored state"))
        #expect(html.contains("no summary (written by an older TokenWatch)"))
        #expect(html.contains("Trend over 3 check runs"))
        #expect(html.components(separatedBy: "<polyline").count - 1 == 3)
        #expect(html.contains("<td class=\"id\">100000000000002</td><td>Acme Recruiting</td><td class=\"n\">3</td>"))
        #expect(ReportIndex.reportFile(startedAt: ReportFixtures.at(3600), in: temp.path) == stems[1] + ".html")
        #expect(ReportIndex.reportFile(startedAt: ReportFixtures.at(4 * 3600), in: temp.path) == nil, "regenerated")
    }

    @Test("index.html escapes what it shows")
    func indexEscapes() throws {
        let temp = try TemporaryDirectory()
        defer { temp.cleanup() }
        var input = ReportFixtures.hostileInput
        input.changedPageIDs = Set(input.pages.map(\.pageID))
        let templates = try TemplateSet()
        _ = try ReportWriter().write(input, templates: templates, to: temp.path)
        input.generatedAt = ReportFixtures.at(3600)
        _ = try ReportWriter().write(input, templates: templates, to: temp.path)
        try ReportIndex.write(directory: temp.path)
        let html = try Self.read(temp.file("index.html"))
        #expect(!html.lowercased().contains("<script"))
        #expect(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"))
        #expect(html.contains("&lt;b&gt;cli:eve&lt;/b&gt;"))
        #expect(!html.contains("\r"))
    }

    @Test("three reports in the same second: three pairs, nothing overwritten, latest is the last")
    func neverOverwrites() throws {
        let temp = try TemporaryDirectory()
        defer { temp.cleanup() }
        let templates = try TemplateSet()
        var written: [ReportFiles] = []
        for number in 1...3 {
            var input = ReportFixtures.input
            input.notices = ["write number \(number)"]
            written.append(try ReportWriter().write(input, templates: templates, to: temp.path))
        }
        #expect(written.map(\.stem) == [Self.stem, Self.stem + "-2", Self.stem + "-3"])
        for (index, files) in written.enumerated() {
            #expect(try Self.read(files.html).contains("write number \(index + 1)"))
            #expect(FileManager.default.fileExists(atPath: files.csv))
        }
        #expect(try Self.read(temp.file("latest.html")).contains("write number 3"))
        let names = try FileManager.default.contentsOfDirectory(atPath: temp.path)
        #expect(names.count == 15, "three reports with their xlsx and summaries, and latest.*")
        #expect(!names.contains { $0.hasSuffix(".tmp") })
    }

    @Test("writers racing in the same second each get their own pair")
    func concurrentWriters() async throws {
        let temp = try TemporaryDirectory()
        defer { temp.cleanup() }
        let directory = temp.path
        let stems = try await withThrowingTaskGroup(of: String.self) { group in
            for number in 0..<8 {
                group.addTask {
                    let html = Array("html \(number)".utf8)
                    let csv = Array("csv \(number)".utf8)
                    return try ReportWriter().write(
                        html: html, csv: csv, generatedAt: ReportFixtures.generatedAt, to: directory
                    ).stem
                }
            }
            var stems: [String] = []
            for try await stem in group { stems.append(stem) }
            return stems
        }
        #expect(Set(stems).count == 8)
        // Each pair holds one writer's two files.
        for stem in stems {
            let html = try Self.read(directory + "/\(stem).html")
            let csv = try Self.read(directory + "/\(stem).csv")
            #expect(html.dropFirst(5) == csv.dropFirst(4))
        }
    }

    @Test("a name taken by someone else is skipped, and their file left alone")
    func strayFiles() throws {
        let temp = try TemporaryDirectory()
        defer { temp.cleanup() }
        try Data("someone else's".utf8).write(to: URL(fileURLWithPath: temp.file("\(Self.stem).csv")))
        let files = try ReportWriter().write(
            html: Array("h".utf8), csv: Array("c".utf8), generatedAt: ReportFixtures.generatedAt, to: temp.path)
        #expect(files.stem == Self.stem + "-2")
        #expect(try Self.read(temp.file("\(Self.stem).csv")) == "someone else's")
        #expect(!FileManager.default.fileExists(atPath: temp.file("\(Self.stem).html")))
    }

    @Test("an unwritable directory is cannotWrite")
    func unwritable() throws {
        let temp = try TemporaryDirectory()
        defer { temp.cleanup() }
        let file = temp.file("a-file")
        try Data("x".utf8).write(to: URL(fileURLWithPath: file))
        for directory in [file, file + "/reports"] {
            #expect {
                try ReportWriter().write(ReportFixtures.input, templates: try TemplateSet(), to: directory)
            } throws: { error in
                guard case .cannotWrite(let path, let reason) = error as? ReportError else { return false }
                return path == file && !reason.isEmpty
            }
        }
    }

    @Test("a read-only directory is cannotWrite (skipped as root, who may write anywhere)")
    func readOnly() throws {
        guard getuid() != 0 else { return }
        let temp = try TemporaryDirectory()
        defer {
            _ = chmod(temp.path, 0o755)
            temp.cleanup()
        }
        _ = chmod(temp.path, 0o555)
        #expect(throws: ReportError.self) {
            try ReportWriter().write(ReportFixtures.input, templates: try TemplateSet(), to: temp.path)
        }
    }
}

@Suite("Report pruning")
struct ReportPruneTests {
    static let now = ReportFixtures.generatedAt
    static let day: TimeInterval = 86_400

    static func stem(daysAgo: Double, sequence: Int = 1) -> String {
        ReportFileName.stem(for: now.addingTimeInterval(-daysAgo * day), sequence: sequence)
    }

    static func touch(_ temp: TemporaryDirectory, _ names: [String]) throws {
        for name in names {
            try Data("x".utf8).write(to: URL(fileURLWithPath: temp.file(name)))
        }
    }

    @Test("a killed run's temporary files go after a day; a live run's, and other files, stay")
    func staleTemporaries() throws {
        let temp = try TemporaryDirectory()
        defer { temp.cleanup() }
        let stale = [
            ".token-report.1f2e.tmp", ".token-report.xlsx.9a.tmp", ".token-report.csv.77.tmp", ".latest.html.5c.tmp",
            ".index.html.e1.tmp", ".token-report-20261201T000000Z.json.3b.tmp",
            // The spreadsheet's two workbooks before they are spliced (XLSXReport.write).
            ".token-report.xlsx.9a.tmp.pages.tmp", ".token-report.xlsx.9a.tmp.summary.tmp",
        ]
        let fresh = [".token-report.abc.tmp", ".latest.csv.def.tmp"]
        let others = [".keep.tmp", ".token-report.1f2e", "token-report.tmp", "latest.html", "notes.tmp"]
        try Self.touch(temp, stale + fresh + others)
        // Two days old, except the fresh ones (an hour) and the others (also two days).
        for name in stale + others {
            var times = [timeval(tv_sec: Int(Self.now.timeIntervalSince1970) - 2 * 86_400, tv_usec: 0)]
            times.append(times[0])
            #expect(utimes(temp.file(name), times) == 0)
        }
        for name in fresh {
            let hourAgo = timeval(tv_sec: Int(Self.now.timeIntervalSince1970) - 3_600, tv_usec: 0)
            #expect(utimes(temp.file(name), [hourAgo, hourAgo]) == 0)
        }
        let deleted = ReportWriter().removeStaleTemporaries(in: temp.path, now: Self.now)
        #expect(deleted == stale.map { temp.file($0) }.sorted())
        let remaining = Set(try FileManager.default.contentsOfDirectory(atPath: temp.path))
        #expect(remaining == Set(fresh + others))
    }

    @Test("deletes pairs older than the limit, keeps recent ones, latest.* and foreign files")
    func prunes() throws {
        let temp = try TemporaryDirectory()
        defer { temp.cleanup() }
        let old = [Self.stem(daysAgo: 40), Self.stem(daysAgo: 40, sequence: 2), Self.stem(daysAgo: 31)]
        let kept = [Self.stem(daysAgo: 29), Self.stem(daysAgo: 1), Self.stem(daysAgo: 0)]
        let foreign = [
            "latest.html", "latest.csv", "notes.txt", "token-report-bad.html", ".token-report-1234.tmp",
            "token-report-20200101T000000Z-01.html", "token-report-20200101T000000Z.pdf",
            "token-report-20200101T000000Z-1.csv", "token-report-20201301T000000Z.html",
            "old-token-report-20200101T000000Z.html",
        ]
        try Self.touch(temp, (old + kept).flatMap { [$0 + ".html", $0 + ".csv", $0 + ".json"] } + foreign)
        try FileManager.default.createDirectory(
            atPath: temp.file("token-report-20200101T000000Z.html"), withIntermediateDirectories: false)

        let deleted = try ReportWriter().prune(directory: temp.path, keepDays: 30, now: Self.now)
        #expect(
            deleted
                == old.flatMap { [temp.file($0 + ".html"), temp.file($0 + ".csv"), temp.file($0 + ".json")] }.sorted())
        let remaining = Set(try FileManager.default.contentsOfDirectory(atPath: temp.path))
        #expect(
            remaining
                == Set(
                    kept.flatMap { [$0 + ".html", $0 + ".csv", $0 + ".json"] } + foreign
                        + ["token-report-20200101T000000Z.html"]))
    }

    @Test("never deletes the newest pair, however old")
    func keepsNewest() throws {
        let temp = try TemporaryDirectory()
        defer { temp.cleanup() }
        let older = Self.stem(daysAgo: 100)
        let newest = Self.stem(daysAgo: 90, sequence: 3)
        let sameSecond = Self.stem(daysAgo: 90, sequence: 2)
        try Self.touch(temp, [older, newest, sameSecond].flatMap { [$0 + ".html", $0 + ".csv"] })
        let deleted = try ReportWriter().prune(directory: temp.path, keepDays: 0, now: Self.now)
        #expect(deleted.count == 4)
        let remaining = Set(try FileManager.default.contentsOfDirectory(atPath: temp.path))
        #expect(remaining == [newest + ".html", newest + ".csv"])
    }

    @Test("an empty or missing directory")
    func emptyDirectory() throws {
        let temp = try TemporaryDirectory()
        defer { temp.cleanup() }
        #expect(try ReportWriter().prune(directory: temp.path, keepDays: 30, now: Self.now).isEmpty)
        #expect(throws: ReportError.self) {
            try ReportWriter().prune(directory: temp.file("missing"), keepDays: 30, now: Self.now)
        }
    }

    @Test("file names round-trip")
    func names() throws {
        let name = try #require(ReportFileName("token-report-20261129T042910Z-12.csv"))
        #expect(name.stem == "token-report-20261129T042910Z-12")
        #expect(name.date == ReportFixtures.generatedAt)
        #expect(name.sequence == 12)
        #expect(name.pathExtension == "csv")
        #expect(ReportFileName("token-report-20261129T042910Z.html")?.sequence == 1)
        for bad in [
            "token-report-20261129T042910Z-1.csv", "token-report-20261129T042910Z-.csv",
            "token-report-20261129T042910Z-x.csv", "token-report-20261129T042910.csv",
            "token-report-20261129T042910Z.HTML", "token-report-20261129T042910Z.html.bak",
            "token-report-20261129T246010Z.html",
        ] {
            #expect(ReportFileName(bad) == nil, "\(bad)")
        }
    }
}
