import Foundation
import Testing

@testable import TokenWatchMail
@testable import TokenWatchModel
@testable import TokenWatchTemplates

/// The digests Owners act on: a subject naming the company and the platform, sections
/// "Reconnect now", "Your platform's team is on it", "Expiring soon" and "Back to Valid", one
/// plain sentence per page, and no internal tool name unless it is the configured one.
@Suite("Digest sections and wording")
struct DigestSectionsTests {
    static func composer(_ options: DigestOptions = DigestOptions(productName: "Talkpush")) throws -> DigestComposer {
        try DigestComposer(
            templates: try TemplateSet(), from: "alerts@talkpush.example", renewURLTemplate: nil, options: options)
    }

    static func parse(_ entries: [DigestEntry], options: DigestOptions = DigestOptions(productName: "Talkpush"))
        async throws -> ParsedEmail
    {
        let message = try composer(options).compose(MailFixtures.digest(entries), now: MailFixtures.now)
        WireFormat.check(message.data)
        return try await PythonEmail.parse(message.data)
    }

    static func entry(
        _ kind: NoticeKind = .invalid, company: String = "Acme Outfitters", id: String, reason: InvalidReason? = nil
    ) -> DigestEntry {
        DigestEntry(
            kind: kind, company: company, pageID: id, pageName: "Page \(id)", reason: reason, since: MailFixtures.since)
    }

    @Test("the subject names the company and the platform; several companies get a short list")
    func subjects() async throws {
        let three = ["1", "2", "3"].map { Self.entry(id: $0, reason: .loggedOut) }
        #expect(try await Self.parse(three).subject == "Acme Outfitters: 3 Facebook Pages disconnected from Talkpush")
        #expect(
            try await Self.parse([Self.entry(id: "1", reason: .expired)]).subject
                == "Acme Outfitters: Facebook Page \"Page 1\" disconnected from Talkpush")
        let two = [
            Self.entry(id: "1", reason: .expired), Self.entry(company: "Brightside", id: "2", reason: .expired),
        ]
        #expect(
            try await Self.parse(two).subject
                == "Acme Outfitters and Brightside: 2 Facebook Pages disconnected from Talkpush"
        )
        let many = two + [Self.entry(company: "Cobalt", id: "3", reason: .expired)]
        #expect(
            try await Self.parse(many).subject
                == "Acme Outfitters and 2 more companies: 3 Facebook Pages disconnected from Talkpush")
        #expect(
            try await Self.parse([Self.entry(.recovered, id: "9")]).subject
                == "Acme Outfitters: Facebook Page \"Page 9\" is connected to Talkpush again")
        // Without a configured name the platform is TokenWatch.
        #expect(
            try await Self.parse([Self.entry(id: "1", reason: .expired)], options: DigestOptions()).subject
                == "Acme Outfitters: Facebook Page \"Page 1\" disconnected from TokenWatch")
    }

    @Test("sections in order, each page with what happened and what to do; no version in the footer")
    func sections() async throws {
        let parsed = try await Self.parse([
            Self.entry(id: "1", reason: .pageRoleRemoved), Self.entry(id: "2", reason: .unconfirmedAccount),
            Self.entry(id: "3", reason: .otherApp(appID: "999")), Self.entry(.expiring, id: "4"),
            Self.entry(.recovered, id: "5"),
        ])
        let text = try #require(parsed.text)
        let headings = [
            "== Reconnect now ==", "== Your platform's team is on it ==", "== Expiring soon ==", "== Back to Valid ==",
        ]
        let positions = headings.compactMap { text.range(of: $0)?.lowerBound }
        #expect(positions.count == headings.count, "\(text)")
        #expect(positions == positions.sorted())
        #expect(
            text.contains(
                "a Page admin must click Generate New Token and log in with Facebook again, keeping this Page selected."
            ))
        #expect(text.contains("the admin must confirm their account on facebook.com"))
        #expect(text.contains("belongs to another Facebook app. Your platform's team is on it: nothing to do."))
        #expect(text.contains("Valid again since"))
        #expect(text.contains("Do not deselect"))
        #expect(text.contains("--\nTalkpush, "))
        #expect(!text.contains("TokenWatch"))
        #expect(!text.contains(TokenWatchVersion.current))
        let html = try #require(parsed.html)
        for heading in ["Reconnect now", "Your platform&#39;s team is on it", "Expiring soon", "Back to Valid"] {
            #expect(html.contains(heading), "\(heading)")
        }
        #expect(!html.contains("TokenWatch"))
    }

    @Test("every invalid reason has one sentence an Owner can act on")
    func actions() {
        let reasons: [InvalidReason] = [
            .appRemoved, .securityCheckpoint, .passwordChanged, .expired, .unconfirmedAccount, .revoked, .loggedOut,
            .pageRoleRemoved, .sessionEnded, .tokenInvalid, .permissionError, .missingPermissions(["pages_messaging"]),
            .notAPageToken(type: "USER"), .otherPage(profileID: "1"), .otherApp(appID: "2"),
        ]
        for reason in reasons {
            let action = reason.ownerAction(product: "Talkpush")
            #expect(action.hasSuffix("."), "\(reason)")
            if reason.isPlatformSide {
                #expect(action.contains("Your platform's team is on it"), "\(reason)")
            } else {
                #expect(action.contains("log in with Facebook again"), "\(reason)")
            }
        }
        #expect(InvalidReason.otherApp(appID: "2").isPlatformSide)
        #expect(InvalidReason.notAPageToken(type: "USER").isPlatformSide)
        #expect(InvalidReason.permissionError.isPlatformSide)
        #expect(!InvalidReason.missingPermissions(["x"]).isPlatformSide)
    }

    @Test("the platform team's digest lists the pages with their stored cause")
    func platformTeam() async throws {
        let digest = Digest(
            recipient: "ops@talkpush.example",
            entries: [Self.entry(id: "7", reason: .notAPageToken(type: "USER"))], key: "ops:1", forPlatformTeam: true)
        let parsed = try await PythonEmail.parse(try Self.composer().compose(digest, now: MailFixtures.now).data)
        #expect(
            parsed.subject
                == "Acme Outfitters: Facebook Page \"Page 7\" disconnected from Talkpush, for the platform team")
        let text = try #require(parsed.text)
        #expect(text.contains("== For the platform team =="))
        #expect(text.contains("not a Page token (type USER)"))
        #expect(!text.contains("Owner access"))
    }
}
