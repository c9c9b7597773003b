import Crypto
import Foundation
import TokenWatchModel

/// A multipart/alternative email — plain text first, then HTML — rendered to RFC 5322 bytes.
///
/// Every header value passes through `HeaderText`: control characters become spaces, non-ASCII
/// text becomes RFC 2047 encoded-words, and no header line passes 78 octets. Both bodies are
/// UTF-8 and quoted-printable (lines ≤ 76), every line ends in CRLF, and the boundary starts
/// with `=_`, which quoted-printable output can never contain.
public struct MIMEMessage: Sendable, Equatable {
    /// The sender, shown in `From`.
    public var from: MailAddress
    /// The recipients, shown in `To`.
    public var to: [MailAddress]
    /// The subject as text; neutralised and encoded when rendered.
    public var subject: String
    /// When the message was written; rendered in UTC (`+0000`).
    public var date: Date
    /// The Message-ID without angle brackets (`local@domain`, printable ASCII).
    public var messageID: String
    /// The plain-text alternative.
    public var text: String
    /// The HTML alternative.
    public var html: String

    /// Creates a message from its parts.
    public init(
        from: MailAddress, to: [MailAddress], subject: String, date: Date, messageID: String,
        text: String, html: String
    ) {
        self.from = from
        self.to = to
        self.subject = subject
        self.date = date
        self.messageID = messageID
        self.text = text
        self.html = html
    }

    /// The whole message: headers, a blank line, the multipart body; CRLF line ends.
    public func rendered() -> [UInt8] {
        let textPart = QuotedPrintable.encode(text)
        let htmlPart = QuotedPrintable.encode(html)
        let boundary = Self.boundary(for: messageID, avoiding: [textPart, htmlPart])

        var headers: [String] = []
        headers.append(HeaderText.mailboxField("From", from))
        var toFolder = HeaderFolder(name: "To")
        for (index, recipient) in to.enumerated() {
            toFolder.appendAtom(recipient.address + (index < to.count - 1 ? "," : ""))
        }
        headers.append(toFolder.result)
        headers.append(HeaderText.unstructuredField("Subject", subject))
        headers.append("Date: " + UTCTime.rfc5322(date))
        headers.append("Message-ID: <" + messageID + ">")
        headers.append("MIME-Version: 1.0")
        headers.append("Content-Type: multipart/alternative;\r\n boundary=\"\(boundary)\"")
        headers.append("Auto-Submitted: auto-generated")
        headers.append("X-Auto-Response-Suppress: All")

        var lines = headers
        lines.append("")
        lines.append("This is a multi-part message in MIME format.")
        lines.append("")
        for (type, body) in [("text/plain", textPart), ("text/html", htmlPart)] {
            lines.append("--" + boundary)
            lines.append("Content-Type: \(type); charset=utf-8")
            lines.append("Content-Transfer-Encoding: quoted-printable")
            lines.append("")
            lines.append(body)
        }
        lines.append("--" + boundary + "--")
        return Array((lines.joined(separator: "\r\n") + "\r\n").utf8)
    }

    /// A boundary derived from the Message-ID (so a retry renders the same bytes) that occurs
    /// in neither body. Quoted-printable never writes `=_`, so the first candidate always fits;
    /// the check is insurance, made cheap: a byte scan for `=_` settles it, and only a body
    /// holding one is searched for the candidate (Foundation's search, a tenth of composing a
    /// digest, ran for every message).
    static func boundary(for messageID: String, avoiding bodies: [String]) -> String {
        let digest = SHA256.hash(data: Data(messageID.utf8))
        let stem = "=_TokenWatch_" + digest.prefix(12).hexString
        let suspects = bodies.filter(Self.holdsEqualsUnderscore)
        var candidate = stem
        var counter = 1
        while suspects.contains(where: { $0.contains(candidate) }) {
            counter += 1
            candidate = stem + "_\(counter)"
        }
        return candidate
    }

    /// Whether `text` holds `=_`, the start of every boundary.
    static func holdsEqualsUnderscore(_ text: String) -> Bool {
        var afterEquals = false
        for byte in text.utf8 {
            if afterEquals && byte == UInt8(ascii: "_") { return true }
            afterEquals = byte == UInt8(ascii: "=")
        }
        return false
    }
}

extension Sequence<UInt8> {
    /// Lower-case hexadecimal, two digits per byte.
    var hexString: String {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        for byte in self {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0F)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}
