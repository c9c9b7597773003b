import Foundation
import GraphSimulator
import Testing
import TokenWatchTestSupport

@testable import TokenWatch
@testable import TokenWatchMail
@testable import TokenWatchModel
@testable import TokenWatchStore
@testable import TokenWatchTemplates

/// Owner digests delivered over real SMTP (aiosmtpd on loopback), from the outbox a real
/// check filled: contents per Owner, unicode and hostile names, refusal then acceptance
/// exactly once, and no secret anywhere in a message.
@Suite("Digest delivery over SMTP", .serialized)
struct DigestDeliveryTests {
    static let smtpPassword = "smtp-pass-9c8b7a"

    func harness(_ sink: SMTPTestServer, login: Bool = false) async throws -> PipelineHarness {
        try await PipelineHarness { configuration in
            configuration.smtpURL = sink.url
            if login {
                configuration.smtpUser = "mailer"
                configuration.smtpPassword = Secret(Self.smtpPassword)
            }
        }
    }

    /// Parses a message with Python's `email` package (policy default) into its decoded parts.
    static func parse(_ data: [UInt8]) async throws -> [String: String] {
        let script = """
            import email, email.policy, json, sys
            m = email.message_from_bytes(sys.stdin.buffer.read(), policy=email.policy.default)
            out = {"subject": str(m["subject"]), "to": str(m["to"]), "from": str(m["from"]),
                   "message_id": str(m["message-id"]), "headers": "\\n".join(m.keys()),
                   "defects": str(len(m.defects))}
            for part in m.walk():
                if part.get_content_maintype() == "text":
                    out[part.get_content_type()] = part.get_content()
            print(json.dumps(out))
            """
        let output = try await PythonScript.run(script, input: Data(data))
        return (try JSONSerialization.jsonObject(with: output) as? [String: String]) ?? [:]
    }

    @Test func oneDigestPerOwnerWithEveryPageAndNamesDecodedRight() async throws {
        let sink = try await SMTPTestServer.start()
        let harness = try await harness(sink)
        let database = harness.workspace.database
        _ = try await database.addOwners(
            company: "Café Ünïcode 🚀", emails: ["shared@owners.example", "cafe@owners.example"], now: Date())
        _ = try await database.addOwners(
            company: "Evil\r\nBcc: victim@evil.example", emails: ["shared@owners.example"], now: Date())
        _ = try await database.upsertPages(
            [
                PageUpsert(
                    company: "Café Ünïcode 🚀", pageID: "1001", pageName: "Crêperie 🥞 עמוד",
                    token: Secret(GraphSimulator.token(.passwordChanged, page: "1001")), source: "t"),
                PageUpsert(
                    company: "Café Ünïcode 🚀", pageID: "1002", pageName: "Still fine",
                    token: Secret(GraphSimulator.token(.valid, page: "1002")), source: "t"),
                PageUpsert(
                    company: "Evil\r\nBcc: victim@evil.example", pageID: "2001", pageName: "<script>alert(1)</script>",
                    token: Secret(GraphSimulator.token(.loggedOut, page: "2001")), source: "t"),
            ], cipher: harness.workspace.cipher, actor: "t", now: Date())
        let result = try await harness.check()
        await harness.stop()
        #expect(result.outcome.status == .completed, "\(result.outcome.summary) \(result.outcome.reasons)")
        #expect(result.outcome.digests.sent == 2)
        let received = try sink.receivedMessages()
        await sink.stop()
        #expect(received.count == 2)
        let byRecipient = Dictionary(uniqueKeysWithValues: received.map { ($0.recipients.joined(), $0) })
        let shared = try #require(byRecipient["shared@owners.example"])
        let cafe = try #require(byRecipient["cafe@owners.example"])
        #expect(shared.heloName == "platform.example")

        let sharedParsed = try await Self.parse(shared.data)
        #expect(sharedParsed["defects"] == "0")
        #expect(sharedParsed["subject"]?.contains("2") == true)
        let text = sharedParsed["text/plain"] ?? ""
        let html = sharedParsed["text/html"] ?? ""
        #expect(text.contains("Crêperie 🥞 עמוד"))
        #expect(text.contains("Café Ünïcode 🚀"))
        #expect(text.contains("<script>alert(1)</script>"))
        #expect(!html.contains("<script>alert(1)</script>"))
        #expect(html.contains("&lt;script&gt;"))
        #expect(html.contains("https://dashboard.example/renew?page=1001"))
        #expect(!(sharedParsed["headers"] ?? "").lowercased().contains("bcc"))
        #expect(!text.contains("Still fine"))

        let cafeParsed = try await Self.parse(cafe.data)
        #expect(cafeParsed["text/plain"]?.contains("Crêperie 🥞 עמוד") == true)
        #expect(cafeParsed["text/plain"]?.contains("alert") == false)
        for message in received {
            let raw = String(decoding: message.data, as: UTF8.self)
            #expect(!raw.contains("simtok_"))
            #expect(!raw.contains(PipelineHarness.appSecret))
        }
    }

