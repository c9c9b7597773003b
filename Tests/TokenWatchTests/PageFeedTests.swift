import Dispatch
import Foundation
import Synchronization
import Testing

@testable import TokenWatchModel
@testable import TokenWatchReports
@testable import TokenWatchTemplates

@Suite("Page feed: the spreadsheet written while the pages are read")
struct PageFeedTests {
    /// The XLSX tests' pages (fixtures, hostile names, a long ID), in report order.
    static var ordered: ReportInput {
        var input = XLSXReportTests.input
        input.putInReportOrder()
        return input
    }

    /// Pages named "Page 000"… of one company, in report order.
    static func pages(_ count: Int) -> [PageRecord] {
        (0..<count).map { (index: Int) -> PageRecord in
            let number = String(1_000 + index)
            return PageRecord(
                company: "Acme", pageID: number, pageName: "Page " + number.dropFirst(), status: .valid,
                tokenUpdatedAt: ReportFixtures.at(-60), scopes: ReportFixtures.scopes)
        }
    }

    /// Every chunk `feed` gives, read on this thread, and how the feed ended.
    static func drain(_ feed: PageFeed) -> (pages: [PageRecord], chunks: Int, abandoned: Bool) {
        var pages: [PageRecord] = []
        var chunks = 0
        while true {
            switch feed.next() {
            case .pages(let chunk):
                pages += chunk
                chunks += 1
            case .finished: return (pages, chunks, false)
            case .abandoned: return (pages, chunks, true)
            }
        }
    }

    @Test("pages pushed in report order come out in chunks, in order, all of them")
    func inOrder() {
        let pages = Self.pages(10)
        let feed = PageFeed(chunkSize: 4, chunkLimit: 100)
        for page in pages { feed.push(page) }
        feed.finish()
        let read = Self.drain(feed)
        #expect(read.pages == pages)
        #expect(read.chunks == 3)
        #expect(!read.abandoned)
        #expect(feed.deliveredInOrder(count: 10))
        #expect(!feed.deliveredInOrder(count: 11))
    }

    @Test("a page out of report order abandons the feed: the spreadsheet is not kept")
    func outOfOrder() {
        var pages = Self.pages(6)
        pages.swapAt(3, 4)
        let feed = PageFeed(chunkSize: 2, chunkLimit: 100)
        for page in pages { feed.push(page) }
        feed.finish()
        #expect(Self.drain(feed).abandoned)
        #expect(!feed.deliveredInOrder(count: 6))
    }

    @Test("the producer waits once chunkLimit chunks wait, and goes on as they are read")
    func boundedMemory() throws {
        let pages = Self.pages(40)
        let feed = PageFeed(chunkSize: 2, chunkLimit: 3)
        let produced = DispatchSemaphore(value: 0)
        DispatchQueue(label: "producer").async {
            for page in pages { feed.push(page) }
            feed.finish()
            produced.signal()
        }
        // Nothing is read until the producer waits for room (bounded: it must get there).
        var waited = false
        for _ in 0..<10_000 where !waited {
            waited = feed.progress.producerWaiting
            if !waited { usleep(1_000) }
        }
        #expect(waited)
        #expect(feed.progress.peakWaitingChunks == 3)
        let read = Self.drain(feed)
        produced.wait()
        #expect(read.pages == pages)
        #expect(feed.progress.peakWaitingChunks <= 3)
    }

    @Test("a consumer that stops, or a feed abandoned, never leaves the other side waiting")
    func stopAndAbandon() {
        let stopped = PageFeed(chunkSize: 1, chunkLimit: 1)
        stopped.stop()
        // With nobody reading and room for one chunk, these would wait forever if kept.
        for page in Self.pages(5) { stopped.push(page) }
        stopped.finish()
        #expect(!stopped.deliveredInOrder(count: 5))

        let abandoned = PageFeed()
        let woke = DispatchSemaphore(value: 0)
        let outcome = Outcome()
        DispatchQueue(label: "consumer").async {
            let ended = Self.drain(abandoned).abandoned
            outcome.abandoned.withLock { $0 = ended }
            woke.signal()
        }
        abandoned.push(Self.pages(1)[0])
        abandoned.abandon()
        woke.wait()
        #expect(outcome.abandoned.withLock { $0 })
    }

    /// The consumer's verdict, handed back from its thread.
    final class Outcome: Sendable {
        let abandoned = Mutex(false)
    }

    @Test("a spreadsheet fed while the pages are read is the one written after; out of order, it starts over")
    func streamedSpreadsheet() async throws {
        let templates = try TemplateSet()
        let input = Self.ordered
        let whole = try TemporaryDirectory()
        defer { whole.cleanup() }
        let direct = try await PythonXLSX.read(
            try ReportWriter().write(input, templates: templates, to: whole.path).xlsx)

        // In order: the fed spreadsheet is kept. Out of order: it is dropped, and the
        // report's is written from the sorted pages: the same either way.
        for shuffled in [false, true] {
            let staged = try TemporaryDirectory()
            defer { staged.cleanup() }
            let streamed = try ReportWriter().streamSpreadsheet(in: staged.path)
            let read = shuffled ? input.pages.reversed() : input.pages
            for page in read { streamed.feed.push(page) }
            streamed.feed.finish()
            #expect(streamed.feed.deliveredInOrder(count: read.count) == !shuffled)
            var pages = ReportInput(generatedAt: input.generatedAt, pages: Array(read))
            pages.isInReportOrder = false
            let started = try ReportWriter().start(pages, in: staged.path, streamed: streamed)
            var finished = started.pages
            (finished.run, finished.notifications, finished.recentEvents) =
                (input.run, input.notifications, input.recentEvents)
            let files = try ReportWriter().write(finished, templates: templates, to: staged.path, started: started)
            let book = try await PythonXLSX.read(files.xlsx)
            #expect(book.sheets["Pages"]?.rows == direct.sheets["Pages"]?.rows, "shuffled: \(shuffled)")
            #expect(book.sheets["Summary"]?.rows == direct.sheets["Summary"]?.rows, "shuffled: \(shuffled)")
            let names = try FileManager.default.contentsOfDirectory(atPath: staged.path)
            #expect(!names.contains { $0.hasPrefix(".") }, "shuffled: \(shuffled)")
        }

        // Abandoned before its pages were all read (the read failed): nothing is left.
        let failed = try TemporaryDirectory()
        defer { failed.cleanup() }
        let streamed = try ReportWriter().streamSpreadsheet(in: failed.path)
        streamed.feed.push(input.pages[0])
        streamed.abandon()
        streamed.abandon()
        #expect(try FileManager.default.contentsOfDirectory(atPath: failed.path).isEmpty)
    }
}
