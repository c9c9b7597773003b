/// Where a page stands, in the seed dashboard's words: Valid, Invalid — plus the two states
/// TokenWatch needs beyond them: not yet decided, and no longer watched.
public enum PageStatus: String, Sendable, Codable, CaseIterable, Hashable {
    /// Never checked, or the last check could not decide (outage, rate limit).
    case unknown
    /// The token works and holds every required permission.
    case valid
    /// Meta no longer accepts the token, or it cannot serve the Messenger bot.
    case invalid
    /// An operator stopped watching the page; its token was erased.
    case disconnected

    /// The dashboard's capitalised word: "Valid", "Invalid", "Unknown", "Disconnected".
    public var label: String { rawValue.prefix(1).uppercased() + rawValue.dropFirst() }
}
