import GraphSimulator

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A TCP socket on 127.0.0.1 that listens but never accepts: connections complete in the
/// kernel's backlog and then hear nothing — the server that never answers.
final class SilentListener: Sendable {
    let port: UInt16
    private let descriptor: Int32

    init() throws {
        let (descriptor, port) = try LoopbackSocket.bound()
        guard listen(descriptor, 64) == 0 else {
            close(descriptor)
            throw SocketSetupError(step: "listen")
        }
        self.descriptor = descriptor
        self.port = port
    }

    deinit { close(descriptor) }

    /// A loopback port nothing listens on: bound to learn a free number, then closed.
    static func closedPort() throws -> UInt16 {
        let (descriptor, port) = try LoopbackSocket.bound()
        close(descriptor)
        return port
    }
}

struct SocketSetupError: Error {
    var step: String
}
