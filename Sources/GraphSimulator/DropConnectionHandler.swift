import FlyingFox

/// Makes FlyingFox close a connection without writing a byte.
///
/// A handler that throws gets a 500 answer, so that cannot drop a connection. FlyingFox calls
/// a WebSocket handler's `makeFrames` before it writes the upgrade response; throwing there
/// ends the connection with nothing sent — what a client sees when Graph's edge resets it.
struct DropConnectionHandler: WSHandler {
    struct Dropped: Error {}

    func makeFrames(for client: AsyncThrowingStream<WSFrame, any Error>) async throws -> AsyncStream<WSFrame> {
        throw Dropped()
    }
}
