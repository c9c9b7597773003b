import CCurl
import Foundation
import GraphSimulator
import Testing

@testable import TokenWatchGraph
@testable import TokenWatchHTTP
@testable import TokenWatchMail
@testable import TokenWatchModel

/// Where outside text enters, it is redacted: the Graph client (whole-request errors, batch
/// items, `debug_token`'s `data.error`, `me/accounts`), the SMTP transport (replies) and the
/// HTTP client (libcurl's words). Against the simulator's and the SMTP sink's echoing modes
/// over real loopback; codes survive, secrets do not.
@Suite("Secret redaction at the boundaries", .serialized)
struct SecretRedactionTests {
    static let appID = "1234567890"
    static let appSecret = "app-secret-s3cr3t-77f1"
    static let appToken = "\(appID)|\(appSecret)"
    /// One token Facebook-shaped, one not: the second is removed only because the client knows it.
    static let pageTokens = [
        "EAAGm0PX4ZCpsBAKZBZC0ZCZBZCx7d3ZAfWkQ1001",
        GraphSimulator.token(.valid, page: "1002", suffix: "known"),
    ]
    static let userToken = "user-token-not-facebook-shaped-42"

    /// Runs `body` with a started simulator (the page tokens registered valid) and a real client.
    func withGraph(_ body: (GraphSimulator, GraphAPIClient) async throws -> Void) async throws {
        let simulator = GraphSimulator(appID: Self.appID, appSecret: Self.appSecret)
        try await simulator.start()
        simulator.register(token: Self.pageTokens[0], as: .valid, page: "1001")
        do {
            try await withCurlLoop { loop in
                let client = GraphAPIClient(
                    baseURL: simulator.baseURL, version: "v25.0", appToken: Secret(Self.appToken),
                    appSecret: Secret(Self.appSecret), http: CurlHTTPClient(loop: loop), timeoutSeconds: 10,
                    logger: LogRecorder().logger())
                try await body(simulator, client)
            }
            await simulator.stop()
        } catch {
            await simulator.stop()
            throw error
        }
    }

    static let secrets = [appSecret, appToken, userToken] + pageTokens

    /// Every secret that shows up in `text`.
    static func leaked(_ text: String) -> [String] {
        SecretSearch(secrets: secrets).findings(in: ["text": text])
    }

