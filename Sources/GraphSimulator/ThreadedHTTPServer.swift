import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// A plain HTTP/1.1 server on 127.0.0.1 with one thread per connection and blocking I/O, for
/// `tokenwatch-sim`: the simulator process of the end-to-end benchmark.
///
/// Real Graph costs the machine that runs TokenWatch nothing; the simulator shares its two
/// cores. Behind FlyingFox it used about 1.5 s of CPU per 100,000 checked pages, two thirds of
/// that in the server's async socket layer, all of it taken from the `tokenwatch` process
/// being timed. A connection here is a thread that reads a request, asks the engine, and
/// writes the answer in one `send` — what a client can see of it is the same: the status, the
/// headers, the body, keep-alive, and a connection closed without a byte for the drop fault.
///
/// It reads what TokenWatch and curl send: a request line, headers, and a body of
/// `Content-Length` bytes (a chunked body is refused with 411). A connection is kept open
/// until the client closes it, sends `Connection: close`, or is silent for 300 s.
final class ThreadedHTTPServer: Sendable {
    /// A parsed request: the target's path and query as sent.
    struct Request: Sendable {
        var method: String
        var path: String
        var query: String
        var authorization: String?
        var body: Data
    }

    /// Answers one request; nil closes the connection without writing anything. Called on the
    /// connection's own thread, which it may block (the latency fault sleeps there).
    typealias Handler = @Sendable (Request) -> SimulatorAnswer?

    /// The port it listens on.
    let port: Int
    private let listener: Int32
    private let handler: Handler
    /// Open connections, so `stop()` can shut them down; and whether it has stopped.
    private let state = Mutex<(open: Set<Int32>, stopped: Bool)>(([], false))

    /// The largest request head (request line and headers) and body it reads.
    static let maxHeadBytes = 64 << 10
    static let maxBodyBytes = 16 << 20
    /// How long a connection may stay silent before it is closed.
    static let idleSeconds = 300

    private init(port: Int, listener: Int32, handler: @escaping Handler) {
        self.port = port
        self.listener = listener
        self.handler = handler
    }

    /// Binds 127.0.0.1 on a free port and accepts connections on a thread of its own.
    static func start(handler: @escaping Handler) throws -> ThreadedHTTPServer {
        let (descriptor, port) = try LoopbackSocket.bound()
        guard listen(descriptor, 128) == 0 else { throw LoopbackSocket.failure("listen", closing: descriptor) }
        let server = ThreadedHTTPServer(port: Int(port), listener: descriptor, handler: handler)
        Thread.detachNewThread { server.acceptLoop() }
        return server
    }

    /// Stops accepting and shuts every open connection down; their threads then end.
    func stop() {
        let open = state.withLock { state in
            defer { state.open.removeAll() }
            state.stopped = true
            return state.open
        }
        shutdown(listener, Int32(SHUT_RDWR))
        for descriptor in open { shutdown(descriptor, Int32(SHUT_RDWR)) }
    }

    private func acceptLoop() {
        while true {
            let connection = accept(listener, nil, nil)
            if connection < 0 {
                let action = Self.afterAcceptFailure(errno, stopped: state.withLock { $0.stopped })
                if action == .stop { break }
                // This thread is the server's own: sleeping blocks nobody else.
                if action == .pause { usleep(Self.acceptPauseMicroseconds) }
                continue
            }
            let admitted = state.withLock { state in
                if state.stopped { return false }
                state.open.insert(connection)
                return true
            }
            guard admitted else {
                close(connection)
                break
            }
            var on: Int32 = 1
            // Each answer goes out in one send; Nagle would still hold a second segment.
            setsockopt(connection, Int32(IPPROTO_TCP), TCP_NODELAY, &on, socklen_t(MemoryLayout<Int32>.size))
            var idle = timeval(tv_sec: Self.idleSeconds, tv_usec: 0)
            setsockopt(connection, SOL_SOCKET, SO_RCVTIMEO, &idle, socklen_t(MemoryLayout<timeval>.size))
            Thread.detachNewThread { self.serve(connection) }
        }
        close(listener)
    }

