import Foundation

/// Everything a report shows, gathered by the caller: the pages as stored (without tokens),
/// their recent log, and what the run that produced it did. Renderers only read it.
public struct ReportInput: Sendable {
    /// Run start time (UTC); names the report files and is the "now" of expiry warnings.
    public var generatedAt: Date
    /// The check run behind the report; nil for `tokenwatch report` regenerating from stored state.
    public var run: ReportRunInfo?
    /// Every page, disconnected ones included.
    public var pages: [PageRecord]
    /// Page ID → its last few log entries, newest first.
    public var recentEvents: [String: [PageEvent]]
    /// Pages whose status changed in this run.
    public var changedPageIDs: Set<String>
    /// Pages whose `expires_at` (or data access) ends within this many days are flagged.
    public var expiryWarningDays: Int
    /// Banners for the top of the report: mass-invalidation hold, Graph version mismatch,
    /// companies without Owners, failed digests…
    public var notices: [String]

    public init(
        generatedAt: Date, run: ReportRunInfo? = nil, pages: [PageRecord] = [],
        recentEvents: [String: [PageEvent]] = [:], changedPageIDs: Set<String> = [],
        expiryWarningDays: Int = 14, notices: [String] = []
    ) {
        self.generatedAt = generatedAt
        self.run = run
        self.pages = pages
        self.recentEvents = recentEvents
        self.changedPageIDs = changedPageIDs
        self.expiryWarningDays = expiryWarningDays
        self.notices = notices
    }
}

/// What one check run did, as the report's header shows it.
public struct ReportRunInfo: Sendable {
    public var startedAt: Date
    public var endedAt: Date
    /// How the run ended in words: "completed", "partial", "configuration error"…
    public var outcome: String
    /// The exit code the run ends with.
    public var exitCode: Int32
    /// Pages that got a verdict in this run.
    public var checked: Int
    /// Pages the run did not reach (rate limit, deadline) — "not checked".
    public var unchecked: Int
    /// Pages that became invalid in this run.
    public var newlyInvalid: Int
    /// The Graph API version TokenWatch asked for (`v25.0`).
    public var configuredVersion: String
    /// The version Graph said it served (`facebook-api-version`); nil when no answer carried it.
    public var servedVersion: String?
    /// True for `check --dry-run` (which writes no report itself, but a caller may render one).
    public var dryRun: Bool

    public init(
        startedAt: Date, endedAt: Date, outcome: String, exitCode: Int32 = 0, checked: Int = 0,
        unchecked: Int = 0, newlyInvalid: Int = 0, configuredVersion: String,
        servedVersion: String? = nil, dryRun: Bool = false
    ) {
        self.startedAt = startedAt
        self.endedAt = endedAt
        self.outcome = outcome
        self.exitCode = exitCode
        self.checked = checked
        self.unchecked = unchecked
        self.newlyInvalid = newlyInvalid
        self.configuredVersion = configuredVersion
        self.servedVersion = servedVersion
        self.dryRun = dryRun
    }

    /// True when Graph served another version than the one configured.
    public var versionMismatch: Bool {
        guard let servedVersion else { return false }
        return servedVersion != configuredVersion
    }
}
