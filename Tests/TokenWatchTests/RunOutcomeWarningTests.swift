import Foundation
import Testing

@testable import TokenWatchModel

/// The one warning a run prints when most of its pages kept their old status names the larger
/// cause: an outage ("not confirmed") or pages the run never reached ("not checked").
@Suite("Run outcome warning")
struct RunOutcomeWarningTests {
    func outcome(total: Int, undecided: Int, unchecked: Int) -> RunOutcome {
        var outcome = RunOutcome(
            runID: 1, actor: "cron", startedAt: Date(timeIntervalSince1970: 0),
            endedAt: Date(timeIntervalSince1970: 60), configuredVersion: "v25.0")
        outcome.pagesTotal = total
        outcome.undecided = undecided
        outcome.unchecked = unchecked
        return outcome
    }

    @Test func halfOrMoreDecidedIsNoWarning() {
        #expect(outcome(total: 10, undecided: 3, unchecked: 2).unconfirmedWarning == nil)
        #expect(outcome(total: 0, undecided: 0, unchecked: 0).unconfirmedWarning == nil)
    }

    @Test func anOutageNamesItsMostFrequentCause() {
        var run = outcome(total: 3, undecided: 3, unchecked: 0)
        run.undecidedCause = "Graph API unreachable"
        #expect(
            run.unconfirmedWarning
                == "Graph API unreachable: 3 of 3 pages not confirmed in this run; they keep their previous status")
        run.undecidedCause = nil
        #expect(run.unconfirmedWarning?.hasPrefix("Graph did not answer: 3 of 3 pages not confirmed") == true)
    }

    /// A run stopped by a signal (or the rate limit, or its deadline) did not ask Graph about
    /// most pages: "Graph did not answer" would send the operator after an outage.
    @Test func pagesNotReachedNameWhyTheRunStopped() {
        var stopped = outcome(total: 100_000, undecided: 0, unchecked: 51_750)
        stopped.interrupted = true
        #expect(
            stopped.unconfirmedWarning
                == "stopped: 51750 of 100000 pages not checked in this run; they keep their previous status")
        var unreachable = outcome(total: 10, undecided: 0, unchecked: 10)
        unreachable.graphUnreachable = true
        #expect(
            unreachable.unconfirmedWarning
                == "Graph unreachable: 10 of 10 pages not checked in this run; they keep their previous status")
        var limited = outcome(total: 20, undecided: 2, unchecked: 10)
        limited.rateLimited = true
        #expect(
            limited.unconfirmedWarning
                == "Graph rate limit: 10 of 20 pages not checked in this run and 2 not confirmed; they keep their previous status"
        )
    }
}
