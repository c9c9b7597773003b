/// A secret string (a token, the app secret, an SMTP password) that never prints itself:
/// interpolating it, logging it or dumping it shows `<redacted>`.
public struct Secret: Sendable, Hashable, CustomStringConvertible, CustomDebugStringConvertible,
    CustomReflectable
{
    /// The secret itself. Read it only where it is handed to the wire or the cipher.
    public let reveal: String

    public init(_ value: String) { self.reveal = value }

    public var description: String { "<redacted>" }
    public var debugDescription: String { "<redacted>" }
    public var customMirror: Mirror { Mirror(self, children: []) }
    public var isEmpty: Bool { reveal.isEmpty }
}
