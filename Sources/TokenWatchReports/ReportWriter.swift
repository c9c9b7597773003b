import Foundation
import TokenWatchModel
import TokenWatchSystem
import TokenWatchTemplates

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// The paths one `ReportWriter.write` produced.
public struct ReportFiles: Sendable, Equatable {
    /// `token-report-20261129T042910Z` (or with `-2`, `-3`…): shared by both files of the pair.
    public var stem: String
    public var html: String
    public var csv: String
    public var latestHTML: String
    public var latestCSV: String
    /// The spreadsheet beside the CSV (`<stem>.xlsx`) and its `latest.xlsx` copy; empty when
    /// only the HTML and CSV pair was written.
    public var xlsx = ""
    public var latestXLSX = ""

    public init(stem: String, html: String, csv: String, latestHTML: String, latestCSV: String) {
        self.stem = stem
        self.html = html
        self.csv = csv
        self.latestHTML = latestHTML
        self.latestCSV = latestCSV
    }
}

/// A report could not be written or pruned. The CLI maps it to exit 73; the run's status
/// updates are already committed and stay.
public enum ReportError: Error, Sendable, Equatable, CustomStringConvertible {
    case cannotWrite(path: String, reason: String)

    public var description: String {
        switch self {
        case .cannotWrite(let path, let reason): "cannot write report \(path): \(reason)"
        }
    }
}

/// Writes report pairs so that auditors can trust them: every file appears complete or not at
/// all, and no report is ever overwritten, even by another process writing in the same second.
///
/// Each file is written to a temporary file in the target directory, flushed, then hard-linked
/// to its final name: `link(2)` fails with EEXIST instead of replacing, so the first writer of a
/// name keeps it and the next one takes `-2`, `-3`… `latest.html` and `latest.csv` are copies
/// replaced by `rename(2)`, which is atomic. The file steps themselves are `AtomicFile`'s.
public struct ReportWriter: Sendable {
    /// Gives up after this many reports in one second rather than loop forever.
    static let maximumSequence = 9_999

    public init() {}

    /// Renders `input` to HTML (with `templates`) and CSV and writes the pair plus `latest.*`
    /// into `directory`, created if missing, and the report's summary (`<stem>.json`) that
    /// `reports/index.html` is made from. The HTML is streamed into its file page by page on
    /// the caller's thread while the CSV and the spreadsheet are rendered on threads of their
    /// own (the check is over: the machine's other core is free).
    public func write(_ input: ReportInput, templates: TemplateSet, to directory: String) throws(ReportError)
        -> ReportFiles
    {
        // Sorted once, here: `start` and the finishing `write` then take the pages as they are.
        var ordered = input
        ordered.putInReportOrder()
        return try write(ordered, templates: templates, to: directory, started: start(ordered, in: directory))
    }

    /// Starts the parts of a report that need only its pages — the CSV and the spreadsheet's
    /// Pages sheet — on threads of their own, so they are written while the run's digests go
    /// out. `write(_:templates:to:started:)` finishes the report; a started report that will
    /// not be written is `abandon()`ed.
    ///
    /// - Parameter streamed: the spreadsheet `streamSpreadsheet(in:)` began while `pages` were
    ///   read. It is kept when its feed delivered exactly these pages in report order;
    ///   otherwise it is abandoned and the spreadsheet starts over from the sorted pages.
    public func start(_ pages: ReportInput, in directory: String, streamed: StreamedSpreadsheet? = nil)
        throws(ReportError) -> StartedReport
    {
        try Self.makeDirectory(directory)
        var ordered = pages
        let summary: SummaryPromise
        let spreadsheet: BackgroundRendering
        if let streamed, streamed.feed.deliveredInOrder(count: ordered.pages.count) {
            // The feed checked each page against the one before: the order is the report's.
            ordered.isInReportOrder = true
            (summary, spreadsheet) = (streamed.summary, streamed.rendering)
        } else {
            streamed?.abandon()
            ordered.putInReportOrder()
            summary = SummaryPromise()
            spreadsheet = BackgroundRendering.spreadsheet(ordered, in: directory, summary: summary)
        }
        return StartedReport(
            pages: ordered, directory: directory, summary: summary,
            csv: BackgroundRendering.csv(ordered, in: directory), spreadsheet: spreadsheet)
    }

