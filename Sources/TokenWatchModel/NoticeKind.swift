/// Why an Owner is told about a page: one row of the outbox, one entry of a digest.
public enum NoticeKind: String, Sendable, CaseIterable, Hashable {
    /// The page became invalid: the first notice.
    case invalid
    /// The page is still invalid: a later reminder.
    case reminder
    /// The token is still valid but expires soon.
    case expiring
    /// A page an Owner was told about is Valid again.
    case recovered

    /// True for the kinds that are news only while the page is invalid.
    public var needsInvalidPage: Bool { self == .invalid || self == .reminder }
}
