import Foundation
import Testing

@testable import TokenWatchMail
@testable import TokenWatchModel

@Suite("MIME encoding")
struct MailMIMETests {
    /// The payloads of the encoded-words in a header field, decoded one by one.
    private func encodedWordPayloads(_ field: String) -> [[UInt8]] {
        field.split(separator: " ").compactMap { word -> [UInt8]? in
            guard word.hasPrefix("=?UTF-8?B?"), word.hasSuffix("?=") else { return nil }
            let base64 = word.dropFirst("=?UTF-8?B?".count).dropLast(2)
            return Data(base64Encoded: String(base64)).map { Array($0) }
        }
    }

    @Test("Encoded-words never split a character and stay within the RFC 2047 and line limits")
    func encodedWords() {
        let subjects = [
            "Café Ünïcode 🚀 " + String(repeating: "é", count: 100),
            String(repeating: "🚀", count: 50),
            String(repeating: "👩‍👩‍👧‍👦", count: 12),
            "עמוד " + String(repeating: "עברית ", count: 30),
            String(repeating: "a", count: 200),
            "Z\u{0301}\u{0302}\u{0303}\u{0304}\u{0305}\u{0306}\u{0307}\u{0308}\u{0309}\u{030A}\u{030B}\u{030C}\u{030D}\u{030E}\u{030F}\u{0310}\u{0311}\u{0312}",
        ]
        for subject in subjects {
            let field = HeaderText.unstructuredField("Subject", subject)
            let lines = field.components(separatedBy: "\r\n")
            for (index, line) in lines.enumerated() {
                #expect(line.utf8.count <= 78, "\(line)")
                #expect(!line.contains("\r") && !line.contains("\n"))
                if index > 0 { #expect(line.hasPrefix(" ")) }
            }
            let unfolded = lines.joined()
            var decoded: [UInt8] = []
            for payload in encodedWordPayloads(unfolded) {
                #expect(String(validating: payload, as: UTF8.self) != nil, "an encoded-word splits a character")
                decoded += payload
            }
            for word in unfolded.split(separator: " ") where word.hasPrefix("=?") {
                #expect(word.count <= 75)
            }
            if subject.utf8.allSatisfy({ $0 < 0x80 }) {
                #expect(unfolded == "Subject: " + subject || String(decoding: decoded, as: UTF8.self) == subject)
            } else {
                #expect(String(decoding: decoded, as: UTF8.self) == HeaderText.neutralised(subject))
            }
        }
    }

    @Test("A plain ASCII subject folds at spaces and stays readable")
    func asciiFolding() {
        let subject = (1...30).map { "word\($0)" }.joined(separator: " ")
        let field = HeaderText.unstructuredField("Subject", subject)
        #expect(!field.contains("=?"))
        #expect(field.components(separatedBy: "\r\n").allSatisfy { $0.utf8.count <= 78 })
        #expect(field.replacingOccurrences(of: "\r\n", with: "") == "Subject: " + subject)
    }

    @Test("Text that looks like an encoded-word is encoded, not passed through")
    func fakeEncodedWord() {
        let field = HeaderText.unstructuredField("Subject", "=?UTF-8?B?RXZpbA==?=")
        #expect(field.hasPrefix("Subject: =?UTF-8?B?"))
        #expect(!field.contains("RXZpbA==?="))
    }

    @Test("Control characters are neutralised")
    func neutralise() {
        #expect(HeaderText.neutralised("a\r\nb\tc\u{0}d\u{7F}e\u{85}f\u{2028}g  h ") == "a b c d e f g h")
        #expect(HeaderText.neutralised("\r\n") == "")
    }

    @Test("The boundary occurs in neither body: a body holding it moves it on")
    func boundaryAvoidsTheBodies() {
        let stem = MIMEMessage.boundary(for: "digest.1@example.com", avoiding: [])
        #expect(stem.hasPrefix("=_TokenWatch_"))
        // "=_" alone, or the stem's start, does not move it; the stem itself does, and so does
        // the next candidate.
        #expect(MIMEMessage.boundary(for: "digest.1@example.com", avoiding: ["a=_b", "=_TokenWatch"]) == stem)
        #expect(MIMEMessage.boundary(for: "digest.1@example.com", avoiding: ["x\(stem)y", "plain"]) == stem + "_2")
        #expect(
            MIMEMessage.boundary(for: "digest.1@example.com", avoiding: ["plain", "--\(stem) --\(stem)_2"])
                == stem + "_3")
        #expect(MIMEMessage.holdsEqualsUnderscore("a=_") && !MIMEMessage.holdsEqualsUnderscore("=3D_ _= ="))
    }

