import TokenWatchModel

extension PageEventKind {
    /// The log entry's kind in words, as the report's Log shows it.
    public var phrase: String {
        switch self {
        case .connected: "Connected"
        case .renewed: "Renewed (new token)"
        case .renamed: "Renamed"
        case .disconnected: "Disconnected"
        case .becameValid: "Became valid"
        case .becameInvalid: "Became invalid"
        case .permissionsChanged: "Permissions changed"
        case .ownerNotified: "Owner notified"
        case .notificationHeld: "Notification held"
        case .notificationDropped: "Notification dropped"
        case .notificationFailed: "Notification failed"
        case .expiringWarned: "Expiry warning sent"
        case .unrecognized: "Unrecognized event"
        }
    }
}

extension PageEvent {
    /// The event's kind in words; an unrecognized kind shows its stored name.
    public var phrase: String {
        kind == .unrecognized ? "Unrecognized event “\(kindName)”" : kind.phrase
    }
}
