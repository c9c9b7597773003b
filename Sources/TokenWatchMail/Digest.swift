import Foundation
import TokenWatchModel

/// One Owner's email: every page of theirs to tell about, across all their companies.
///
/// The outbox builds it from its pending rows; `DigestComposer` turns it into a `MailMessage`.
public struct Digest: Sendable, Equatable {
    /// The one Owner address this digest goes to (a bare address).
    public var recipient: String
    /// Every page in this digest, from any of this Owner's companies, in any order: the
    /// composer groups them by company and page name.
    public var entries: [DigestEntry]
    /// A stable identity for this digest (for example derived from its outbox row ids). The
    /// Message-ID derives from it, so a retry of the same digest reuses the same Message-ID.
    public var key: String
    /// True for the digest sent to the platform team (TOKENWATCH_OPS_EMAIL) with the pages
    /// whose cause only the platform can fix; false for an Owner's.
    public var forPlatformTeam: Bool

    /// Creates a digest for one Owner (or, with `forPlatformTeam`, for the platform team).
    public init(recipient: String, entries: [DigestEntry], key: String, forPlatformTeam: Bool = false) {
        self.recipient = recipient
        self.entries = entries
        self.key = key
        self.forPlatformTeam = forPlatformTeam
    }
}

/// One page in a digest: what happened to it and since when.
public struct DigestEntry: Sendable, Equatable {
    /// Why the page is in the digest.
    public var kind: NoticeKind
    /// The company (tenant) the page belongs to.
    public var company: String
    /// The Facebook Page ID.
    public var pageID: String
    /// The Page's name.
    public var pageName: String
    /// Why the token is invalid; nil for `.expiring` and `.recovered`.
    public var reason: InvalidReason?
    /// When the page became invalid; for `.expiring`, when the token expires; for
    /// `.recovered`, when it was found valid again.
    public var since: Date
    /// The token's hard end, when it has one.
    public var expiresAt: Date?

    /// Creates a digest entry.
    public init(
        kind: NoticeKind, company: String, pageID: String, pageName: String,
        reason: InvalidReason?, since: Date, expiresAt: Date? = nil
    ) {
        self.kind = kind
        self.company = company
        self.pageID = pageID
        self.pageName = pageName
        self.reason = reason
        self.since = since
        self.expiresAt = expiresAt
    }
}
