import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Runs the built `tokenwatch` binary as a separate process, the way cron or an operator
/// does, and captures its stdout, stderr and exit code. Waiting happens on a dedicated
/// thread, never on the cooperative pool (an in-process simulator may need those threads to
/// answer the binary).
struct TokenWatchBinary {
    struct Result: Sendable {
        var status: Int32
        var stdout: String
        var stderr: String
        /// True when a signal ended the process; `status` is then the signal's number.
        var signalled = false
        var all: String { stdout + stderr }
    }

    /// The binary SwiftPM built next to the test bundle.
    static var path: String {
        let candidates = [
            Bundle.main.bundleURL.deletingLastPathComponent().appendingPathComponent("tokenwatch").path,
            URL(fileURLWithPath: CommandLine.arguments.first ?? "").deletingLastPathComponent()
                .appendingPathComponent("tokenwatch").path,
            URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
                .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent(
                    ".build/debug/tokenwatch"
                ).path,
        ]
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0) } ?? candidates[candidates.count - 1]
    }

    /// Environment for a run: nothing of the caller's TOKENWATCH_* leaks in.
    static func environment(_ extra: [String: String]) -> [String: String] {
        var environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("TOKENWATCH_") }
        environment["USER"] = "tester"
        for (key, value) in extra { environment[key] = value }
        return environment
    }

    static func run(
        _ arguments: [String], environment extra: [String: String] = [:], stdin: String? = nil,
        directory: String? = nil,
        timeoutSeconds: Double = 120
    ) async throws -> Result {
        try await start(
            arguments, environment: extra, stdin: stdin, directory: directory, timeoutSeconds: timeoutSeconds
        ).result()
    }

    /// Starts the binary in the background, for tests that overlap two processes or signal
    /// one mid-run; `result()` waits for it. The watchdog ends it after `timeoutSeconds`.
    static func start(
        _ arguments: [String], environment extra: [String: String] = [:], stdin: String? = nil,
        directory: String? = nil,
        timeoutSeconds: Double = 120
    ) async throws -> Running {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
        process.environment = environment(extra)
        if let directory { process.currentDirectoryURL = URL(fileURLWithPath: directory) }
        let out = Pipe()
        let err = Pipe()
        let input = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = input
        let running: Running = try await withCheckedThrowingContinuation { continuation in
            Thread.detachNewThread {
                do {
                    try process.run()
                } catch {
                    continuation.resume(throwing: error)
                    return
                }
                let running = Running(pid: process.processIdentifier)
                continuation.resume(returning: running)
                if let stdin { input.fileHandleForWriting.write(Data(stdin.utf8)) }
                try? input.fileHandleForWriting.close()
                let watchdog = DispatchWorkItem { if process.isRunning { process.terminate() } }
                DispatchQueue.global().asyncAfter(deadline: .now() + timeoutSeconds, execute: watchdog)
                // Drain both pipes at once so a full pipe never stalls the child.
                let errBox = DataBox()
                let done = DispatchSemaphore(value: 0)
                Thread.detachNewThread {
                    errBox.data = err.fileHandleForReading.readDataToEndOfFile()
                    done.signal()
                }
                let outData = out.fileHandleForReading.readDataToEndOfFile()
                done.wait()
                let errData = errBox.data
                process.waitUntilExit()
                watchdog.cancel()
                running.finish(
                    Result(
                        status: process.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
                        stderr: String(decoding: errData, as: UTF8.self),
                        signalled: process.terminationReason == .uncaughtSignal))
            }
        }
        return running
    }

    /// A `tokenwatch` process started with `start`: its pid, a way to signal it, its result.
    final class Running: Sendable {
        let pid: Int32
        private let state = Mutex<(result: Result?, waiters: [CheckedContinuation<Result, Never>])>((nil, []))

        fileprivate init(pid: Int32) {
            self.pid = pid
        }

        /// Sends `signal` (SIGTERM, SIGKILL …) to the process.
        func send(_ signal: Int32) {
            kill(pid, signal)
        }

        /// Waits for the process to end (and its output to be read) without blocking a thread.
        func result() async -> Result {
            await withCheckedContinuation { continuation in
                let ready = state.withLock { state in
                    if state.result == nil { state.waiters.append(continuation) }
                    return state.result
                }
                if let ready { continuation.resume(returning: ready) }
            }
        }

        fileprivate func finish(_ result: Result) {
            let waiters = state.withLock { state in
                state.result = result
                defer { state.waiters.removeAll() }
                return state.waiters
            }
            for waiter in waiters { waiter.resume(returning: result) }
        }
    }
}

/// Hands bytes from the draining thread to the waiting one; the semaphore orders the access.
private final class DataBox: @unchecked Sendable {
    var data = Data()
}
