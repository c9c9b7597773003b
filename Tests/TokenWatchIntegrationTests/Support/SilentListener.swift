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
        let (descriptor, port) = try Self.bindLoopback()
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
        let (descriptor, port) = try bindLoopback()
        close(descriptor)
        return port
    }

    private static func bindLoopback() throws -> (Int32, UInt16) {
        #if canImport(Glibc)
            let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        #else
            let descriptor = socket(AF_INET, SOCK_STREAM, 0)
        #endif
        guard descriptor >= 0 else { throw SocketSetupError(step: "socket") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard bound == 0 else {
            close(descriptor)
            throw SocketSetupError(step: "bind")
        }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let named = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(descriptor, $0, &length) }
        }
        guard named == 0 else {
            close(descriptor)
            throw SocketSetupError(step: "getsockname")
        }
        return (descriptor, UInt16(bigEndian: address.sin_port))
    }
}

struct SocketSetupError: Error {
    var step: String
}
