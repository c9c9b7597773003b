import Testing

@testable import TokenWatchHTTP
@testable import TokenWatchMail
@testable import TokenWatchModel

/// `CurlHTTPClient` and `CurlEventLoop` against real servers on loopback.
@Suite("CurlHTTPClient")
struct CurlHTTPClientTests {
    @Test("returns status, body and the final response's headers with lowercased names")
    func responseParts() async throws {
        let reply = LoopbackHTTPServer.Reply(
            status: 201, headers: [("X-Custom-Header", "Foo Bar"), ("Content-Type", "text/plain")],
            body: Array("hello".utf8))
        try await withHTTPServer(replying: reply) { server in
            try await withCurlLoop { loop in
                let response = try await CurlHTTPClient(loop: loop).send(
                    HTTPRequest(url: server.baseURL + "/x?y=1", timeoutSeconds: 60))

                #expect(response.status == 201)
                #expect(response.body == Array("hello".utf8))
                #expect(response.headers.contains { $0.name == "x-custom-header" && $0.value == "Foo Bar" })
                #expect(response.headers.allSatisfy { $0.name == $0.name.lowercased() })
                #expect(!response.headers.contains { $0.name.hasPrefix("http/") })
                #expect(response.header("X-CUSTOM-HEADER") == "Foo Bar")
                let seen = try #require(await server.requests().first)
                #expect(seen.method == "GET")
                #expect(seen.path == "/x")
                #expect(seen.query == "y=1")
                #expect(seen.headers["user-agent"] == "TokenWatch/\(TokenWatchVersion.current)")
            }
        }
    }

    @Test("a POST body arrives byte for byte, NULs and all, without waiting for 100-continue")
    func postBody() async throws {
        let body = (0..<20_000).map { UInt8(truncatingIfNeeded: $0 &* 7) }
        try await withHTTPServer(replying: .init(status: 200)) { server in
            try await withCurlLoop { loop in
                let response = try await CurlHTTPClient(loop: loop).send(
                    HTTPRequest(
                        method: "POST", url: server.baseURL + "/",
                        headers: [("Content-Type", "application/octet-stream")], body: body, timeoutSeconds: 60))

                #expect(response.status == 200)
                let seen = try #require(await server.requests().first)
                #expect(seen.method == "POST")
                #expect(seen.body == body)
                #expect(seen.headers["expect"] == nil)
                #expect(seen.headers["content-type"] == "application/octet-stream")
            }
        }
    }

