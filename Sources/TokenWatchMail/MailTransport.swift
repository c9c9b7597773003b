import TokenWatchModel

/// Delivers a finished message. `SMTPTransport` speaks SMTP through libcurl; `FileTransport`
/// writes `.eml` files (demos, audits, dry environments).
public protocol MailTransport: Sendable {
    /// Hands one message over. Returns the server's final reply (or the file written) for the
    /// log; throws `MailError` when the message was not accepted.
    func send(_ message: MailMessage) async throws -> String
}

/// A message ready for the wire: envelope plus the RFC 5322 bytes (CRLF line ends).
public struct MailMessage: Sendable, Equatable {
    /// Envelope sender (MAIL FROM), a bare address.
    public var envelopeFrom: String
    /// Envelope recipients (RCPT TO), bare addresses.
    public var envelopeTo: [String]
    /// The Message-ID without angle brackets; stable for a digest so a retry reuses it.
    public var messageID: String
    /// The whole message: headers, blank line, body — CRLF line ends, lines ≤ 998 octets.
    public var data: [UInt8]

    public init(envelopeFrom: String, envelopeTo: [String], messageID: String, data: [UInt8]) {
        self.envelopeFrom = envelopeFrom
        self.envelopeTo = envelopeTo
        self.messageID = messageID
        self.data = data
    }
}

/// A message was not delivered. Descriptions carry the server's reply, never a password.
public enum MailError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The server refused (4xx transient, 5xx permanent), with its reply.
    case rejected(code: Int, reply: String)
    /// The server could not be reached or the exchange broke off.
    case transport(String)
    /// AUTH failed.
    case authentication(String)
    /// The transport is misconfigured (bad URL, missing sender).
    case configuration(String)
    /// The `.eml` file could not be written.
    case cannotWrite(path: String, reason: String)

    public var description: String {
        switch self {
        case .rejected(let code, let reply): "SMTP server refused (\(code)): \(reply)"
        case .transport(let why): "SMTP transport failed: \(why)"
        case .authentication(let why): "SMTP authentication failed: \(why)"
        case .configuration(let why): "mail transport misconfigured: \(why)"
        case .cannotWrite(let path, let reason): "cannot write mail file \(path): \(reason)"
        }
    }

    /// What is wrong, without the subsystem's prefix (for a setting's error message).
    public var reason: String {
        if case .configuration(let why) = self { return why }
        return description
    }

    /// True when a later attempt may succeed (4xx, transport failures).
    public var isTransient: Bool {
        switch self {
        case .rejected(let code, _): code < 500
        case .transport: true
        default: false
        }
    }
}
