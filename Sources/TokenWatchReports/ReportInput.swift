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
        generatedAt: Date, run: RunOutcome? = nil, notifications: [String: PageNotification] = [:],
        pages: [PageRecord] = [],
        recentEvents: [String: [PageEvent]] = [:], changedPageIDs: Set<String> = [],
        expiryWarningDays: Int = 14, notices: [String] = []
    ) {
        self.generatedAt = generatedAt
        self.run = run
        self.notifications = notifications
        self.pages = pages
        self.recentEvents = recentEvents
        self.changedPageIDs = changedPageIDs
        self.expiryWarningDays = expiryWarningDays
        self.notices = notices
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