    /// Starts a report's spreadsheet before its pages are read: push each page read (in the
    /// store's report order) into the returned feed, `finish` it, then pass it to
    /// `start(_:in:streamed:)`. The spreadsheet, the longest file of a report, is then written
    /// while the pages are read rather than after.
    public func streamSpreadsheet(in directory: String) throws(ReportError) -> StreamedSpreadsheet {
        try Self.makeDirectory(directory)
        let feed = PageFeed()
        let summary = SummaryPromise()
        return StreamedSpreadsheet(
            feed: feed, summary: summary,
            rendering: BackgroundRendering.spreadsheet(feed: feed, in: directory, summary: summary))
    }

    /// Finishes `started` with `input` (the same pages, in the same order — `started.pages`'
    /// — with the run's outcome, notifications and log): the HTML, the spreadsheet's Summary
    /// sheet, and every file placed.
    public func write(_ input: ReportInput, templates: TemplateSet, to directory: String, started: StartedReport)
        throws(ReportError) -> ReportFiles
    {
        // Whatever happens here, no temporary file of either renderer is left behind.
        defer { started.abandon() }
        let pair = try writeHTMLAndCSV(input, templates: templates, to: directory, started: started)
        return try finish(pair, started: started)
    }

    /// The first half of `write(_:templates:to:started:)`: the HTML and the CSV, placed. The
    /// spreadsheet is usually still being written: the caller may use the core the HTML leaves
    /// idle before `finish(_:started:)`, and must `abandon()` `started` once done, either way.
    public func writeHTMLAndCSV(
        _ input: ReportInput, templates: TemplateSet, to directory: String, started: StartedReport
    ) throws(ReportError) -> PlacedPair {
        var ordered = input
        ordered.putInReportOrder()
        started.summary.fulfil(ordered)
        let files = try writePair(ordered, templates: templates, csv: started.csv, in: directory)
        return PlacedPair(files: files, input: ordered, directory: directory)
    }

    /// The second half: waits for the spreadsheet, places it beside `pair`, and writes the
    /// report's summary (`<stem>.json`).
    public func finish(_ pair: PlacedPair, started: StartedReport) throws(ReportError) -> ReportFiles {
        var placed = pair.files
        let workbook = try started.spreadsheet.wait().get()
        try placeSpreadsheet(temporary: workbook, beside: &placed, in: pair.directory)
        ReportSummary(pair.input, stem: placed.stem).write(in: pair.directory)
        return placed
    }

    /// Waits for the CSV rendered beside it, streams the HTML of `input` (in report order)
    /// into a temporary file, and places the pair.
    private func writePair(
        _ input: ReportInput, templates: TemplateSet, csv: BackgroundRendering, in directory: String
    ) throws(ReportError) -> ReportFiles {
        // The HTML starts once the CSV is done (long done when digests went out meanwhile):
        // two files at a time on two cores, so the spreadsheet, the longest, keeps a core.
        let csvPath = try csv.wait().get()
        let html = try StreamedFile.create(in: directory, hint: "token-report")
        do {
            try HTMLReport.render(input, templates: templates) { (chunk: String) throws(ReportError) in
                try html.append(chunk)
            }
        } catch {
            html.discard()
            throw error
        }
        defer { _ = unlink(html.path) }
        try html.finish()
        return try place(
            temporaryHTML: html.path, temporaryCSV: csvPath, generatedAt: input.generatedAt, in: directory)
    }

    /// Writes already rendered contents; the part of `write` that touches the file system.
    func write(html: [UInt8], csv: [UInt8], generatedAt: Date, to directory: String) throws(ReportError)
        -> ReportFiles
    {
        try Self.makeDirectory(directory)
        let tempHTML = try Self.writeTemporary(html, in: directory)
        defer { _ = unlink(tempHTML) }
        let tempCSV = try Self.writeTemporary(csv, in: directory)
        defer { _ = unlink(tempCSV) }
        return try place(temporaryHTML: tempHTML, temporaryCSV: tempCSV, generatedAt: generatedAt, in: directory)
    }

