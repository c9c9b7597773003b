import Foundation

/// A watched Facebook Page as stored, without its token: what lists, reports and digests show.
public struct PageRecord: Sendable, Equatable, Hashable {
    /// The company (tenant) the page belongs to.
    public var company: String
    /// The Facebook Page ID (digits only).
    public var pageID: String
    /// The Page's name.
    public var pageName: String
    public var status: PageStatus
    /// Why the page is invalid; nil unless `status` is `.invalid`.
    public var reason: InvalidReason?
    /// Graph's error code and subcode behind the verdict or the last failed check.
    public var errorCode: Int?
    public var errorSubcode: Int?
    /// Since when the page has had its current status.
    public var statusSince: Date?
    /// The dashboard's "Updated Date": when the token was last connected or renewed.
    public var tokenUpdatedAt: Date
    public var lastCheckedAt: Date?
    /// The last check that could not decide (outage, rate limit), in words; never a secret.
    public var lastCheckError: String?
    /// Permissions granted to the token, as last seen.
    public var scopes: [String]
    /// Required permissions the token lacks, as last seen.
    public var missingScopes: [String]
    /// Hard end of the token; nil when it never expires (`expires_at` 0).
    public var expiresAt: Date?
    /// When the app's data access lapses unless the admin uses the app again.
    public var dataAccessExpiresAt: Date?

    public init(
        company: String, pageID: String, pageName: String, status: PageStatus = .unknown,
        reason: InvalidReason? = nil, errorCode: Int? = nil, errorSubcode: Int? = nil,
        statusSince: Date? = nil, tokenUpdatedAt: Date, lastCheckedAt: Date? = nil,
        lastCheckError: String? = nil, scopes: [String] = [], missingScopes: [String] = [],
        expiresAt: Date? = nil, dataAccessExpiresAt: Date? = nil
    ) {
        self.company = company
        self.pageID = pageID
        self.pageName = pageName
        self.status = status
        self.reason = reason
        self.errorCode = errorCode
        self.errorSubcode = errorSubcode
        self.statusSince = statusSince
        self.tokenUpdatedAt = tokenUpdatedAt
        self.lastCheckedAt = lastCheckedAt
        self.lastCheckError = lastCheckError
        self.scopes = scopes
        self.missingScopes = missingScopes
        self.expiresAt = expiresAt
        self.dataAccessExpiresAt = dataAccessExpiresAt
    }

    /// How `lastCheckError` starts for a page the last run never asked about (it was stopped,
    /// rate limited or out of time); the reason follows.
    public static let notCheckedPrefix = "not checked in the last run: "

    /// True when the last check asked about the page and could not decide (outage, malformed
    /// answer) or did not reach it: the status shown is the last one confirmed, not this run's.
    public var isUnconfirmed: Bool {
        status != .disconnected && !(lastCheckError ?? "").isEmpty
    }

    /// True when a non-zero `expires_at` falls within `days` of `now` (or has passed) — the
    /// "expiring" warning of reports. A near `data_access_expires_at` is only a softer note.
    public func isExpiring(now: Date, warningDays: Int) -> Bool {
        guard status != .disconnected, let expiresAt else { return false }
        return expiresAt.timeIntervalSince(now) <= Double(warningDays) * 86_400
    }

    /// True when data access has lapsed or lapses within `days` — a note, never a status.
    public func dataAccessEndingSoon(now: Date, warningDays: Int) -> Bool {
        guard status != .disconnected, let dataAccessExpiresAt else { return false }
        return dataAccessExpiresAt.timeIntervalSince(now) <= Double(warningDays) * 86_400
    }
}