    /// What the accept loop does after `accept` failed.
    enum AcceptFailureAction: Equatable {
        /// Interrupted, or the client gave up before it was accepted: accept again at once.
        case retry
        /// Out of descriptors or kernel memory for now: accept again once open connections
        /// have had a moment to close, instead of leaving every later client unanswered.
        case pause
        /// Stopped (`stop()` shuts the listener down, and accept then fails) or the listener is
        /// unusable: serve no more.
        case stop
    }

    /// How long the accept loop waits after running out of descriptors or memory.
    static let acceptPauseMicroseconds: UInt32 = 10_000

    /// The accept loop's answer to `accept` failing with `code`.
    static func afterAcceptFailure(_ code: Int32, stopped: Bool) -> AcceptFailureAction {
        if stopped { return .stop }
        switch code {
        case EINTR, ECONNABORTED: return .retry
        case EMFILE, ENFILE, ENOBUFS, ENOMEM: return .pause
        default: return .stop
        }
    }

    /// Serves one connection until it closes, then closes it.
    private func serve(_ connection: Int32) {
        var reader = ConnectionReader(descriptor: connection)
        while let request = reader.nextRequest() {
            switch request {
            case .refused(let status):
                _ = sendAll(
                    connection, Self.encode(SimulatorAnswer(status: status, headers: [], body: Data()), close: true))
                return finish(connection)
            case .request(let request, let closeAfter):
                guard let answer = handler(request) else { return finish(connection) }
                guard sendAll(connection, Self.encode(answer, close: closeAfter)), !closeAfter else {
                    return finish(connection)
                }
            }
        }
        finish(connection)
    }

    /// Closes a connection this thread owns (after `stop()` the set no longer holds it).
    private func finish(_ connection: Int32) {
        state.withLock { _ = $0.open.remove(connection) }
        close(connection)
    }

    /// The status line, the answer's headers, `Content-Length` and the body, as one buffer.
    static func encode(_ answer: SimulatorAnswer, close: Bool) -> [UInt8] {
        var head = "HTTP/1.1 \(answer.status) \(SimulatorEngine.phrase(answer.status))\r\n"
        for (name, value) in answer.headers { head += "\(name): \(value)\r\n" }
        head += "Content-Length: \(answer.body.count)\r\n"
        if close { head += "Connection: close\r\n" }
        head += "\r\n"
        var bytes = Array(head.utf8)
        bytes.append(contentsOf: answer.body)
        return bytes
    }

    private func sendAll(_ connection: Int32, _ bytes: [UInt8]) -> Bool {
        var sent = 0
        while sent < bytes.count {
            let count = bytes.withUnsafeBytes { buffer -> Int in
                guard let base = buffer.baseAddress else { return -1 }
                return send(connection, base + sent, buffer.count - sent, Int32(MSG_NOSIGNAL))
            }
            if count < 0, errno == EINTR { continue }
            guard count > 0 else { return false }
            sent += count
        }
        return true
    }
}

/// Reads requests off one connection, keeping what arrived past the end of the last one.
struct ConnectionReader {
    enum Next {
        case request(ThreadedHTTPServer.Request, closeAfter: Bool)
        /// A request this server does not read (a chunked body, too large, malformed).
        case refused(status: Int)
    }

    let descriptor: Int32
    private var buffer: [UInt8] = []
    /// Where `recv` writes, reused: a fresh 64 KiB array per read was a request's largest cost.
    private var chunk = [UInt8](repeating: 0, count: 64 << 10)

    init(descriptor: Int32) {
        self.descriptor = descriptor
    }

    /// The next request; nil when the client closed the connection, went silent, or failed.
    mutating func nextRequest() -> Next? {
        var headEnd: Int?
        var scanned = 0
        while true {
            headEnd = Self.endOfHead(buffer, from: scanned)
            if headEnd != nil { break }
            guard buffer.count <= ThreadedHTTPServer.maxHeadBytes else { return .refused(status: 431) }
            // The next scan starts where a terminator cut by this read could begin.
            scanned = max(0, buffer.count - 3)
            guard readMore() else { return nil }
        }
        guard let headEnd, let head = Self.parseHead(buffer[..<headEnd]) else { return .refused(status: 400) }
        if head.chunked { return .refused(status: 411) }
        guard head.contentLength <= ThreadedHTTPServer.maxBodyBytes else { return .refused(status: 413) }
        let bodyStart = headEnd + 4
        while buffer.count < bodyStart + head.contentLength {
            guard readMore() else { return nil }
        }
        let body = Data(buffer[bodyStart..<(bodyStart + head.contentLength)])
        buffer.removeFirst(bodyStart + head.contentLength)
        let request = ThreadedHTTPServer.Request(
            method: head.method, path: head.path, query: head.query, authorization: head.authorization, body: body)
        return .request(request, closeAfter: head.close)
    }

