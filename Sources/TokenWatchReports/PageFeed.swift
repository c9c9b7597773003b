import Dispatch
import Synchronization
import TokenWatchModel

/// Pages handed, while they are read, from the thread reading them to the thread writing the
/// spreadsheet, so that the spreadsheet — the longest part of a report — starts with the
/// first page read instead of after the last.
///
/// One producer `push`es pages in the order the store returned them and then `finish`es (or
/// `abandon`s); one consumer takes them in chunks with `next()`. The feed checks the order as
/// pages arrive: the first page out of report order (names the store could not sort, such as
/// names outside ASCII) abandons it, and the report is then written from the sorted pages as
/// if there had been no feed. Memory stays bounded: past `chunkLimit` waiting chunks the
/// producer waits for the consumer, unless the consumer has stopped.
public final class PageFeed: Sendable {
    /// How the feed ended, as the consumer sees it.
    enum Next {
        case pages([PageRecord])
        case finished
        case abandoned
    }

    private struct State {
        var filling: [PageRecord] = []
        /// Chunks waiting, oldest first: at most `chunkLimit`, so taking the first is cheap.
        var ready: [[PageRecord]] = []
        var last: PageRecord?
        var pushed = 0
        var finished = false
        var abandoned = false
        var consumerStopped = false
        var consumerWaiting = false
        var producerWaiting = false
        /// The most chunks that ever waited at once (tests check the bound with it).
        var peakWaitingChunks = 0
    }

    let chunkSize: Int
    let chunkLimit: Int
    private let state = Mutex(State())
    /// Signalled at most once per wait (the waiting flags say who waits), so neither count
    /// grows past one.
    private let pagesReady = DispatchSemaphore(value: 0)
    private let roomReady = DispatchSemaphore(value: 0)

    /// - Parameters:
    ///   - chunkSize: pages per chunk handed over.
    ///   - chunkLimit: chunks that may wait before the producer waits: 64 of 1,024 pages are
    ///     about 12 MB of rows, which keeps a 1,000,000-page report within its memory.
    public init(chunkSize: Int = 1_024, chunkLimit: Int = 64) {
        self.chunkSize = max(1, chunkSize)
        self.chunkLimit = max(1, chunkLimit)
    }

    // MARK: Producer

    /// Hands over the next page read. Does nothing once the feed is abandoned, finished or no
    /// longer read.
    public func push(_ page: PageRecord) {
        let wake = state.withLock { state -> (consumer: Bool, mustWait: Bool) in
            guard !state.finished, !state.abandoned, !state.consumerStopped else { return (false, false) }
            if let last = state.last, ReportInput.precedes(page, last) {
                // Out of report order: the spreadsheet would be, too.
                state.abandoned = true
                state.filling = []
                state.ready = []
                return (Self.takeWaiting(&state.consumerWaiting), false)
            }
            state.last = page
            state.pushed += 1
            state.filling.append(page)
            guard state.filling.count >= chunkSize else { return (false, false) }
            state.ready.append(state.filling)
            state.filling = []
            state.filling.reserveCapacity(chunkSize)
            state.peakWaitingChunks = max(state.peakWaitingChunks, state.ready.count)
            let wake = Self.takeWaiting(&state.consumerWaiting)
            guard state.ready.count >= chunkLimit else { return (wake, false) }
            state.producerWaiting = true
            return (wake, true)
        }
        if wake.consumer { pagesReady.signal() }
        if wake.mustWait { roomReady.wait() }
    }

    /// Every page is pushed: the consumer takes what is left and ends.
    public func finish() {
        let wake = state.withLock { state -> Bool in
            guard !state.finished, !state.abandoned else { return false }
            if !state.filling.isEmpty {
                state.ready.append(state.filling)
                state.filling = []
            }
            state.finished = true
            return Self.takeWaiting(&state.consumerWaiting)
        }
        if wake { pagesReady.signal() }
    }

    /// The pages will not all come (the read failed): the consumer stops and discards.
    public func abandon() {
        let wake = state.withLock { state -> (consumer: Bool, producer: Bool) in
            state.abandoned = true
            state.ready = []
            state.filling = []
            return (Self.takeWaiting(&state.consumerWaiting), Self.takeWaiting(&state.producerWaiting))
        }
        if wake.consumer { pagesReady.signal() }
        if wake.producer { roomReady.signal() }
    }

    /// True when the feed was finished with exactly `count` pages, all in report order: the
    /// consumer's output then holds exactly the report's pages.
    func deliveredInOrder(count: Int) -> Bool {
        state.withLock { $0.finished && !$0.abandoned && $0.pushed == count }
    }

    /// What tests look at: the most chunks that waited at once, and whether the producer
    /// waits for room now.
    var progress: (peakWaitingChunks: Int, producerWaiting: Bool) {
        state.withLock { ($0.peakWaitingChunks, $0.producerWaiting) }
    }

    // MARK: Consumer

    /// The next chunk, waiting for it; `.finished` after the last, `.abandoned` when the
    /// pages will not all come.
    func next() -> Next {
        while true {
            let (next, wakeProducer) = state.withLock { state -> (Next?, Bool) in
                if state.abandoned { return (.abandoned, false) }
                if !state.ready.isEmpty {
                    return (.pages(state.ready.removeFirst()), Self.takeWaiting(&state.producerWaiting))
                }
                if state.finished { return (.finished, false) }
                state.consumerWaiting = true
                return (nil, false)
            }
            if wakeProducer { roomReady.signal() }
            if let next { return next }
            pagesReady.wait()
        }
    }

    /// The consumer reads no more (it failed): the producer neither keeps nor waits.
    func stop() {
        let wake = state.withLock { state -> Bool in
            state.consumerStopped = true
            state.ready = []
            state.filling = []
            return Self.takeWaiting(&state.producerWaiting)
        }
        if wake { roomReady.signal() }
    }

    private static func takeWaiting(_ flag: inout Bool) -> Bool {
        defer { flag = false }
        return flag
    }
}
