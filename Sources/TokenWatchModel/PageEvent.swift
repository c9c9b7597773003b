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
}

/// One movement on a page, with when and who (`cron`, `cli:<user>`, …).
public struct PageEvent: Sendable, Equatable, Hashable {
    public var at: Date
    public var kind: PageEventKind
    public var actor: String
    /// Plain words about the movement (a reason, the permissions added and removed, an
    /// address notified). Never a token.
    public var detail: String?

    public init(at: Date, kind: PageEventKind, actor: String, detail: String? = nil) {
        self.at = at
        self.kind = kind
        self.actor = actor
        self.detail = detail
    }
}