    /// Publishes the finished files `temporaryHTML` and `temporaryCSV` under the first free
    /// stem of `generatedAt`, then replaces `latest.*` with copies of them.
    private func place(
        temporaryHTML tempHTML: String, temporaryCSV tempCSV: String, generatedAt: Date, in directory: String
    ) throws(ReportError) -> ReportFiles {
        var sequence = 1
        var placed: (stem: String, html: String, csv: String)?
        while placed == nil {
            guard sequence <= Self.maximumSequence else {
                throw .cannotWrite(
                    path: Self.path(directory, ReportFileName.stem(for: generatedAt, sequence: sequence)),
                    reason: "more than \(Self.maximumSequence) reports in the same second")
            }
            let stem = ReportFileName.stem(for: generatedAt, sequence: sequence)
            let htmlPath = Self.path(directory, stem + ".html")
            let csvPath = Self.path(directory, stem + ".csv")
            guard let htmlPlacement = try Self.publish(tempHTML, at: htmlPath) else {
                sequence += 1
                continue
            }
            let csvPlacement: AtomicFile.Placement?
            do {
                csvPlacement = try Self.publish(tempCSV, at: csvPath)
            } catch {
                AtomicFile.unpublish(htmlPlacement, from: htmlPath, to: tempHTML)
                throw error
            }
            guard csvPlacement != nil else {
                // A stray CSV holds this stem: give the HTML name back so the pair stays together.
                AtomicFile.unpublish(htmlPlacement, from: htmlPath, to: tempHTML)
                sequence += 1
                continue
            }
            placed = (stem, htmlPath, csvPath)
        }
        guard let placed else { throw .cannotWrite(path: directory, reason: "no report name was free") }

        // latest.* are replaced whole; each replacement also makes the pair's names durable.
        let latestHTML = Self.path(directory, "latest.html")
        let latestCSV = Self.path(directory, "latest.csv")
        try Self.replace(latestHTML, withCopyOf: tempHTML, in: directory)
        try Self.replace(latestCSV, withCopyOf: tempCSV, in: directory)
        return ReportFiles(
            stem: placed.stem, html: placed.html, csv: placed.csv, latestHTML: latestHTML, latestCSV: latestCSV)
    }

    /// Replaces `final` atomically with a flushed copy of the finished file `source`.
    static func replace(_ final: String, withCopyOf source: String, in directory: String) throws(ReportError) {
        let name = (final as NSString).lastPathComponent
        let copy = try StreamedFile.copy(source, in: directory, hint: name)
        guard rename(copy, final) == 0 else {
            let code = errno
            _ = unlink(copy)
            throw .cannotWrite(path: final, reason: Self.describe(code))
        }
        AtomicFile.syncDirectory(directory)
    }

    /// Deletes the hidden temporary files that runs killed while writing left in `directory`
    /// (`.token-report….tmp`, `.latest.….tmp`, `.index.html.….tmp`) once they are older than
    /// `age`: a live run's are minutes old, and only files with exactly those names are
    /// touched. Returns the paths deleted, sorted.
    @discardableResult
    public func removeStaleTemporaries(in directory: String, olderThan age: TimeInterval = 86_400, now: Date)
        -> [String]
    {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory) else { return [] }
        let cutoff = now.timeIntervalSince1970 - age
        var deleted: [String] = []
        for name in names
        where name.hasSuffix(".tmp")
            && [".token-report", ".latest.", ".index.html."].contains(where: { name.hasPrefix($0) })
        {
            let path = Self.path(directory, name)
            var info = stat()
            guard lstat(path, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG,
                Double(info.st_mtim.tv_sec) < cutoff, unlink(path) == 0
            else { continue }
            deleted.append(path)
        }
        return deleted.sorted()
    }

