import Foundation
import Testing
import TokenWatchTestSupport

@testable import TokenWatchMail
@testable import TokenWatchModel
@testable import TokenWatchSystem
@testable import TokenWatchTemplates

/// What Python's `email` package (policy.default) makes of a message: an independent parser
/// to check ours against.
struct ParsedEmail: Decodable {
    struct Part: Decodable {
        var contentType: String
        var charset: String?
        var transferEncoding: String?
        var content: String
        var defects: [String]
    }

    var headerNames: [String]
    var subject: String?
    var fromDisplayName: String?
    var fromAddress: String?
    var to: [String]
    var date: String?
    var dateUTCOffsetSeconds: Double?
    var dateTimestamp: Double?
    var messageID: String?
    var contentType: String
    var boundary: String?
    var defects: [String]
    var parts: [Part]

    enum CodingKeys: String, CodingKey {
        case headerNames = "header_names"
        case subject
        case fromDisplayName = "from_display_name"
        case fromAddress = "from_address"
        case to, date
        case dateUTCOffsetSeconds = "date_utcoffset_seconds"
        case dateTimestamp = "date_timestamp"
        case messageID = "message_id"
        case contentType = "content_type"
        case boundary, defects, parts
    }

    /// The decoded text part, line ends as LF (Python keeps the wire's CRLF).
    var text: String? { parts.first { $0.contentType == "text/plain" }.map { Self.lf($0.content) } }
    /// The decoded HTML part, line ends as LF.
    var html: String? { parts.first { $0.contentType == "text/html" }.map { Self.lf($0.content) } }

    private static func lf(_ text: String) -> String { text.replacingOccurrences(of: "\r\n", with: "\n") }
}

enum PythonEmail {
    static let script = #"""
        import sys, json, email
        from email import policy
        raw = sys.stdin.buffer.read()
        msg = email.message_from_bytes(raw, policy=policy.default)
        def one(name):
            v = msg[name]
            return None if v is None else str(v)
        frm = msg["from"]
        addrs = frm.addresses if frm is not None else ()
        date = msg["date"]
        dt = date.datetime if date is not None else None
        out = {
            "header_names": list(msg.keys()),
            "subject": one("subject"),
            "from_display_name": addrs[0].display_name if addrs else None,
            "from_address": addrs[0].addr_spec if addrs else None,
            "to": [a.addr_spec for a in (msg["to"].addresses if msg["to"] is not None else ())],
            "date": one("date"),
            "date_utcoffset_seconds": dt.utcoffset().total_seconds() if dt is not None and dt.utcoffset() is not None else None,
            "date_timestamp": dt.timestamp() if dt is not None else None,
            "message_id": one("message-id"),
            "content_type": msg.get_content_type(),
            "boundary": msg.get_boundary(),
            "defects": [repr(d) for d in msg.defects],
            "parts": [],
        }
        for part in msg.walk():
            if part.is_multipart():
                out["defects"] += [repr(d) for d in part.defects]
                continue
            out["parts"].append({
                "contentType": part.get_content_type(),
                "charset": part.get_content_charset(),
                "transferEncoding": part["content-transfer-encoding"],
                "content": part.get_content(),
                "defects": [repr(d) for d in part.defects],
            })
        sys.stdout.write(json.dumps(out))
        """#

    /// Parses `bytes` with `python3` and returns what it decoded.
    static func parse(_ bytes: [UInt8]) async throws -> ParsedEmail {
        try JSONDecoder().decode(ParsedEmail.self, from: await PythonScript.run(script, input: Data(bytes)))
    }
}

/// Wire-format checks every message must pass.
enum WireFormat {
    /// The message split into lines; records any line that is not CRLF-terminated.
    static func lines(_ bytes: [UInt8]) -> (lines: [[UInt8]], bareLineEnds: Int, unterminated: Bool) {
        var lines: [[UInt8]] = []
        var current: [UInt8] = []
        var bare = 0
        var index = 0
        while index < bytes.count {
            let byte = bytes[index]
            if byte == 0x0D, index + 1 < bytes.count, bytes[index + 1] == 0x0A {
                lines.append(current)
                current = []
                index += 2
                continue
            }
            if byte == 0x0D || byte == 0x0A { bare += 1 }
            current.append(byte)
            index += 1
        }
        return (lines, bare, !current.isEmpty)
    }

    /// The header block as unfolded `Name: value` strings.
    static func headerFields(_ bytes: [UInt8]) -> [String] {
        var fields: [String] = []
        for line in lines(bytes).lines {
            if line.isEmpty { break }
            let text = String(decoding: line, as: UTF8.self)
            if text.first == " " || text.first == "\t", !fields.isEmpty {
                fields[fields.count - 1] += text
            } else {
                fields.append(text)
            }
        }
        return fields
    }

    /// Asserts: CRLF everywhere, every line ≤ 78 octets, only ASCII on the wire.
    static func check(_ bytes: [UInt8], sourceLocation: SourceLocation = #_sourceLocation) {
        let split = lines(bytes)
        #expect(split.bareLineEnds == 0, "bare CR or LF", sourceLocation: sourceLocation)
        #expect(!split.unterminated, "last line not CRLF-terminated", sourceLocation: sourceLocation)
        for line in split.lines where line.count > 78 {
            Issue.record(
                "line of \(line.count) octets: \(String(decoding: line, as: UTF8.self))", sourceLocation: sourceLocation
            )
        }
        #expect(bytes.allSatisfy { $0 < 0x80 }, "8-bit data on the wire", sourceLocation: sourceLocation)
    }
}

/// Fixtures shared by the mail tests.
enum MailFixtures {
    static let now = Date(timeIntervalSince1970: 1_764_390_780)  // Sat, 29 Nov 2025 04:33:00 UTC
    static let since = Date(timeIntervalSince1970: 1_764_300_000)  // 28 Nov 2025 03:20:00 UTC

    static func templates() throws -> TemplateSet { try TemplateSet() }

    static func composer(renew: String? = "https://app.example.com/facebook/renew?page={page_id}") throws
        -> DigestComposer
    {
        try DigestComposer(
            templates: templates(), from: "TokenWatch <tokenwatch@alerts.example.com>", renewURLTemplate: renew)
    }

    static func entry(
        _ kind: NoticeKind = .invalid, company: String = "Acme", id: String = "1000001",
        name: String = "Acme Careers", reason: InvalidReason? = .passwordChanged
    ) -> DigestEntry {
        DigestEntry(
            kind: kind, company: company, pageID: id, pageName: name, reason: kind == .expiring ? nil : reason,
            since: since)
    }

    static func digest(_ entries: [DigestEntry], to: String = "owner@acme.example", key: String = "outbox:1,2")
        -> Digest
    {
        Digest(recipient: to, entries: entries, key: key)
    }
}
