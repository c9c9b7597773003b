import Foundation

/// How a run ended, whose raw value is the process exit code SPEC.md gives it (sysexits).
public enum RunStatus: Int32, Sendable, CaseIterable, Hashable {
    /// Every page has a verdict and every digest was sent.
    case completed = 0
    /// Any other failure.
    case failed = 1
    /// Output (a report, the metrics file) could not be written; the verdicts are kept.
    case cannotWrite = 73
    /// Pages left undecided or unchecked, digests pending or held, or stopped by a signal.
    case partial = 75
    /// Our own configuration is wrong (credentials rejected, key, URL, templates).
    case configurationError = 78

    /// The words reports and the run record use: "completed", "completed in part", …
    public var phrase: String {
        switch self {
        case .completed: "completed"
        case .failed: "failed"
        case .cannotWrite: "output not written"
        case .partial: "completed in part"
        case .configurationError: "configuration error"
        }
    }
}

/// Digests (messages) and notifications (a page for one Owner) as a run leaves them.
public struct DigestCounts: Sendable, Equatable, Hashable {
    /// Digests handed to the mail server by this run.
    public var sent = 0
    /// Digests refused for good, or given up after the last attempt, in this run.
    public var failed = 0
    /// Notifications still waiting for a send after the run.
    public var pending = 0
    /// Notifications held by the mass-invalidation guard after the run.
    public var held = 0
    /// Notifications dropped by this run (page valid again, disconnected, Owner removed).
    public var dropped = 0

    public init(sent: Int = 0, failed: Int = 0, pending: Int = 0, held: Int = 0, dropped: Int = 0) {
        self.sent = sent
        self.failed = failed
        self.pending = pending
        self.held = held
        self.dropped = dropped
    }
}

/// HTTP requests to Graph in a run, by outcome (the `tokenwatch_graph_requests` metric).
public struct GraphRequestCounts: Sendable, Equatable, Hashable {
    public var ok = 0
    public var error = 0
    public var rateLimited = 0
    public var timeout = 0

    public init(ok: Int = 0, error: Int = 0, rateLimited: Int = 0, timeout: Int = 0) {
        self.ok = ok
        self.error = error
        self.rateLimited = rateLimited
        self.timeout = timeout
    }
}

/// The mass-invalidation guard's reading of the wave that a run completed.
public struct MassInvalidation: Sendable, Equatable, Hashable {
    /// Pages that were valid and became invalid without their digests sent yet, whichever run
    /// (killed or not) decided them.
    public var wave: Int
    /// Pages that were valid before the wave.
    public var validBefore: Int
    /// True when the guard tripped and the wave's digests are held.
    public var held: Bool

    public init(wave: Int, validBefore: Int, held: Bool) {
        self.wave = wave
        self.validBefore = validBefore
        self.held = held
    }
}

/// The one value that says how a `check` run went. It is decided once, after the digests are
/// attempted, and everything that reports a run — the HTML and CSV report, the metrics file,
/// the summary line, the stored run record and the exit code — is rendered from it.
public struct RunOutcome: Sendable, Equatable {
    /// The stored run's ID; nil for a dry run.
    public var runID: Int64?
    /// Who ran it: `cron`, `cli:<user>`.
    public var actor: String
    public var startedAt: Date
    public var endedAt: Date
    public var status: RunStatus
    /// Why the run did not complete, in plain words, most important first; empty when it did.
    public var reasons: [String]
    /// Pages loaded for the run.
    public var pagesTotal = 0
    /// Verdicts of this run.
    public var valid = 0
    public var invalid = 0
    /// Pages asked about but not decided (outage, malformed answer): they keep their status.
    public var undecided = 0
    /// Pages the run did not reach (rate limit, deadline, signal).
    public var unchecked = 0
    /// The most frequent reason pages were left undecided, in plain words; nil when none were.
    public var undecidedCause: String?
    /// Pages that became invalid in this run, by Page ID.
    public var newlyInvalid: [String] = []
    /// Pages that became valid in this run, by Page ID.
    public var becameValid: [String] = []
    /// Pages whose status changed in this run.
    public var changedPageIDs: Set<String> = []
    /// Page ID → the Owner addresses this run emailed about it.
    public var notified: [String: [String]] = [:]
    public var digests = DigestCounts()
    /// The guard's reading; nil when nothing waited for it.
    public var massInvalidation: MassInvalidation?
    public var graphRequests = GraphRequestCounts()
    public var rateLimited = false
    public var deadlineReached = false
    /// The run was asked to stop (SIGTERM, SIGINT).
    public var interrupted = false
    /// The check stopped sending because Graph could not be reached for too long.
    public var graphUnreachable = false
    /// The Graph API version asked for and the one served (`facebook-api-version`).
    public var configuredVersion: String
    public var servedVersion: String?
    /// The shard this run checked (`check --shard I/N`); nil for the whole fleet.
    public var shard: Shard?