    /// Deletes report pairs whose time (from the file name) is more than `keepDays` days before
    /// `now`. Never deletes the newest pair, `latest.*`, or any file whose name is not exactly a
    /// report's. A negative `keepDays` counts as 0. Returns the paths deleted, sorted.
    @discardableResult
    public func prune(directory: String, keepDays: Int, now: Date) throws(ReportError) -> [String] {
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: directory)
        } catch {
            throw .cannotWrite(path: directory, reason: "cannot list the directory to prune it")
        }
        let reports = names.compactMap { name in ReportFileName(name).map { (name, $0) } }
        guard
            let newest = reports.max(by: { a, b in
                (a.1.date, a.1.sequence) < (b.1.date, b.1.sequence)
            })
        else { return [] }
        let cutoff = now.addingTimeInterval(-Double(max(0, keepDays)) * 86_400)
        var deleted: [String] = []
        for (name, file) in reports where file.stem != newest.1.stem && file.date < cutoff {
            let path = Self.path(directory, name)
            var info = stat()
            // Only regular files: a directory that happens to carry a report's name is not ours.
            guard lstat(path, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else { continue }
            if unlink(path) != 0 {
                let code = errno
                if code == ENOENT { continue }
                throw .cannotWrite(path: path, reason: Self.describe(code))
            }
            deleted.append(path)
        }
        return deleted.sorted()
    }

    // MARK: - File system steps

    static func path(_ directory: String, _ name: String) -> String {
        directory.hasSuffix("/") ? directory + name : directory + "/" + name
    }

    static func describe(_ code: Int32) -> String {
        String(cString: strerror(code))
    }

    /// `mkdir -p`, reporting the component that failed.
    static func makeDirectory(_ directory: String) throws(ReportError) {
        guard !directory.isEmpty else { throw .cannotWrite(path: directory, reason: "empty directory path") }
        var info = stat()
        if stat(directory, &info) == 0 {
            guard (info.st_mode & S_IFMT) == S_IFDIR else {
                throw .cannotWrite(path: directory, reason: "exists and is not a directory")
            }
            return
        }
        let parent = (directory as NSString).deletingLastPathComponent
        if !parent.isEmpty, parent != directory {
            try makeDirectory(parent)
        }
        if mkdir(directory, 0o755) != 0 {
            let code = errno
            // Another process may have created it meanwhile.
            if code == EEXIST, stat(directory, &info) == 0, (info.st_mode & S_IFMT) == S_IFDIR { return }
            throw .cannotWrite(path: directory, reason: describe(code))
        }
    }

    /// Reports are for auditors and hold no secrets: 0644 before the umask. Every file a report
    /// is written into is opened with these bits (a spreadsheet once kept 0600 from its own).
    static let openMode: mode_t = 0o644
    static let mode = AtomicFile.Mode.masked(openMode)

    /// Writes `bytes` to a new hidden `.tmp` file in `directory`, flushed; returns its path.
    static func writeTemporary(_ bytes: [UInt8], in directory: String) throws(ReportError) -> String {
        do {
            return try AtomicFile.writeTemporary(bytes, in: directory, hint: "token-report", mode: mode)
        } catch {
            throw .cannotWrite(path: directory, reason: error.reason)
        }
    }

    /// Gives `temporary` the name `final` unless that name exists: nil when it does.
    static func publish(_ temporary: String, at final: String) throws(ReportError) -> AtomicFile.Placement? {
        do {
            return try AtomicFile.publishWithoutOverwriting(temporary, at: final)
        } catch {
            throw .cannotWrite(path: final, reason: error.reason)
        }
    }

    /// Replaces `final` atomically with a new file holding `bytes`.
    static func replace(_ final: String, with bytes: [UInt8], in directory: String) throws(ReportError) {
        do {
            try AtomicFile.replace(final, with: bytes, mode: mode)
        } catch {
            // A temporary file's random name means nothing to a reader: name its directory.
            throw .cannotWrite(path: error.path == final ? final : directory, reason: error.reason)
        }
    }
}

/// A report's HTML and CSV, placed, waiting for its spreadsheet (`ReportWriter.finish`).
public struct PlacedPair: Sendable {
    /// The pair's files; the spreadsheet's are empty until `finish`.
    public let files: ReportFiles
    let input: ReportInput
    let directory: String
}

/// A report whose CSV and spreadsheet pages are being written (`ReportWriter.start`), waiting
/// for the run's outcome to be finished by `ReportWriter.write(_:templates:to:started:)`.
public struct StartedReport: Sendable {
    /// The pages, in report order: the finished report's input carries these.
    public let pages: ReportInput
    let directory: String
    let summary: SummaryPromise
    let csv: BackgroundRendering
    let spreadsheet: BackgroundRendering

    /// Stops waiting for the outcome and deletes whatever temporary files the renderers left
    /// (a placed report's files have their own names by then). Safe to call more than once.
    public func abandon() {
        summary.fulfil(nil)
        csv.discard()
        spreadsheet.discard()
    }
}