    @Test("a whole-request 190 quoting the app token keeps its code and loses the token")
    func rejection() async throws {
        try await withGraph { simulator, client in
            simulator.setFault(.echoingRejection)
            let error = await #expect(throws: GraphClientError.self) {
                _ = try await client.debugTokens(Self.pageTokens.map(Secret.init))
            }
            guard case .rejected(let graphError, 400, _, _)? = error else {
                Issue.record("got \(String(describing: error))")
                return
            }
            #expect(graphError.code == 190 && graphError.type == "OAuthException")
            #expect(graphError.message == "Malformed access token [redacted]")
            #expect(Self.leaked(String(describing: error)).isEmpty)
        }
    }

    @Test("a transient outage quoting every token of the batch keeps code 1 and loses the tokens")
    func outage() async throws {
        try await withGraph { simulator, client in
            simulator.setFault(.echoingOutage)
            let error = await #expect(throws: GraphClientError.self) {
                _ = try await client.debugTokens(Self.pageTokens.map(Secret.init))
            }
            guard case .rejected(let graphError, 500, _, _)? = error else {
                Issue.record("got \(String(describing: error))")
                return
            }
            #expect(graphError.code == 1 && graphError.isTransient)
            #expect(
                graphError.message
                    == "An unknown error occurred while processing [redacted], [redacted], [redacted]")
            #expect(Self.leaked(String(describing: error)).isEmpty)
        }
    }

    @Test("batch items quoting their input token: transient errors and data.error alike")
    func items() async throws {
        try await withGraph { simulator, client in
            simulator.setFault(.echoingTransientItems)
            let transient = try await client.debugTokens(Self.pageTokens.map(Secret.init))
            for outcome in transient.outcomes {
                guard case .graphError(let error, 500) = outcome else {
                    Issue.record("got \(outcome)")
                    continue
                }
                #expect(error.code == 2 && error.isTransient)
                #expect(error.message.contains("input_token [redacted]."), "\(error.message)")
            }
            #expect(Self.leaked("\(transient.outcomes)").isEmpty)

            simulator.clearFaults()
            simulator.setFault(.echoingInvalidItems)
            let invalid = try await client.debugTokens(Self.pageTokens.map(Secret.init))
            for outcome in invalid.outcomes {
                guard case .info(let info) = outcome, let error = info.error else {
                    Issue.record("got \(outcome)")
                    continue
                }
                #expect(!info.isValid && error.code == 190)
                #expect(error.message == "Malformed access token [redacted]")
            }
            #expect(Self.leaked("\(invalid.outcomes)").isEmpty)
        }
    }

    @Test("me/accounts: a refusal quoting the user token, and Page names quoting tokens")
    func accounts() async throws {
        try await withGraph { simulator, client in
            let pageToken = "EAAGpageTokenOfTheLoginPage0000000001"
            simulator.registerUser(
                token: Self.userToken,
                pages: [
                    SimulatedPage(
                        id: "3001", name: "Acme \(Self.userToken) and \(pageToken)", accessToken: pageToken)
                ])
            let granted = try await client.grantedPages(userToken: Secret(Self.userToken))
            #expect(granted.pages.map(\.name) == ["Acme [redacted] and [redacted]"])
            #expect(granted.pages.map(\.accessToken.reveal) == [pageToken], "the token itself is the payload")

            simulator.setFault(.echoingRejection)
            let refused = await #expect(throws: GraphClientError.self) {
                _ = try await client.grantedPages(userToken: Secret(Self.userToken))
            }
            guard case .rejected(let error, 400, _, _)? = refused else {
                Issue.record("got \(String(describing: refused))")
                return
            }
            #expect(error.code == 190 && error.message == "Malformed access token [redacted]")

            simulator.clearFaults()
            simulator.setFault(.echoingOutage)
            let outage = await #expect(throws: GraphClientError.self) {
                _ = try await client.grantedPages(userToken: Secret(Self.userToken))
            }
            #expect(Self.leaked(String(describing: refused) + String(describing: outage)).isEmpty)
            #expect(String(describing: outage).contains("[redacted]"))
        }
    }

    @Test("a 535 quoting the client's AUTH blob is .authentication without it", arguments: ["PLAIN", "LOGIN"])
    func smtpEcho(mechanism: String) async throws {
        let password = "smtp-pass-9c8b7a"
        let sink = try await SMTPTestServer.start(echoAuth: true, authMechanisms: [mechanism])
        do {
            try await withCurlLoop { loop in
                let transport = try SMTPTransport(
                    url: sink.url, username: "mailer", password: Secret(password), timeoutSeconds: 10, loop: loop)
                let error = await #expect(throws: MailError.self) {
                    _ = try await transport.send(SMTPTransportTests.message)
                }
                guard case .authentication(let reply)? = error else {
                    Issue.record("got \(String(describing: error))")
                    return
                }
                #expect(reply.hasPrefix("535 5.7.8 Authentication failed for [redacted]"), "\(reply)")
                let search = SecretSearch(secrets: [password, "mailer\0mailer\0\(password)", "\0mailer\0\(password)"])
                #expect(search.findings(in: ["error": String(describing: error)]).isEmpty)
                // The user's base64 is AUTH LOGIN's first blob: gone too.
                #expect(!reply.contains(Data("mailer".utf8).base64EncodedString()))
            }
            await sink.stop()
        } catch {
            await sink.stop()
            throw error
        }
    }

    @Test("libcurl's error words pass the HTTP client's redactor")
    func curlWords() {
        let token = "EAAGm0PX4ZCpsBAKZBZC0ZCZBZCx7d3ZAfWkQ1001"
        let result = CurlTransferResult(
            code: CURLE_COULDNT_CONNECT, reason: "Couldn't connect to server",
            detail: "Failed to connect to proxy for \(token) at secret-host-1f2e", responseCode: 0, headerLines: [],
            body: [], exceededLimit: false)
        let error = CurlHTTPClient.error(
            for: result, timeoutSeconds: 5, redactor: Redactor(secrets: [Secret("secret-host-1f2e")]))
        #expect(
            error
                == .connectionFailed(
                    "Couldn't connect to server (Failed to connect to proxy for [redacted] at [redacted])"))
    }
}
