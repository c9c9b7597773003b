import Foundation
import Synchronization
import TokenWatchTestSupport

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Helpers for test servers that run as child processes (`SMTPTestServer`, `TLSTestServer`).

enum ChildProcessError: Error {
    case noPort(String)
    case cannotWriteControl
    case failed(String, status: Int32)
}

/// Reads up to the first newline of `pipe` on a dedicated thread, never on the cooperative
/// pool; poll(2) bounds the wait, so a child that hangs fails the test instead of blocking it.
func readFirstLine(of pipe: Pipe, timeoutSeconds: Int) async throws -> String {
    let descriptor = pipe.fileHandleForReading.fileDescriptor
    return try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<String, any Error>) in
        let thread = Thread {
            var bytes: [UInt8] = []
            var byte: UInt8 = 0
            while bytes.count < 256 {
                var request = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
                guard poll(&request, 1, Int32(timeoutSeconds * 1000)) > 0 else {
                    return continuation.resume(throwing: ChildProcessError.noPort("nothing within \(timeoutSeconds) s"))
                }
                guard read(descriptor, &byte, 1) == 1 else {
                    return continuation.resume(throwing: ChildProcessError.noPort("exited before printing its port"))
                }
                if byte == UInt8(ascii: "\n") { break }
                bytes.append(byte)
            }
            continuation.resume(returning: String(decoding: bytes, as: UTF8.self))
        }
        thread.start()
    }
}

/// Runs a program to its end without blocking a thread of the pool; throws unless it exits 0.
func runToCompletion(_ arguments: [String]) async throws {
    let finished = try await ExternalProgram.run(arguments)
    guard finished.status == 0 else {
        throw ChildProcessError.failed(arguments.first ?? "", status: finished.status)
    }
}

/// Whether a child has exited, and who waits for it (fed by `Process.terminationHandler`).
final class ProcessExit: Sendable {
    private let state = Mutex<(exited: Bool, waiters: [CheckedContinuation<Void, Never>])>((false, []))

    func markExited() {
        let waiters = state.withLock { state in
            state.exited = true
            defer { state.waiters.removeAll() }
            return state.waiters
        }
        for waiter in waiters { waiter.resume() }
    }

    func wait() async {
        await withCheckedContinuation { continuation in
            let exited = state.withLock { state in
                if !state.exited { state.waiters.append(continuation) }
                return state.exited
            }
            if exited { continuation.resume() }
        }
    }
}