    @Test("many requests are in flight at once on the one loop thread")
    func concurrency() async throws {
        let count = 24
        let gate = ArrivalGate(expected: count)
        let handler: LoopbackHTTPServer.Handler = { _ in
            await gate.pass()
            return .init(status: 200, body: Array("ok".utf8))
        }
        try await withHTTPServer(handler) { server in
            try await withCurlLoop(maxTotalConnections: 64) { loop in
                let client = CurlHTTPClient(loop: loop)
                // Every handler waits until all `count` are inside: this completes only when
                // the client has them in flight together. The timeout only bounds a failure.
                let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
                    for index in 0..<count {
                        group.addTask {
                            try await client.send(HTTPRequest(url: server.baseURL + "/\(index)", timeoutSeconds: 60))
                                .status
                        }
                    }
                    return try await group.reduce(into: []) { $0.append($1) }
                }
                await gate.openAll()

                #expect(statuses == Array(repeating: 200, count: count))
                #expect(await gate.maxInside == count)
            }
        }
    }

    @Test("the connection cap holds: no more sockets than allowed, the rest wait their turn")
    func connectionCap() async throws {
        let gate = ArrivalGate(expected: 3)
        let handler: LoopbackHTTPServer.Handler = { _ in
            await gate.pass()
            return .init(status: 200)
        }
        try await withHTTPServer(handler) { server in
            try await withCurlLoop(maxTotalConnections: 3) { loop in
                let client = CurlHTTPClient(loop: loop)
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for index in 0..<9 {
                        group.addTask {
                            _ = try await client.send(
                                HTTPRequest(url: server.baseURL + "/\(index)", timeoutSeconds: 60))
                        }
                    }
                    try await group.waitForAll()
                }
                #expect(await gate.maxInside == 3)
                #expect(await server.requests().count == 9)
            }
        }
    }

    @Test("a server that never answers ends in .timedOut")
    func timeout() async throws {
        let silent = try SilentListener()
        try await withCurlLoop { loop in
            await #expect(throws: HTTPError.timedOut(seconds: 0.3)) {
                _ = try await CurlHTTPClient(loop: loop).send(
                    HTTPRequest(url: "http://127.0.0.1:\(silent.port)/", timeoutSeconds: 0.3))
            }
        }
    }

    @Test("certificates are verified: a self-signed server is .tls; trusted through caFile it answers")
    func tlsVerification() async throws {
        let server = try await TLSTestServer.start()
        do {
            try await withCurlLoop { loop in
                let error = await #expect(throws: HTTPError.self) {
                    _ = try await CurlHTTPClient(loop: loop).send(
                        HTTPRequest(url: server.baseURL + "/", timeoutSeconds: 60))
                }
                guard case .tls(let why)? = error else {
                    Issue.record("expected .tls, got \(String(describing: error))")
                    return
                }
                #expect(why.contains("certificate"))

                let trusted = try await CurlHTTPClient(loop: loop, caFile: server.certificatePath).send(
                    HTTPRequest(url: server.baseURL + "/", timeoutSeconds: 60))
                #expect(trusted.status == 200)
                #expect(trusted.body == Array("secure".utf8))
            }
            await server.stop()
        } catch {
            await server.stop()
            throw error
        }
    }

    @Test("a refused connection ends in .connectionFailed with curl's words")
    func refused() async throws {
        let port = try SilentListener.closedPort()
        try await withCurlLoop { loop in
            let error = await #expect(throws: HTTPError.self) {
                _ = try await CurlHTTPClient(loop: loop).send(
                    HTTPRequest(url: "http://127.0.0.1:\(port)/", timeoutSeconds: 5))
            }
            guard case .connectionFailed(let why)? = error else {
                Issue.record("expected .connectionFailed, got \(String(describing: error))")
                return
            }
            #expect(why.contains("onnect"))
        }
    }

    @Test("an unresolvable host ends in .connectionFailed")
    func unresolvable() async throws {
        try await withCurlLoop { loop in
            let error = await #expect(throws: HTTPError.self) {
                _ = try await CurlHTTPClient(loop: loop).send(
                    HTTPRequest(url: "http://no-such-host.invalid/", timeoutSeconds: 5))
            }
            guard case .connectionFailed? = error else {
                Issue.record("expected .connectionFailed, got \(String(describing: error))")
                return
            }
        }
    }

    @Test("a body over the cap ends in .responseTooLarge; one exactly at the cap is fine")
    func tooLarge() async throws {
        let reply = LoopbackHTTPServer.Reply(status: 200, body: Array(repeating: UInt8(ascii: "x"), count: 50_000))
        try await withHTTPServer(replying: reply) { server in
            try await withCurlLoop { loop in
                await #expect(throws: HTTPError.responseTooLarge(limit: 10_000)) {
                    _ = try await CurlHTTPClient(loop: loop, maxResponseBytes: 10_000).send(
                        HTTPRequest(url: server.baseURL + "/", timeoutSeconds: 60))
                }
                let exact = try await CurlHTTPClient(loop: loop, maxResponseBytes: 50_000).send(
                    HTTPRequest(url: server.baseURL + "/", timeoutSeconds: 60))
                #expect(exact.body.count == 50_000)
            }
        }
    }

    @Test("cancelling the task removes the transfer and throws .cancelled; the loop goes on")
    func cancellation() async throws {
        let gate = ArrivalGate()
        let handler: LoopbackHTTPServer.Handler = { request in
            if request.path == "/hang" { await gate.pass() }
            return .init(status: 200, body: Array("fine".utf8))
        }
        try await withHTTPServer(handler) { server in
            try await withCurlLoop { loop in
                let client = CurlHTTPClient(loop: loop)
                let hanging = Task {
                    try await client.send(HTTPRequest(url: server.baseURL + "/hang", timeoutSeconds: 60))
                }
                await gate.waitForArrivals(1)
                hanging.cancel()
                let result = await hanging.result
                await gate.openAll()

                #expect(throws: HTTPError.cancelled) { try result.get() }
                let after = try await client.send(HTTPRequest(url: server.baseURL + "/after", timeoutSeconds: 60))
                #expect(after.body == Array("fine".utf8))
            }
        }
    }

    @Test("a task cancelled before sending never reaches the server")
    func cancelledBeforeSending() async throws {
        try await withHTTPServer(replying: .init(status: 200)) { server in
            try await withCurlLoop { loop in
                let client = CurlHTTPClient(loop: loop)
                let task = Task {
                    withUnsafeCurrentTask { $0?.cancel() }
                    return try await client.send(HTTPRequest(url: server.baseURL + "/", timeoutSeconds: 60))
                }
                await #expect(throws: HTTPError.cancelled) { try await task.value }
                #expect(await server.requests().isEmpty)
            }
        }
    }

    @Test("redirects are returned, not followed")
    func noRedirects() async throws {
        let handler: LoopbackHTTPServer.Handler = { request in
            request.path == "/from" ? .init(status: 302, headers: [("Location", "/to")]) : .init(status: 200)
        }
        try await withHTTPServer(handler) { server in
            try await withCurlLoop { loop in
                let response = try await CurlHTTPClient(loop: loop).send(
                    HTTPRequest(url: server.baseURL + "/from", timeoutSeconds: 60))

                #expect(response.status == 302)
                #expect(response.header("location") == "/to")
                #expect(await server.requests().map(\.path) == ["/from"])
            }
        }
    }

    @Test("a header that would smuggle a line, or a non-HTTP URL, is refused without echo")
    func refusedRequests() async throws {
        try await withCurlLoop { loop in
            let client = CurlHTTPClient(loop: loop)
            let error = await #expect(throws: HTTPError.self) {
                _ = try await client.send(
                    HTTPRequest(
                        url: "http://127.0.0.1:1/", headers: [("Authorization", "OAuth SECRET-TOKEN\r\nX-Evil: 1")]))
            }
            guard case .invalidRequest(let why)? = error else {
                Issue.record("expected .invalidRequest, got \(String(describing: error))")
                return
            }
            #expect(!why.contains("SECRET"))
            let fileError = await #expect(throws: HTTPError.self) {
                _ = try await client.send(HTTPRequest(url: "file:///etc/passwd?SECRET"))
            }
            guard case .invalidRequest(let fileWhy)? = fileError else {
                Issue.record("expected .invalidRequest, got \(String(describing: fileError))")
                return
            }
            #expect(!fileWhy.contains("SECRET"))
        }
    }

    @Test("after shutdown, transfers end as cancelled and shutdown can be called again")
    func shutdown() async throws {
        let loop = CurlEventLoop()
        await loop.shutdown()
        await loop.shutdown()
        await #expect(throws: HTTPError.cancelled) {
            _ = try await CurlHTTPClient(loop: loop).send(HTTPRequest(url: "http://127.0.0.1:1/", timeoutSeconds: 1))
        }
    }

    @Test("finalHeaders keeps only the last response's block")
    func finalHeadersParsing() {
        let lines = [
            "HTTP/1.1 100 Continue", "", "HTTP/1.1 200 OK", "Content-Type: text/plain",
            "X-Folded: a", "  b", "Bad line", "", "Trailer: ignored",
        ]
        let headers = CurlHTTPClient.finalHeaders(lines)
        #expect(headers.map(\.name) == ["content-type", "x-folded"])
        #expect(headers.last?.value == "a b")
    }
}