    @Test("Quoted-printable lines stay within 76 characters and decode back")
    func quotedPrintable() throws {
        let samples = [
            String(repeating: "é", count: 200),
            String(repeating: "x", count: 75) + "=" + String(repeating: "y", count: 200),
            "trailing space   \nand tab\t\n.leading dot\nFrom the start\n" + String(repeating: "🚀", count: 40),
            "line\r\nwith\rmixed\nbreaks",
            String(repeating: " ", count: 100) + "x",
        ]
        for sample in samples {
            let encoded = QuotedPrintable.encode(sample)
            for line in encoded.components(separatedBy: "\r\n") {
                #expect(line.utf8.count <= 76)
                #expect(line.utf8.allSatisfy { $0 >= 0x20 && $0 < 0x7F })
                #expect(!line.hasSuffix(" ") && !line.hasSuffix("\t"))
                #expect(!line.hasPrefix("."))
                #expect(!line.hasPrefix("From "))
                #expect(!line.contains("=_"))
            }
            let expected = sample.replacingOccurrences(of: "\r\n", with: "\n").replacingOccurrences(
                of: "\r", with: "\n")
            #expect(try decodeQP(encoded) == expected)
        }
    }

    @Test("A whole message: RFC 5322 date in UTC, boundary absent from the bodies, parts in order")
    func message() async throws {
        let message = MIMEMessage(
            from: try MailAddress(mailbox: "Ops <ops@example.com>", role: "test"),
            to: [
                try MailAddress(address: "a@example.com", role: "test"),
                try MailAddress(address: "b@example.com", role: "test"),
            ],
            subject: "Hello ✓", date: Date(timeIntervalSince1970: 0), messageID: "x.1@example.com",
            text: "--=_TokenWatch_ fake boundary\n", html: "<p>hi</p>\n")
        let bytes = message.rendered()
        WireFormat.check(bytes)
        let parsed = try await PythonEmail.parse(bytes)
        #expect(parsed.date == "Thu, 01 Jan 1970 00:00:00 +0000")
        #expect(parsed.to == ["a@example.com", "b@example.com"])
        #expect(parsed.subject == "Hello ✓")
        #expect(parsed.parts.map(\.contentType) == ["text/plain", "text/html"])
        #expect(parsed.text == "--=_TokenWatch_ fake boundary\n")
        #expect(parsed.html == "<p>hi</p>\n")
        #expect(parsed.boundary?.hasPrefix("=_TokenWatch_") == true)
        #expect(parsed.defects.isEmpty)
        #expect(UTCTime.rfc5322(Date(timeIntervalSince1970: 1_764_390_780)) == "Sat, 29 Nov 2025 04:33:00 +0000")
        #expect(UTCTime.rfc5322(Date(timeIntervalSince1970: 951_782_400)) == "Tue, 29 Feb 2000 00:00:00 +0000")
    }

    @Test("Addresses are validated")
    func addresses() throws {
        for good in ["a@b.example", "first.last+tag@sub.example.co", "x_y-z@localhost"] {
            #expect(try MailAddress(address: good, role: "test").address == good)
        }
        for bad in [
            "", "a", "a@", "@b", "a@b@c", "a b@c", "a@b c", "<a@b>", "a@b\r\n", "a\r\nBcc: x@y", "é@b.example",
            "a..b@c", ".a@b", "a@-b.example", "a@b..example", "a@[127.0.0.1]", "\"a\"@b", "a@b.example,c@d.example",
        ] {
            #expect(throws: MailError.self, "\(bad.debugDescription)") { try MailAddress(address: bad, role: "test") }
        }
        let named = try MailAddress(mailbox: "  \"Ops, Team\" <ops@example.com> ", role: "test")
        #expect(named.displayName == "Ops, Team")
        #expect(named.address == "ops@example.com")
        #expect(named.domain == "example.com")
        #expect(try MailAddress(mailbox: "ops@example.com", role: "test").displayName == nil)
        #expect(throws: MailError.self) { try MailAddress(mailbox: "Ops <ops@example.com\r\nBcc: x@y>", role: "test") }
    }

    /// A strict quoted-printable decoder for the round trip (soft breaks joined, CRLF → LF).
    private func decodeQP(_ encoded: String) throws -> String {
        var bytes: [UInt8] = []
        let lines = encoded.components(separatedBy: "\r\n")
        for (index, line) in lines.enumerated() {
            var chars = Array(line.utf8)
            let soft = chars.last == UInt8(ascii: "=")
            if soft { chars.removeLast() }
            var i = 0
            while i < chars.count {
                if chars[i] == UInt8(ascii: "=") {
                    let hex = String(decoding: chars[(i + 1)..<(i + 3)], as: UTF8.self)
                    bytes.append(try #require(UInt8(hex, radix: 16)))
                    i += 3
                } else {
                    bytes.append(chars[i])
                    i += 1
                }
            }
            if !soft, index < lines.count - 1 { bytes.append(0x0A) }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
