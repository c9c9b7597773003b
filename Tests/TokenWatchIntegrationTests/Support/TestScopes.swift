@testable import TokenWatchHTTP

/// Runs `body` with a fresh `CurlEventLoop` and shuts it down afterwards, also when `body`
/// throws, so no test leaves a loop thread behind.
@discardableResult
func withCurlLoop<T>(
    maxTotalConnections: Int = CurlEventLoop.defaultMaxTotalConnections,
    _ body: (CurlEventLoop) async throws -> T
) async throws -> T {
    let loop = CurlEventLoop(maxTotalConnections: maxTotalConnections)
    do {
        let result = try await body(loop)
        await loop.shutdown()
        return result
    } catch {
        await loop.shutdown()
        throw error
    }
}

/// Runs `body` with a loopback HTTP server answering through `handler`, and stops the server
/// afterwards, also when `body` throws.
@discardableResult
func withHTTPServer<T>(
    _ handler: @escaping LoopbackHTTPServer.Handler,
    _ body: (LoopbackHTTPServer) async throws -> T
) async throws -> T {
    let server = try await LoopbackHTTPServer.start(handler)
    do {
        let result = try await body(server)
        await server.stop()
        return result
    } catch {
        await server.stop()
        throw error
    }
}

/// `withHTTPServer` for a server that gives every request the same answer.
@discardableResult
func withHTTPServer<T>(
    replying reply: LoopbackHTTPServer.Reply,
    _ body: (LoopbackHTTPServer) async throws -> T
) async throws -> T {
    try await withHTTPServer({ _ in reply }, body)
}
