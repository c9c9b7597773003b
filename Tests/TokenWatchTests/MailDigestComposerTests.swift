import Foundation
import Testing

@testable import TokenWatch
@testable import TokenWatchMail
@testable import TokenWatchModel
@testable import TokenWatchTemplates

@Suite("Digest composer")
struct MailDigestComposerTests {
    @Test("A one-page digest parses back with subject, addresses, date, Message-ID and both parts")
    func onePage() async throws {
        let composer = try MailFixtures.composer()
        let message = try composer.compose(MailFixtures.digest([MailFixtures.entry()]), now: MailFixtures.now)
        WireFormat.check(message.data)
        let parsed = try await PythonEmail.parse(message.data)

        #expect(parsed.subject == "Acme: Facebook Page \"Acme Careers\" disconnected from TokenWatch")
        #expect(parsed.fromDisplayName == "TokenWatch")
        #expect(parsed.fromAddress == "tokenwatch@alerts.example.com")
        #expect(parsed.to == ["owner@acme.example"])
        #expect(parsed.date == "Sat, 29 Nov 2025 04:33:00 +0000")
        #expect(parsed.dateUTCOffsetSeconds == 0)
        #expect(parsed.dateTimestamp == MailFixtures.now.timeIntervalSince1970)
        #expect(parsed.messageID == "<\(message.messageID)>")
        #expect(message.messageID.hasSuffix("@alerts.example.com"))
        #expect(parsed.contentType == "multipart/alternative")
        #expect(parsed.defects.isEmpty)
        #expect(parsed.parts.map(\.contentType) == ["text/plain", "text/html"])
        for part in parsed.parts {
            #expect(part.charset == "utf-8")
            #expect(part.transferEncoding == "quoted-printable")
            #expect(part.defects.isEmpty)
        }
        #expect(message.envelopeFrom == "tokenwatch@alerts.example.com")
        #expect(message.envelopeTo == ["owner@acme.example"])

        let fields = WireFormat.headerFields(message.data)
        #expect(fields.contains("Auto-Submitted: auto-generated"))
        #expect(fields.contains("X-Auto-Response-Suppress: All"))
        #expect(fields.contains("MIME-Version: 1.0"))

        let text = try #require(parsed.text)
        #expect(text.hasPrefix("Hello,\n"))
        #expect(!text.contains("{{") && !text.contains("}}"))
        #expect(text.contains("== Reconnect now =="))
        #expect(text.contains("* Acme Careers (Acme, Page ID 1000001)"))
        #expect(text.contains(InvalidReason.passwordChanged.ownerAction(product: "TokenWatch")))
        #expect(text.contains("Invalid since 28 November 2025, 03:20 UTC"))
        #expect(text.contains("https://app.example.com/facebook/renew?page=1000001"))
        #expect(text.contains("Generate New Token"))
        #expect(text.contains("Log in with Facebook"))
        #expect(text.contains("Do not deselect"))
        let html = try #require(parsed.html)
        #expect(html.hasPrefix("<!DOCTYPE html>\n"))
        #expect(html.hasSuffix("</html>\n"))
        #expect(!html.contains("{{") && !html.contains("}}"))
        #expect(html.contains("href=\"https://app.example.com/facebook/renew?page=1000001\""))
        #expect(html.contains("Reconnect now"))
        #expect(html.contains("changed their Facebook password"))
        #expect(html.contains("28 November 2025, 03:20 UTC"))
    }

    @Test("Entries are grouped by company, then ordered by page name")
    func grouping() async throws {
        let composer = try MailFixtures.composer()
        let digest = MailFixtures.digest([
            MailFixtures.entry(company: "Zeta", id: "3", name: "Zeta Jobs", reason: .loggedOut),
            MailFixtures.entry(company: "Acme", id: "2", name: "Beta page", reason: .expired),
            MailFixtures.entry(
                company: "Acme", id: "1", name: "alpha page", reason: .missingPermissions(["pages_messaging"])),
        ])
        let message = try composer.compose(digest, now: MailFixtures.now)
        WireFormat.check(message.data)
        let parsed = try await PythonEmail.parse(message.data)
        #expect(parsed.subject == "Acme and Zeta: 3 Facebook Pages disconnected from TokenWatch")
        let text = try #require(parsed.text)
        let order = ["== Reconnect now ==", "alpha page (Acme", "Beta page (Acme", "Zeta Jobs (Zeta"].map {
            text.range(of: $0)?.lowerBound
        }
        #expect(order.allSatisfy { $0 != nil })
        let positions = order.compactMap { $0 }
        #expect(positions == positions.sorted())
        #expect(text.contains("lacks permissions the chatbot needs (pages_messaging)"))
        #expect(text.contains("You receive this email because you have Owner access to these companies."))
    }

