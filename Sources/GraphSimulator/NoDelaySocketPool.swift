import FlyingSocks

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// FlyingFox's socket pool with Nagle's algorithm switched off on every socket it waits on.
///
/// FlyingFox writes a response's header, then its body in 4 KiB chunks. On loopback (MSS
/// about 64 KiB) Nagle holds each chunk after the first until the client ACKs, and clients
/// delay ACKs by ~40 ms: measured, 48 ms per sequential 50-item batch. FlyingFox has no hook
/// on accepted sockets, but every socket that waits for I/O passes through the pool — the
/// listening socket among them, and Linux and the BSDs pass `TCP_NODELAY` on to the
/// connections it accepts.
struct NoDelaySocketPool<Base: AsyncSocketPool>: AsyncSocketPool {
    let base: Base

    func prepare() async throws {
        try await base.prepare()
    }

    func run() async throws {
        try await base.run()
    }

    func suspendSocket(_ socket: Socket, untilReadyFor events: Socket.Events) async throws {
        // Idempotent and a single syscall; a socket that is not TCP just refuses it.
        try? socket.setValue(true, for: BoolSocketOption(level: Int32(IPPROTO_TCP), name: TCP_NODELAY))
        try await base.suspendSocket(socket, untilReadyFor: events)
    }
}
