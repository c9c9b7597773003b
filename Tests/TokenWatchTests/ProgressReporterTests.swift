import Testing

@testable import TokenWatch
@testable import TokenWatchMail
@testable import TokenWatchModel
@testable import TokenWatchStore

@Suite struct ProgressReporterTests {
    @Test func writesNothingWhenNotATerminal() {
        let capture = OpsConsoleCapture()
        let progress = ProgressReporter(total: 10, output: capture.output(isTerminal: false))
        #expect(!progress.isEnabled)
        for _ in 0..<10 { progress.advance() }
        progress.finish()
        #expect(capture.text.isEmpty)
    }

    @Test func drawsInPlaceThrottledAndClearsAtTheEnd() {
        let capture = OpsConsoleCapture()
        let clock = OpsManualClock()
        let progress = ProgressReporter(total: 5000, output: capture.output(isTerminal: true), clock: clock.read)
        clock.advance(by: 4)
        progress.advance(by: 1200)  // first update: drawn
        progress.advance(by: 10)  // same instant: throttled
        clock.advance(by: 0.05)
        progress.advance(by: 10)  // 50 ms later: still throttled
        clock.advance(by: 0.06)
        progress.advance(by: 10)  // 110 ms after the last draw: drawn
        progress.finish()
        progress.advance()  // after finish: nothing
        let clear = "\r\u{1B}[K"
        #expect(
            capture.text
                == clear + "checked 1200/5000 pages · 300/s · ETA 13 s" + clear
                + "checked 1230/5000 pages · 299/s · ETA 13 s"
                + clear)
    }

    @Test func theLastItemIsAlwaysDrawn() {
        let capture = OpsConsoleCapture()
        let clock = OpsManualClock()
        let progress = ProgressReporter(total: 3, output: capture.output(isTerminal: true), clock: clock.read)
        clock.advance(by: 1)
        progress.advance()
        progress.advance()
        progress.advance()
        #expect(capture.text.hasSuffix("checked 3/3 pages · 3.0/s"))
    }

    @Test func lineAndDurationText() {
        let progress = ProgressReporter(total: 5000, output: OpsConsoleCapture().output(isTerminal: true))
        #expect(progress.line(completed: 0, elapsed: 3) == "checked 0/5000 pages")
        #expect(progress.line(completed: 1200, elapsed: 0.01) == "checked 1200/5000 pages")
        #expect(progress.line(completed: 1200, elapsed: 3.87) == "checked 1200/5000 pages · 310/s · ETA 13 s")
        #expect(progress.line(completed: 5, elapsed: 2) == "checked 5/5000 pages · 2.5/s · ETA 33 min 18 s")
        #expect(ProgressReporter.duration(58.2) == "59 s")
        #expect(ProgressReporter.duration(59.2) == "1 min 0 s")
        #expect(ProgressReporter.duration(3725) == "1 h 2 min")
    }

    @Test func logLinesKeepTheProgressLineBelowThem() {
        let capture = OpsConsoleCapture()
        let output = capture.output(isTerminal: true)
        let progress = ProgressReporter(total: 2, output: output, clock: OpsManualClock().read)
        progress.advance()
        output.writeLine("a warning")
        progress.finish()
        output.writeLine("summary")
        let clear = "\r\u{1B}[K"
        #expect(
            capture.text == clear + "checked 1/2 pages" + clear + "a warning\n" + "checked 1/2 pages" + clear
                + "summary\n")
    }

    @Test func isSafeFromConcurrentTasks() async {
        let capture = OpsConsoleCapture()
        let progress = ProgressReporter(total: 1000, output: capture.output(isTerminal: true), minimumInterval: 0)
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<8 {
                group.addTask { for _ in 0..<125 { progress.advance() } }
            }
        }
        #expect(capture.text.hasSuffix("checked 1000/1000 pages") || capture.text.contains("checked 1000/1000 pages ·"))
        progress.finish()
    }
}
