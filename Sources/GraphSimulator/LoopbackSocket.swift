#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// A TCP socket bound to 127.0.0.1 on a port the kernel picks: the start of `tokenwatch-sim`'s
/// threaded server, and of the tests' listeners that never answer.
public enum LoopbackSocket {
    /// A bound, not yet listening, socket and its port. Throws
    /// `GraphSimulatorError.notListening` naming the step that failed.
    public static func bound() throws -> (descriptor: Int32, port: UInt16) {
        #if canImport(Glibc)
            let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        #else
            let descriptor = socket(AF_INET, SOCK_STREAM, 0)
        #endif
        guard descriptor >= 0 else { throw failure("socket") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard bound == 0 else { throw failure("bind", closing: descriptor) }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let named = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(descriptor, $0, &length) }
        }
        guard named == 0 else { throw failure("getsockname", closing: descriptor) }
        return (descriptor, UInt16(bigEndian: address.sin_port))
    }

    /// The error for `step`, with errno's text, after closing `descriptor` if given.
    static func failure(_ step: String, closing descriptor: Int32? = nil) -> GraphSimulatorError {
        let text = String(cString: strerror(errno))
        if let descriptor { close(descriptor) }
        return .notListening("\(step): \(text)")
    }
}
