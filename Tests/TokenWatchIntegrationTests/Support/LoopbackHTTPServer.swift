import FlyingFox
import FlyingSocks
import Foundation

/// A FlyingFox HTTP server on 127.0.0.1 and a free port, logging nothing, for tests that need
/// real HTTP over loopback. Handlers see a plain `Request` and answer with a `Reply`, so test
/// files need not import FlyingFox (whose `HTTPRequest`/`HTTPResponse` clash with ours).
final class LoopbackHTTPServer: Sendable {
    /// What the server received.
    struct Request: Sendable {
        var method: String
        /// The path as sent (FlyingFox's own `path` drops a trailing slash).
        var path: String
        /// The query string as sent (percent-encoded), without "?".
        var query: String
        /// Header names lowercased; the last value wins.
        var headers: [String: String]
        var body: [UInt8]

        var bodyText: String { String(decoding: body, as: UTF8.self) }
    }

    /// What the handler answers.
    struct Reply: Sendable {
        var status: Int
        var headers: [(name: String, value: String)]
        var body: [UInt8]

        init(status: Int = 200, headers: [(name: String, value: String)] = [], body: [UInt8] = []) {
            self.status = status
            self.headers = headers
            self.body = body
        }

        /// A JSON answer with its content type.
        static func json(_ text: String, status: Int = 200, headers: [(name: String, value: String)] = []) -> Reply {
            Reply(status: status, headers: [("Content-Type", "application/json")] + headers, body: Array(text.utf8))
        }
    }

    typealias Handler = @Sendable (Request) async throws -> Reply

    let port: UInt16
    private let server: HTTPServer
    private let task: Task<Void, any Error>
    private let log: RequestLog

    /// "http://127.0.0.1:PORT", no trailing slash.
    var baseURL: String { "http://127.0.0.1:\(port)" }

    /// Every request received so far, in arrival order.
    func requests() async -> [Request] { await log.all }

    private init(port: UInt16, server: HTTPServer, task: Task<Void, any Error>, log: RequestLog) {
        self.port = port
        self.server = server
        self.task = task
        self.log = log
    }

    /// Starts a server and returns once it listens.
    static func start(_ handler: @escaping Handler) async throws -> LoopbackHTTPServer {
        let log = RequestLog()
        let server = HTTPServer(
            address: try sockaddr_in.inet(ip4: "127.0.0.1", port: 0),
            timeout: 60,
            logger: .disabled,
            handler: ClosureHTTPHandler { request in
                let seen = Request(
                    method: request.method.rawValue,
                    path: request.target.path(percentEncoded: true),
                    query: request.target.query(percentEncoded: true),
                    headers: Dictionary(
                        request.headers.map { ($0.key.rawValue.lowercased(), $0.value) }, uniquingKeysWith: { $1 }),
                    body: Array(try await request.bodyData))
                await log.append(seen)
                let reply = try await handler(seen)
                var headers = HTTPHeaders()
                for header in reply.headers { headers.addValue(header.value, for: HTTPHeader(header.name)) }
                return FlyingFox.HTTPResponse(
                    statusCode: HTTPStatusCode(reply.status, phrase: "Status \(reply.status)"),
                    headers: headers, body: Data(reply.body))
            })
        let task = Task { try await server.run() }
        // FlyingFox's default is 5 s; `run()` needs a pool thread to bind, which a test process
        // starting hundreds of tests at once on 2 cores may not give it that soon. This only
        // bounds a failure.
        try await server.waitUntilListening(timeout: 30)
        guard case .ip4(_, let port)? = await server.listeningAddress else {
            task.cancel()
            throw TestServerError.noPort
        }
        return LoopbackHTTPServer(port: port, server: server, task: task, log: log)
    }

    /// Stops listening and drops open connections.
    func stop() async {
        await server.stop(timeout: 0)
        task.cancel()
    }
}

enum TestServerError: Error {
    case noPort
}

/// The requests a server saw; an actor so handlers on many connections can append.
private actor RequestLog {
    private(set) var all: [LoopbackHTTPServer.Request] = []

    func append(_ request: LoopbackHTTPServer.Request) { all.append(request) }
}