    /// Appends what the socket has; false at end of file, on a timeout or an error.
    private mutating func readMore() -> Bool {
        while true {
            let count = chunk.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, 0) }
            if count < 0, errno == EINTR { continue }
            guard count > 0 else { return false }
            buffer.append(contentsOf: chunk[..<count])
            return true
        }
    }

    /// The index of the "\r\n\r\n" that ends the head, if it has arrived at or after `start`.
    static func endOfHead(_ bytes: [UInt8], from start: Int = 0) -> Int? {
        guard bytes.count >= start + 4 else { return nil }
        for index in start...(bytes.count - 4)
        where bytes[index] == 13 && bytes[index + 1] == 10 && bytes[index + 2] == 13 && bytes[index + 3] == 10 {
            return index
        }
        return nil
    }

    struct Head {
        var method: String
        var path: String
        var query: String
        var authorization: String?
        var contentLength = 0
        var chunked = false
        var close = false
    }

    /// The request line and the headers this server acts on; nil when they do not parse.
    /// (Byte-wise: Foundation's trimming and splitting cost more than the engine's answer.)
    static func parseHead(_ bytes: ArraySlice<UInt8>) -> Head? {
        var lines = lines(of: bytes)
        guard !lines.isEmpty else { return nil }
        let parts = lines.removeFirst().split(separator: UInt8(ascii: " "))
        guard parts.count == 3, parts[2].starts(with: Array("HTTP/1.".utf8)) else { return nil }
        let target = parts[1]
        let question = target.firstIndex(of: UInt8(ascii: "?"))
        var head = Head(
            method: String(decoding: parts[0], as: UTF8.self),
            path: String(decoding: target[..<(question ?? target.endIndex)], as: UTF8.self),
            query: question.map { String(decoding: target[(target.index(after: $0))...], as: UTF8.self) } ?? "")
        // HTTP/1.0 closes after each answer unless it asks otherwise.
        head.close = parts[2].elementsEqual("HTTP/1.0".utf8)
        for line in lines where !line.isEmpty {
            guard let colon = line.firstIndex(of: UInt8(ascii: ":")) else { return nil }
            let name = String(decoding: line[..<colon], as: UTF8.self).lowercased()
            let value = String(decoding: trimmed(line[(line.index(after: colon))...]), as: UTF8.self)
            switch name {
            case "content-length":
                guard let length = Int(value), length >= 0 else { return nil }
                head.contentLength = length
            case "transfer-encoding":
                head.chunked = value.lowercased().contains("chunked")
            case "connection":
                let tokens = value.lowercased()
                if tokens.contains("close") { head.close = true }
                if tokens.contains("keep-alive") { head.close = false }
            case "authorization":
                head.authorization = value
            default:
                break
            }
        }
        return head
    }

    /// The head's lines, split at CRLF.
    static func lines(of bytes: ArraySlice<UInt8>) -> [ArraySlice<UInt8>] {
        var lines: [ArraySlice<UInt8>] = []
        var start = bytes.startIndex
        var index = bytes.startIndex
        while index < bytes.endIndex {
            if bytes[index] == 13, index + 1 < bytes.endIndex, bytes[index + 1] == 10 {
                lines.append(bytes[start..<index])
                index += 2
                start = index
            } else {
                index += 1
            }
        }
        lines.append(bytes[start..<bytes.endIndex])
        return lines
    }

    /// `bytes` without leading and trailing spaces and tabs.
    static func trimmed(_ bytes: ArraySlice<UInt8>) -> ArraySlice<UInt8> {
        let blank: (UInt8) -> Bool = { $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\t") }
        guard let first = bytes.firstIndex(where: { !blank($0) }), let last = bytes.lastIndex(where: { !blank($0) })
        else { return bytes[bytes.startIndex..<bytes.startIndex] }
        return bytes[first...last]
    }
}
