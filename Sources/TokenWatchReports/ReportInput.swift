import Foundation
import TokenWatchModel

/// Everything a report shows, gathered by the caller: the pages as stored (without tokens),
/// their recent log, and what the run that produced it did. Renderers only read it.
public struct ReportInput: Sendable {
    /// Run start time (UTC); names the report files and is the "now" of expiry warnings.
    public var generatedAt: Date
    /// The outcome of the check run behind the report; nil for `tokenwatch report`
    /// regenerating from stored state.
    public var run: RunOutcome?
    /// Page ID → how its Owners heard of it (pages that became invalid, or wait for a digest).
    public var notifications: [String: PageNotification]
    /// Every page, disconnected ones included.
    public var pages: [PageRecord] {
        didSet { isInReportOrder = false }
    }
    /// True while `pages` is in report order (`putInReportOrder()`); any change to `pages` clears it.
    var isInReportOrder = false
    /// Page ID → its log entries, newest first: all of them, or the newest few when
    /// `logEntryCounts` says the page has more.
    public var recentEvents: [String: [PageEvent]]
    /// Page ID → how many log entries the page has in all; a page missing here has exactly
    /// the entries in `recentEvents`.
    public var logEntryCounts: [String: Int]
    /// Company → its Owners' addresses, sorted.
    public var owners: [String: [String]]
    /// Where the report was made: host, app, database, Graph version.
    public var origin: ReportOrigin
    /// For a report regenerated from stored state (`run` nil): the last check run on record.
    public var lastRun: StoredRun?
    /// Pages whose status changed in this run.
    public var changedPageIDs: Set<String>
    /// Pages whose `expires_at` (or data access) ends within this many days are flagged.
    public var expiryWarningDays: Int
    /// Banners for the top of the report: mass-invalidation hold, Graph version mismatch,
    /// companies without Owners, failed digests…
    public var notices: [String]

    public init(
        generatedAt: Date, run: RunOutcome? = nil, notifications: [String: PageNotification] = [:],
        pages: [PageRecord] = [],
        recentEvents: [String: [PageEvent]] = [:], changedPageIDs: Set<String> = [],
        expiryWarningDays: Int = 14, notices: [String] = [], logEntryCounts: [String: Int] = [:],
        owners: [String: [String]] = [:], origin: ReportOrigin = ReportOrigin(), lastRun: StoredRun? = nil
    ) {
        self.generatedAt = generatedAt
        self.run = run
        self.notifications = notifications
        self.pages = pages
        self.recentEvents = recentEvents
        self.changedPageIDs = changedPageIDs
        self.expiryWarningDays = expiryWarningDays
        self.notices = notices
        self.logEntryCounts = logEntryCounts
        self.owners = owners
        self.origin = origin
        self.lastRun = lastRun
    }
}

/// Where a report was made, for its header: auditors read a report away from the machine.
public struct ReportOrigin: Sendable, Equatable {
    /// The host that ran TokenWatch.
    public var host: String
    /// The Facebook app ID the tokens are checked against; nil when not configured.
    public var appID: String?
    /// The database, as configured (a path; a URL without its credentials).
    public var database: String
    /// The Graph API version configured (a run also says which one was served).
    public var configuredVersion: String

    public init(host: String = "", appID: String? = nil, database: String = "", configuredVersion: String = "") {
        self.host = host
        self.appID = appID
        self.database = database
        self.configuredVersion = configuredVersion
    }
}

/// The last check run on record, as a regenerated report names it.
public struct StoredRun: Sendable, Equatable {
    public var startedAt: Date
    public var endedAt: Date?
    public var actor: String
    /// "completed", "completed in part", … as the run record says.
    public var outcome: String
    public var exitCode: Int32?
    /// The file name of that run's HTML report when it is still in the reports directory.
    public var reportFile: String?

    public init(
        startedAt: Date, endedAt: Date? = nil, actor: String, outcome: String, exitCode: Int32? = nil,
        reportFile: String? = nil
    ) {
        self.startedAt = startedAt
        self.endedAt = endedAt
        self.actor = actor
        self.outcome = outcome
        self.exitCode = exitCode
        self.reportFile = reportFile
    }
}

/// How a page's Owners heard of it, as the report shows it beside a page that changed.
public struct PageNotification: Sendable, Equatable {
    /// Owner addresses a digest about the page went to in this run.
    public var notified: [String]
    /// Owner addresses whose notification waits: for a retry, or `--no-email`.
    public var pending: [String]
    /// Owner addresses whose notification the mass-invalidation guard holds.
    public var held: [String]

    public init(notified: [String] = [], pending: [String] = [], held: [String] = []) {
        self.notified = notified
        self.pending = pending
        self.held = held
    }
}