    @Test("Reminders and expiry warnings are worded as such")
    func subjects() async throws {
        let composer = try MailFixtures.composer()
        func subject(_ entries: [DigestEntry]) async throws -> String? {
            try await PythonEmail.parse(composer.compose(MailFixtures.digest(entries), now: MailFixtures.now).data)
                .subject
        }
        #expect(
            try await subject([MailFixtures.entry(.reminder)])
                == "Reminder: Acme: Facebook Page \"Acme Careers\" still disconnected from TokenWatch")
        #expect(
            try await subject([MailFixtures.entry(.reminder), MailFixtures.entry(.reminder, id: "2", name: "B")])
                == "Reminder: Acme: 2 Facebook Pages still disconnected from TokenWatch")
        #expect(
            try await subject([MailFixtures.entry(.expiring)])
                == "Acme: Facebook Page \"Acme Careers\" connection to TokenWatch expires soon")
        #expect(
            try await subject([MailFixtures.entry(.expiring), MailFixtures.entry(.expiring, id: "2", name: "B")])
                == "Acme: 2 Facebook Page connections to TokenWatch expire soon")
        #expect(
            try await subject([MailFixtures.entry(.invalid), MailFixtures.entry(.reminder, id: "2", name: "B")])
                == "Acme: 2 Facebook Pages disconnected from TokenWatch")
        #expect(
            try await subject([MailFixtures.entry(.invalid), MailFixtures.entry(.expiring, id: "2", name: "B")])
                == "Acme: Facebook Page \"Acme Careers\" disconnected from TokenWatch, 1 more expiring soon")
    }

    @Test("Unicode company and page names decode right in the subject and both bodies")
    func unicode() async throws {
        let composer = try MailFixtures.composer()
        let names = ["Café Ünïcode 🚀", "עמוד", "日本語のページ名前がとても長い場合のテスト👩‍👩‍👧‍👦👩‍👩‍👧‍👦👩‍👩‍👧‍👦"]
        for name in names {
            let message = try composer.compose(
                MailFixtures.digest([MailFixtures.entry(company: "Société Générale ✓", name: name)]),
                now: MailFixtures.now)
            WireFormat.check(message.data)
            let parsed = try await PythonEmail.parse(message.data)
            #expect(parsed.defects.isEmpty)
            #expect(parsed.subject == "Société Générale ✓: Facebook Page \"\(name)\" disconnected from TokenWatch")
            #expect(parsed.text?.contains(name) == true)
            #expect(parsed.text?.contains("(Société Générale ✓, Page ID") == true)
            #expect(parsed.html?.contains(name) == true)
            #expect(parsed.html?.contains("Société Générale ✓") == true)
        }
    }

    @Test("A header cannot be injected through a page or company name")
    func headerInjection() async throws {
        let composer = try MailFixtures.composer()
        let hostile = [
            "Evil\r\nBcc: x@y", "Evil\nBcc: x@y", "Evil\rBcc: x@y", "Evil\u{85}Bcc: x@y", "Evil\u{2028}Bcc: x@y",
            "Evil\r\n\r\nbody", "=?UTF-8?B?RXZpbA0KQmNjOiB4QHk=?=",
        ]
        for name in hostile {
            let message = try composer.compose(
                MailFixtures.digest([MailFixtures.entry(company: name, name: name)]), now: MailFixtures.now)
            WireFormat.check(message.data)
            let parsed = try await PythonEmail.parse(message.data)
            #expect(
                parsed.headerNames == [
                    "From", "To", "Subject", "Date", "Message-ID", "MIME-Version", "Content-Type", "Auto-Submitted",
                    "X-Auto-Response-Suppress",
                ])
            #expect(parsed.parts.count == 2)
            let subject = try #require(parsed.subject)
            #expect(!subject.contains("\r") && !subject.contains("\n"))
            #expect(parsed.text?.contains("\nBcc: x@y") == false)
        }
    }

    @Test("HTML escapes every value; no script survives")
    func htmlEscaping() async throws {
        let composer = try MailFixtures.composer()
        let evil = "<script>alert(1)</script>"
        let message = try composer.compose(
            MailFixtures.digest([
                MailFixtures.entry(company: "\"><img src=x onerror=alert(1)>", id: "<b>1</b>", name: evil)
            ]),
            now: MailFixtures.now)
        WireFormat.check(message.data)
        let parsed = try await PythonEmail.parse(message.data)
        let html = try #require(parsed.html)
        #expect(!html.contains("<script"))
        #expect(!html.contains("<img"))
        #expect(!html.contains("<b>1"))
        #expect(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"))
        // Text parts are not HTML: the name appears as written.
        #expect(parsed.text?.contains(evil) == true)
        #expect(
            parsed.subject == "\"><img src=x onerror=alert(1)>: Facebook Page \"\(evil)\" disconnected from TokenWatch")
        // The page ID is percent-encoded in the link.
        #expect(html.contains("page=%3Cb%3E1%3C%2Fb%3E"))
    }

    @Test("The built-in HTML template never writes a value unescaped")
    func noTripleMustache() {
        let source = TemplateSet.Name.digestHTML.builtInSource
        #expect(!source.contains("{{{"))
        #expect(!source.contains("{{&"))
    }

    @Test("Very long names: the subject is shortened, every line stays within 78 octets")
    func longNames() async throws {
        let composer = try MailFixtures.composer()
        let long = String(repeating: "Very long page name ", count: 40) + String(repeating: "X", count: 300)
        let unicodeLong = String(repeating: "Ünïcödé🚀", count: 120)
        for name in [long, unicodeLong] {
            let message = try composer.compose(
                MailFixtures.digest([MailFixtures.entry(company: name, name: name)]), now: MailFixtures.now)
            WireFormat.check(message.data)
            let parsed = try await PythonEmail.parse(message.data)
            #expect(parsed.defects.isEmpty)
            let subject = try #require(parsed.subject)
            #expect(subject.count <= DigestComposer.subjectLimit)
            #expect(subject.hasPrefix(String(name.prefix(20))))
            #expect(subject.contains("…: Facebook Page \"" + String(name.prefix(20))))
            #expect(subject.contains("…\" disconnected from TokenWatch"))
            #expect(parsed.text?.contains(name) == true)
            #expect(parsed.html?.contains(name) == true)
        }
    }

    @Test("The same digest key gives the same Message-ID; another key another one")
    func stableMessageID() async throws {
        let composer = try MailFixtures.composer()
        let first = try composer.compose(
            MailFixtures.digest([MailFixtures.entry()], key: "outbox:7,9"), now: MailFixtures.now)
        let retry = try composer.compose(
            MailFixtures.digest([MailFixtures.entry()], key: "outbox:7,9"),
            now: MailFixtures.now.addingTimeInterval(3600))
        let other = try composer.compose(
            MailFixtures.digest([MailFixtures.entry()], key: "outbox:8"), now: MailFixtures.now)
        #expect(first.messageID == retry.messageID)
        #expect(first.messageID != other.messageID)
        #expect(first.messageID == composer.messageID(forKey: "outbox:7,9"))
        #expect(try await PythonEmail.parse(retry.data).messageID == "<\(first.messageID)>")
        // A second composer (another run) derives the same one.
        #expect(try MailFixtures.composer().messageID(forKey: "outbox:7,9") == first.messageID)
    }

    @Test("The renew link substitutes the percent-encoded Page ID")
    func renewLink() async throws {
        let composer = try MailFixtures.composer(
            renew: "https://app.example.com/pages/{page_id}/renew?src=mail&id={page_id}")
        let message = try composer.compose(
            MailFixtures.digest([MailFixtures.entry(id: "1234567890")]), now: MailFixtures.now)
        let parsed = try await PythonEmail.parse(message.data)
        #expect(parsed.text?.contains("https://app.example.com/pages/1234567890/renew?src=mail&id=1234567890") == true)
        #expect(
            parsed.html?.contains("href=\"https://app.example.com/pages/1234567890/renew?src=mail&amp;id=1234567890\"")
                == true)
        #expect(RenewLink.percentEncoded("12 34/&?#é") == "12%2034%2F%26%3F%23%C3%A9")
    }

    @Test("Without a renew link the digest says to log in with Facebook again and use Generate New Token")
    func noRenewLink() async throws {
        for renew in [nil, ""] as [String?] {
            let composer = try MailFixtures.composer(renew: renew)
            let parsed = try await PythonEmail.parse(
                composer.compose(MailFixtures.digest([MailFixtures.entry()]), now: MailFixtures.now).data)
            let text = try #require(parsed.text)
            #expect(!text.contains("http"))
            #expect(text.contains("click Generate New Token and log in with Facebook again"))
            let html = try #require(parsed.html)
            #expect(!html.contains("href="))
            #expect(html.contains("Generate New Token"))
        }
    }

    @Test("Configuration is validated: sender, recipient, renew link")
    func validation() throws {
        let templates = try MailFixtures.templates()
        #expect(throws: MailError.self) {
            try DigestComposer(templates: templates, from: "not an address", renewURLTemplate: nil)
        }
        #expect(throws: MailError.self) {
            try DigestComposer(templates: templates, from: "a@b.example\r\nBcc: x@y", renewURLTemplate: nil)
        }
        for bad in [
            "javascript:alert(1)", "ftp://x.example/{page_id}", "https://x.example/a b", "/relative/{page_id}",
            "https://user:pw@x.example/{page_id}", "https://x.example/{pageid}",
        ] {
            #expect(throws: MailError.self, "\(bad)") {
                try DigestComposer(templates: templates, from: "a@b.example", renewURLTemplate: bad)
            }
        }
        let composer = try MailFixtures.composer()
        for bad in [
            "owner@acme.example\r\nBcc: x@y", "Owner <owner@acme.example>", "own er@acme.example", "owner", "a@b@c",
            "<owner@acme.example>", "",
        ] {
            #expect(throws: MailError.self, "\(bad.debugDescription)") {
                try composer.compose(MailFixtures.digest([MailFixtures.entry()], to: bad), now: MailFixtures.now)
            }
        }
        #expect(throws: MailError.self) { try composer.compose(MailFixtures.digest([]), now: MailFixtures.now) }
        do {
            _ = try composer.compose(
                MailFixtures.digest([MailFixtures.entry()], to: "x@y\r\nBcc: z@w"), now: MailFixtures.now)
        } catch {
            #expect(error.description.contains("recipient"))
            #expect(!error.description.contains("\r\n"))
        }
    }

    @Test("A non-ASCII sender name is RFC 2047-encoded; a quoted ASCII one survives")
    func senderNames() async throws {
        let templates = try MailFixtures.templates()
        for (from, name) in [
            ("Équipe TokenWatch 🚀 <alerts@example.com>", "Équipe TokenWatch 🚀"),
            ("\"Token \\\"Watch\\\" Team\" <alerts@example.com>", "Token \"Watch\" Team"),
            ("Ops\r\nBcc: x@y <alerts@example.com>", "Ops Bcc: x@y"),
        ] {
            let composer = try DigestComposer(templates: templates, from: from, renewURLTemplate: nil)
            let message = try composer.compose(MailFixtures.digest([MailFixtures.entry()]), now: MailFixtures.now)
            WireFormat.check(message.data)
            let parsed = try await PythonEmail.parse(message.data)
            #expect(parsed.fromDisplayName == name)
            #expect(parsed.fromAddress == "alerts@example.com")
            #expect(!parsed.headerNames.contains("Bcc"))
        }
    }

    @Test("Composing is deterministic")
    func deterministic() throws {
        let composer = try MailFixtures.composer()
        let digest = MailFixtures.digest([MailFixtures.entry(), MailFixtures.entry(id: "2", name: "Zed")])
        #expect(try composer.compose(digest, now: MailFixtures.now) == composer.compose(digest, now: MailFixtures.now))
    }
}
