import Testing

@testable import TokenWatchHTTP
@testable import TokenWatchMail
@testable import TokenWatchModel

/// `SMTPTransport` over real libcurl against aiosmtpd (`smtp_sink.py`) on loopback.
@Suite("SMTPTransport")
struct SMTPTransportTests {
    static let message = MailMessage(
        envelopeFrom: "alerts@tokenwatch.example",
        envelopeTo: ["owner@acme.example", "second@acme.example"],
        messageID: "digest-1@tokenwatch.example",
        data: Array(
            ("From: TokenWatch <alerts@tokenwatch.example>\r\nTo: owner@acme.example, second@acme.example\r\n"
                + "Subject: =?UTF-8?Q?Page_token_invalid?=\r\nMessage-ID: <digest-1@tokenwatch.example>\r\n"
                + "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
                + "Hello.\r\n.a line that starts with a dot\r\n..and two\r\n.\r\nCafé ✓\r\n").utf8))

    /// Runs `body` with a fresh sink and loop, stopping both afterwards.
    @discardableResult
    func withSink<T>(
        refuseRCPT: Int = 0, login: (user: String, password: String)? = nil,
        _ body: (SMTPTestServer, CurlEventLoop) async throws -> T
    ) async throws -> T {
        let sink = try await SMTPTestServer.start(refuseRCPT: refuseRCPT, login: login)
        do {
            let result = try await withCurlLoop { loop in try await body(sink, loop) }
            await sink.stop()
            return result
        } catch {
            await sink.stop()
            throw error
        }
    }

    @Test("a message arrives byte for byte with its envelope and the sender's domain as EHLO name")
    func delivers() async throws {
        try await withSink { sink, loop in
            let transport = try SMTPTransport(url: sink.url, timeoutSeconds: 10, loop: loop)
            let reply = try await transport.send(Self.message)

            #expect(reply.hasPrefix("250"))
            let received = try sink.receivedMessages()
            try #require(received.count == 1)
            #expect(received[0].data == Self.message.data)
            #expect(received[0].mailFrom == "alerts@tokenwatch.example")
            #expect(received[0].recipients == ["owner@acme.example", "second@acme.example"])
            #expect(received[0].heloName == "tokenwatch.example")
            #expect(received[0].authUser == nil)
        }
    }

    @Test("a 451 to RCPT is .rejected(451) and transient; the next attempt is accepted")
    func refusedRecipientThenAccepted() async throws {
        try await withSink(refuseRCPT: 1) { sink, loop in
            let transport = try SMTPTransport(url: sink.url, timeoutSeconds: 10, loop: loop)
            let error = await #expect(throws: MailError.self) { _ = try await transport.send(Self.message) }
            guard case .rejected(451, let reply)? = error else {
                Issue.record("got \(String(describing: error))")
                return
            }
            #expect(reply.contains("451"))
            #expect(error?.isTransient == true)
            #expect(try sink.receivedMessages().isEmpty)

            _ = try await transport.send(Self.message)
            #expect(try sink.receivedMessages().count == 1)
        }
    }

    @Test("a 451 after DATA is .rejected(451); the retry is accepted")
    func refusedDataThenAccepted() async throws {
        try await withSink { sink, loop in
            let transport = try SMTPTransport(url: sink.url, timeoutSeconds: 10, loop: loop)
            try sink.refuseNext(data: 1)
            let error = await #expect(throws: MailError.self) { _ = try await transport.send(Self.message) }
            guard case .rejected(451, _)? = error else {
                Issue.record("got \(String(describing: error))")
                return
            }
            #expect(try sink.receivedMessages().isEmpty)
            _ = try await transport.send(Self.message)
            #expect(try sink.receivedMessages().map(\.data) == [Self.message.data])
        }
    }

    @Test("AUTH with the right password is accepted; a wrong one is .authentication, never echoed")
    func authentication() async throws {
        let password = "pa55-w0rd!-SECRET"
        try await withSink(login: ("bot", password)) { sink, loop in
            let good = try SMTPTransport(
                url: sink.url, username: "bot", password: Secret(password), timeoutSeconds: 10, loop: loop)
            _ = try await good.send(Self.message)
            #expect(try sink.receivedMessages().map(\.authUser) == ["bot"])

            let wrong = "wrong-SECRET-guess"
            let bad = try SMTPTransport(
                url: sink.url, username: "bot", password: Secret(wrong), timeoutSeconds: 10, loop: loop)
            let error = await #expect(throws: MailError.self) { _ = try await bad.send(Self.message) }
            guard case .authentication? = error else {
                Issue.record("got \(String(describing: error))")
                return
            }
            #expect(!(error?.description.contains(wrong) ?? true))
            #expect(try sink.receivedMessages().count == 1)
        }
    }

