import Dispatch
import Foundation
import Synchronization
import TokenWatchModel
import TokenWatchSystem

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

extension ReportWriter {
    /// Places the finished spreadsheet file `temporary` (in `directory`) as `<stem>.xlsx`
    /// beside the HTML and CSV pair just written, and replaces `latest.xlsx` with a copy of it,
    /// with the same atomic, never-overwriting steps as the pair.
    func placeSpreadsheet(temporary: String, beside files: inout ReportFiles, in directory: String)
        throws(ReportError)
    {
        let path = Self.path(directory, files.stem + ".xlsx")
        guard try Self.publish(temporary, at: path) != nil else {
            // The stem was free for the HTML and CSV; a file already holding the spreadsheet's
            // name is not ours to replace.
            throw .cannotWrite(path: path, reason: "a file of that name already exists")
        }
        let latest = Self.path(directory, "latest.xlsx")
        try Self.replace(latest, withCopyOf: temporary, in: directory)
        files.xlsx = path
        files.latestXLSX = latest
    }
}

/// One file of a report rendered on a Dispatch thread of its own while the caller's thread
/// writes the HTML (after the check the second core is idle): the spreadsheet, and the CSV.
/// It goes straight into a hidden temporary file in the reports directory, so a workbook of
/// 1,000,000 pages is never also held in memory. Started by `init`; `wait()` gives the
/// finished, flushed file's path, which the caller places and then deletes.
struct BackgroundRendering: Sendable {
    private final class Box: Sendable {
        let result = Mutex<Result<String, ReportError>?>(nil)
    }
    private let box = Box()
    private let done = DispatchGroup()

    /// Starts writing `hint`'s temporary file in `directory` with `render`, which fills the
    /// file at the path it is given (creating it).
    init(
        in directory: String, hint: String,
        render: @escaping @Sendable (_ path: String) throws(ReportError) -> Void
    ) {
        let box = self.box
        done.enter()
        // A queue of its own gets a thread of its own at once: the global queue lends no more
        // threads than there are cores, so a second file waited for the first to finish.
        DispatchQueue(label: "tokenwatch.report.\(hint)", qos: .utility).async { [done] in
            let path = AtomicFile.path(
                directory, ".\(hint)." + String(UInt64.random(in: 0...UInt64.max), radix: 16) + ".tmp")
            let rendered: Result<String, ReportError>
            do throws(ReportError) {
                try render(path)
                try Self.flush(path)
                rendered = .success(path)
            } catch {
                _ = unlink(path)
                rendered = .failure(error)
            }
            box.result.withLock { $0 = rendered }
            done.leave()
        }
    }

    /// The spreadsheet of `input`'s pages, its Summary sheet written once `summary` is given
    /// the input that reports the run.
    static func spreadsheet(_ input: ReportInput, in directory: String, summary: SummaryPromise)
        -> BackgroundRendering
    {
        BackgroundRendering(in: directory, hint: "token-report.xlsx") { path throws(ReportError) in
            try XLSXReport.write(input, to: path) { summary.wait() }
        }
    }

    /// The spreadsheet of the pages `feed` gives while they are read; abandoned (its file
    /// deleted) when the feed is. Its Summary sheet waits for `summary` as above.
    static func spreadsheet(feed: PageFeed, in directory: String, summary: SummaryPromise) -> BackgroundRendering {
        BackgroundRendering(in: directory, hint: "token-report.xlsx") { path throws(ReportError) in
            do throws(ReportError) {
                try XLSXReport.write(
                    to: path,
                    pages: { () throws(ReportError) -> [PageRecord]? in
                        switch feed.next() {
                        case .pages(let pages): return pages
                        case .finished: return nil
                        case .abandoned:
                            throw .cannotWrite(
                                path: "spreadsheet", reason: "abandoned: its pages were not all read in order")
                        }
                    }, summary: { summary.wait() })
            } catch {
                // Nobody reads the feed any more: its producer must not wait for room.
                feed.stop()
                throw error
            }
        }
    }

    /// The CSV of `input`'s pages, streamed into its file.
    static func csv(_ input: ReportInput, in directory: String) -> BackgroundRendering {
        BackgroundRendering(in: directory, hint: "token-report.csv") { path throws(ReportError) in
            let file = try StreamedFile.create(at: path)
            do throws(ReportError) {
                try CSVReport.write(input.pages) { (bytes: [UInt8]) throws(ReportError) in try file.append(bytes) }
            } catch {
                file.discard()
                throw error
            }
            try file.finish()
        }
    }

    /// Waits for the rendering and deletes the temporary file it wrote, if any: for a file
    /// that will not be placed (a placed one has its own name by then).
    func discard() {
        if case .success(let path) = wait() { _ = unlink(path) }
    }

    /// Blocks until the file is written: its temporary file's path, or why it could not be.
    func wait() -> Result<String, ReportError> {
        done.wait()
        return box.result.withLock { $0 } ?? .failure(.cannotWrite(path: "report", reason: "not rendered"))
    }

    /// fsync, as every report file is flushed before it gets its name.
    private static func flush(_ path: String) throws(ReportError) {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw .cannotWrite(path: path, reason: ReportWriter.describe(errno)) }
        defer { close(descriptor) }
        guard fsync(descriptor) == 0 else { throw .cannotWrite(path: path, reason: ReportWriter.describe(errno)) }
    }
}

/// The input a started spreadsheet's Summary sheet waits for: given once, by the thread that
/// finishes the report, or abandoned (nil) when the report is not written after all.
final class SummaryPromise: Sendable {
    private let value = Mutex<ReportInput??>(nil)
    private let given = DispatchSemaphore(value: 0)

    /// Gives the input (or nil to abandon); only the first call counts.
    func fulfil(_ input: ReportInput?) {
        let first = value.withLock { current -> Bool in
            guard current == nil else { return false }
            current = .some(input)
            return true
        }
        if first { given.signal() }
    }

    /// Blocks the rendering thread (never the cooperative pool) until `fulfil`.
    func wait() -> ReportInput? {
        given.wait()
        given.signal()
        return value.withLock { $0 } ?? nil
    }
}

/// A spreadsheet whose Pages sheet is being written from its `feed` while the report's pages
/// are read (`ReportWriter.streamSpreadsheet`); `ReportWriter.start` takes it over when the
/// feed delivered exactly the report's pages in report order.
public struct StreamedSpreadsheet: Sendable {
    /// Where the pages go as they are read: `push` each, then `finish`.
    public let feed: PageFeed
    let summary: SummaryPromise
    let rendering: BackgroundRendering

    /// Stops the spreadsheet and deletes its temporary file: for a report that will not be
    /// started with it. Blocks until its thread has let go of the file.
    public func abandon() {
        feed.abandon()
        summary.fulfil(nil)
        rendering.discard()
    }
}