    @Test func aRefusedDigestStaysPendingAndIsSentExactlyOnceLater() async throws {
        let sink = try await SMTPTestServer.start(refuseDATA: 1, login: (user: "mailer", password: Self.smtpPassword))
        let harness = try await harness(sink, login: true)
        try await harness.seed([("3001", .passwordChanged), ("3002", .revoked)], owners: ["owner@acme.example"])
        let first = try await harness.check()
        #expect(first.outcome.status == .partial)
        #expect(first.outcome.digests.failed == 1)
        #expect(try sink.receivedMessages().isEmpty)
        let page = try #require(try await harness.page("3001"))
        #expect(page.status == .invalid)
        #expect(try await harness.workspace.database.outboxCounts().pending == 2)

        // The next attempt is due after the backoff: a notify a few minutes later sends it.
        let transport = try Services(configuration: harness.configuration, logger: harness.logger).mailTransport()
        let later = Notify(
            workspace: harness.workspace, templates: try TemplateSet(), transport: transport, logger: harness.logger,
            now: { Date().addingTimeInterval(600) })
        let sent = try await later.run(releaseHeld: false, dropHeld: false, actor: "cron")
        #expect(sent.status == .completed, "\(sent.summary)")
        let again = try await later.run(releaseHeld: false, dropHeld: false, actor: "cron")
        #expect(again.summary.contains("0 sent"))
        let rerun = try await harness.check()
        await harness.stop()
        #expect(rerun.outcome.digests.sent == 0)
        let received = try sink.receivedMessages()
        await sink.stop()
        #expect(received.count == 1)
        #expect(received.first?.authUser == "mailer")
        let raw = String(decoding: received.first?.data ?? [], as: UTF8.self)
        #expect(!raw.contains(Self.smtpPassword))
        #expect(!sent.summary.contains(Self.smtpPassword))
    }

    @Test func aWrongPasswordIsReportedWithoutThePassword() async throws {
        let sink = try await SMTPTestServer.start(login: (user: "mailer", password: "the-right-one"))
        let harness = try await harness(sink, login: true)
        try await harness.seed([("4001", .passwordChanged)])
        let result = try await harness.check()
        await harness.stop()
        await sink.stop()
        #expect(result.outcome.status == .partial)
        let lastError = try await harness.workspace.database.lastOutboxError()
        #expect(lastError != nil)
        #expect(lastError?.contains(Self.smtpPassword) == false)
        #expect(!result.outcome.reasons.joined().contains(Self.smtpPassword))
    }

    @Test func aDigestThatKeepsFailingIsMarkedFailedLoggedAndReported() async throws {
        let sink = try await SMTPTestServer.start(refuseDATA: 10)
        let harness = try await PipelineHarness { configuration in
            configuration.smtpURL = sink.url
            configuration.mailMaxAttempts = 2
        }
        try await harness.seed([("5001", .checkpoint)])
        let first = try await harness.check()
        #expect(first.outcome.status == .partial)
        let transport = try Services(configuration: harness.configuration, logger: harness.logger).mailTransport()
        let later = Notify(
            workspace: harness.workspace, templates: try TemplateSet(), transport: transport, logger: harness.logger,
            now: { Date().addingTimeInterval(3600) })
        let second = try await later.run(releaseHeld: false, dropHeld: false, actor: "cron")
        #expect(second.status == .partial)
        let counts = try await harness.workspace.database.outboxCounts()
        #expect(counts.failed == 1)
        #expect(counts.pending == 0)
        let (_, events) = try await harness.workspace.database.pageLog(pageID: "5001")
        #expect(events.last?.kind == .notificationFailed)
        #expect(events.last?.detail?.contains("451") == true)
        // The report says so; a later run does not try again.
        let report = try await harness.check()
        await harness.stop()
        await sink.stop()
        let html = try String(contentsOfFile: try #require(report.reportFiles).html, encoding: .utf8)
        #expect(html.contains("could not be delivered"))
        #expect(report.outcome.digests.sent == 0 && report.outcome.digests.failed == 0)
    }
}