    @Test("nothing listening is .transport")
    func wrongPort() async throws {
        let port = try SilentListener.closedPort()
        try await withCurlLoop { loop in
            let transport = try SMTPTransport(url: "smtp://127.0.0.1:\(port)", timeoutSeconds: 5, loop: loop)
            let error = await #expect(throws: MailError.self) { _ = try await transport.send(Self.message) }
            guard case .transport? = error else {
                Issue.record("got \(String(describing: error))")
                return
            }
            #expect(error?.isTransient == true)
        }
    }

    /// libcurl blocks a loop while it waits for the reply to the end of DATA; a loop of its own
    /// per exchange is what lets messages sent at once be on the server at once, and the pool's
    /// size bounds them. The sink holds each message 300 ms before its 250, so that they overlap.
    @Test(
        "messages sent at once are held by the server at once, as many as the pool has loops",
        arguments: [(pool: 3, messages: 3), (pool: 2, messages: 5)])
    func concurrentExchanges(pool size: Int, messages: Int) async throws {
        let sink = try await SMTPTestServer.start(delayDataMilliseconds: 300)
        let pool = CurlEventLoopPool(maximum: size)
        let transport = try SMTPTransport(url: sink.url, timeoutSeconds: 10, loops: pool)
        let replies = try await withThrowingTaskGroup(of: String.self, returning: [String].self) { group in
            for index in 0..<messages {
                var message = Self.message
                message.envelopeTo = ["owner\(index)@acme.example"]
                group.addTask { try await transport.send(message) }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        await pool.shutdown()
        let seen = try sink.concurrency()
        let received = try sink.receivedMessages()
        await sink.stop()

        #expect(replies.count == messages && replies.allSatisfy { $0.hasPrefix("250") })
        #expect(received.count == messages)
        #expect(Set(received.flatMap(\.recipients)).count == messages)
        #expect(seen.peakHeld == size, "\(seen)")
        #expect(seen.peak == size, "\(seen)")
    }

    @Test("tls=required refuses to send in clear to a server without STARTTLS")
    func tlsRequired() async throws {
        try await withSink { sink, loop in
            let transport = try SMTPTransport(url: sink.url + "?tls=required", timeoutSeconds: 10, loop: loop)
            #expect(transport.security == .startTLSRequired)
            let error = await #expect(throws: MailError.self) { _ = try await transport.send(Self.message) }
            guard case .transport? = error else {
                Issue.record("got \(String(describing: error))")
                return
            }
            #expect(try sink.receivedMessages().isEmpty)
        }
    }

    @Test("URLs it cannot use are configuration errors that never quote the URL")
    func badURLs() throws {
        for url in [
            "http://mail.example", "smtp://user:SECRET@mail.example", "smtp://mail.example/path",
            "smtp://mail.example?foo=bar", "smtp://mail.example?SECRET",
            "smtps://mail.example?tls=optional", "smtp://", "file:///tmp",
        ] {
            #expect(throws: MailError.self) { _ = try SMTPTransport(url: url) }
            do {
                _ = try SMTPTransport(url: url)
            } catch {
                #expect(!error.description.contains("SECRET"))
            }
        }
        #expect(try SMTPTransport(url: "smtps://mail.example").security == .implicitTLS)
        #expect(try SMTPTransport(url: "smtp://mail.example:587").security == .startTLSWhenOffered)
        #expect(try SMTPTransport(url: "smtp://mail.example:587?tls=optional").security == .startTLSWhenOffered)
        #expect(try SMTPTransport(url: "smtp://[::1]:2525/").security == .startTLSWhenOffered)
    }

    @Test("envelope addresses that could inject a command are refused before connecting")
    func envelopeInjection() async throws {
        var message = Self.message
        message.envelopeTo = ["owner@acme.example>\r\nRCPT TO:<evil@example.com"]
        let transport = try SMTPTransport(url: "smtp://127.0.0.1:1")
        await #expect(throws: MailError.self) { _ = try await transport.send(message) }
        message.envelopeTo = []
        await #expect(throws: MailError.self) { _ = try await transport.send(message) }
    }

    @Test("EHLO name: the sender's domain, or localhost when it is not a plain host name")
    func ehloName() {
        #expect(SMTPTransport.ehloName(for: "alerts@tokenwatch.example") == "tokenwatch.example")
        #expect(SMTPTransport.ehloName(for: "a@[192.0.2.1]") == "localhost")
        #expect(SMTPTransport.ehloName(for: "no-at-sign") == "localhost")
        #expect(SMTPTransport.ehloName(for: "x@") == "localhost")
    }
}
