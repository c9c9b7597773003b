import Foundation

/// What happened to a page: one line of the dashboard's "Log" menu. The log is append-only.
public enum PageEventKind: String, Sendable, Codable, CaseIterable, Hashable {
    case connected
    case renewed
    case renamed
    case disconnected
    case becameValid = "became_valid"
    case becameInvalid = "became_invalid"
    case permissionsChanged = "permissions_changed"
    case ownerNotified = "owner_notified"
    case notificationHeld = "notification_held"
    case notificationDropped = "notification_dropped"
    case notificationFailed = "notification_failed"
    case expiringWarned = "expiring_warned"
    /// A kind this build does not know (written by a newer TokenWatch): shown as what it is,
    /// through `PageEvent.kindName`, never as another kind.
    case unrecognized
}

/// One movement on a page, with when and who (`cron`, `cli:<user>`, …).
public struct PageEvent: Sendable, Equatable, Hashable {
    public var at: Date
    public var kind: PageEventKind
    /// The kind as stored (`became_invalid`): the stable name JSON and tables show. For an
    /// `.unrecognized` kind, the name this build did not know.
    public var kindName: String
    public var actor: String
    /// Plain words about the movement (a reason, the permissions added and removed, an
    /// address notified). Never a token.
    public var detail: String?

    public init(at: Date, kind: PageEventKind, actor: String, detail: String? = nil) {
        self.init(at: at, kindName: kind.rawValue, actor: actor, detail: detail)
    }

    /// An event as stored: a kind name this build does not know is kept as `.unrecognized`.
    public init(at: Date, kindName: String, actor: String, detail: String? = nil) {
        self.at = at
        self.kind = PageEventKind(rawValue: kindName) ?? .unrecognized
        self.kindName = kindName
        self.actor = actor
        self.detail = detail
    }
}