    public init(
        runID: Int64?, actor: String, startedAt: Date, endedAt: Date, status: RunStatus = .completed,
        reasons: [String] = [], configuredVersion: String
    ) {
        self.runID = runID
        self.actor = actor
        self.startedAt = startedAt
        self.endedAt = endedAt
        self.status = status
        self.reasons = reasons
        self.configuredVersion = configuredVersion
    }

    /// The process exit code of the run.
    public var exitCode: Int32 { status.rawValue }

    /// Pages that got a verdict or were asked about.
    public var checked: Int { valid + invalid + undecided }

    /// True when Graph served another version than the one configured.
    public var versionMismatch: Bool {
        guard let servedVersion else { return false }
        return servedVersion != configuredVersion
    }

    /// Why pages were left unchecked, in words: "Graph unreachable", "Graph rate limit", "run
    /// deadline", "stopped".
    public var uncheckedCause: String {
        if interrupted { return "stopped" }
        if graphUnreachable { return "Graph unreachable" }
        if rateLimited { return "Graph rate limit" }
        return deadlineReached ? "run deadline" : "stopped"
    }

    /// The one warning a run prints, even under `-q`, when most of its pages kept their old
    /// status: nil when at least half were decided. Names the larger cause: pages asked about
    /// but not decided ("not confirmed", with the most frequent reason) or pages not reached
    /// ("not checked": stopped, Graph rate limit, run deadline).
    public var unconfirmedWarning: String? {
        guard pagesTotal > 0, (undecided + unchecked) * 2 > pagesTotal else { return nil }
        if unchecked > undecided {
            let alsoUndecided = undecided > 0 ? " and \(undecided) not confirmed" : ""
            return
                "\(uncheckedCause): \(unchecked) of \(pagesTotal) pages not checked in this run\(alsoUndecided); they keep their previous status"
        }
        return
            "\(undecidedCause ?? "Graph did not answer"): \(undecided + unchecked) of \(pagesTotal) pages not confirmed in this run; they keep their previous status"
    }

    /// True when the guard held this wave's digests.
    public var heldWave: Bool { massInvalidation?.held ?? false }

    /// `checked 1200 pages: 1180 valid, 15 invalid (6 new), 5 undecided; 0 unchecked; 12.4 s;
    /// digests: 3 sent, …; exit 75: why`.
    public var summary: String {
        let seconds = endedAt.timeIntervalSince(startedAt)
        var line = shard.map { "shard \($0): " } ?? ""
        line +=
            "checked \(pagesTotal) pages: \(valid) valid, \(invalid) invalid (\(newlyInvalid.count) new), \(undecided) undecided; \(unchecked) unchecked; \(String(format: "%.1f", seconds)) s"
        line +=
            "; digests: \(digests.sent) sent, \(digests.failed) failed, \(digests.pending) pending, \(digests.held) held"
        if heldWave { line += " — MASS INVALIDATION: digests held" }
        line += "; exit \(exitCode)"
        if !reasons.isEmpty { line += ": " + reasons.joined(separator: "; ") }
        return line
    }
}
