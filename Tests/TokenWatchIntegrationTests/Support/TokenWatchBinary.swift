import Foundation
import Subprocess
import Synchronization

#if canImport(System)
    import System
#else
    import SystemPackage
#endif

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Runs the built `tokenwatch` binary as a separate process, the way cron or an operator
/// does, and captures its stdout, stderr and exit code. swift-subprocess drains both pipes and
/// waits off the cooperative pool (an in-process simulator may need those threads to answer
/// the binary).
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

    /// Runs the binary to its end and returns what it printed and how it ended.
    /// - Parameters:
    ///   - executable: another program to start (e.g. `setpriv` to run as another user), with
    ///     `prefix` before `arguments`; nil runs the binary itself.
    static func run(
        _ arguments: [String], environment extra: [String: String] = [:], stdin: String? = nil,
        directory: String? = nil,
        timeoutSeconds: Double = 120, executable: String? = nil, prefix: [String] = []
    ) async throws -> Result {
        try await start(
            arguments, environment: extra, stdin: stdin, directory: directory, timeoutSeconds: timeoutSeconds,
            executable: executable, prefix: prefix
        ).result()
    }

    /// Starts the binary in the background, for tests that overlap two processes or signal
    /// one mid-run; `result()` waits for it. After `timeoutSeconds` the run is cancelled, which
    /// tears the child down (SIGTERM, then SIGKILL).
    static func start(
        _ arguments: [String], environment extra: [String: String] = [:], stdin: String? = nil,
        directory: String? = nil,
        timeoutSeconds: Double = 120, executable: String? = nil, prefix: [String] = []
    ) async throws -> Running {
        let running = Running()
        let variables = environment(extra)
        let binary = executable ?? path
        let arguments = prefix + arguments
        let task = Task {
            var custom: [Environment.Key: String] = [:]
            for (key, value) in variables { custom[Environment.Key(stringLiteral: key)] = value }
            do {
                // Never a pipe: swift-subprocess traps when a child exits before it has written
                // and closed one (its issue #367), which a child that fails fast on a loaded
                // machine does — seen with `.string(stdin)`. Given text comes from a file instead
                // (unlinked at once, read to its end like the pipe), none from /dev/null.
                let result =
                    if let stdin {
                        try await spawn(
                            binary, arguments, custom, directory,
                            input: .fileDescriptor(
                                try Self.unlinkedFile(holding: stdin), closeAfterSpawningProcess: true),
                            running)
                    } else {
                        try await spawn(binary, arguments, custom, directory, input: .none, running)
                    }
                running.finish(.success(result))
            } catch {
                running.finish(.failure(error))
            }
        }
        let watchdog = Task {
            try await Task.sleep(for: .seconds(timeoutSeconds))
            task.cancel()
        }
        running.onFinish { watchdog.cancel() }
        try await running.waitUntilStarted()
        return running
    }

    /// A descriptor reading `text` from its start, of a temporary file already unlinked.
    private static func unlinkedFile(holding text: String) throws -> FileDescriptor {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("stdin-\(UUID().uuidString)").path
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
        defer { try? FileManager.default.removeItem(atPath: path) }
        return try FileDescriptor.open(FilePath(path), .readOnly)
    }

    /// One run of `binary`, both outputs collected, `running` told its pid once it started.
    private static func spawn(
        _ binary: String, _ arguments: [String], _ environment: [Environment.Key: String], _ directory: String?,
        input: some InputProtocol, _ running: Running
    ) async throws -> Result {
        let outcome = try await Subprocess.run(
            .path(FilePath(binary)), arguments: Arguments(arguments), environment: .custom(environment),
            workingDirectory: directory.map { FilePath($0) }, input: input,
            output: .string(limit: 64 << 20), error: .string(limit: 64 << 20)
        ) { execution in
            running.started(pid: execution.processIdentifier.value)
        }
        return switch outcome.terminationStatus {
        case .exited(let code):
            Result(status: code, stdout: outcome.standardOutput, stderr: outcome.standardError)
        case .signaled(let signal):
            Result(status: signal, stdout: outcome.standardOutput, stderr: outcome.standardError, signalled: true)
        }
    }

    /// A `tokenwatch` process started with `start`: its pid, a way to signal it, its result.
    final class Running: Sendable {
        private struct State {
            var pid: Int32?
            var outcome: Swift.Result<Result, any Error>?
            var startWaiters: [CheckedContinuation<Void, any Error>] = []
            var resultWaiters: [CheckedContinuation<Swift.Result<Result, any Error>, Never>] = []
            var finishActions: [@Sendable () -> Void] = []
        }
        private let state = Mutex(State())

        fileprivate init() {}

        /// The child's process ID (known once `start` has returned).
        var pid: Int32 { state.withLock { $0.pid ?? -1 } }

        /// Sends `signal` (SIGTERM, SIGKILL …) to the process.
        func send(_ signal: Int32) {
            let pid = self.pid
            if pid > 0 { kill(pid, signal) }
        }

        /// Waits for the process to end (and its output to be read) without blocking a thread.
        func result() async throws -> Result {
            let outcome = await withCheckedContinuation { continuation in
                let ready = state.withLock { state in
                    if state.outcome == nil { state.resultWaiters.append(continuation) }
                    return state.outcome
                }
                if let ready { continuation.resume(returning: ready) }
            }
            return try outcome.get()
        }

        fileprivate func started(pid: Int32) {
            let waiters = state.withLock { state in
                state.pid = pid
                defer { state.startWaiters.removeAll() }
                return state.startWaiters
            }
            for waiter in waiters { waiter.resume() }
        }

        fileprivate func waitUntilStarted() async throws {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                let ready: Swift.Result<Void, any Error>? = state.withLock { state in
                    if state.pid != nil { return .success(()) }
                    if case .failure(let error) = state.outcome { return .failure(error) }
                    if state.outcome != nil { return .success(()) }
                    state.startWaiters.append(continuation)
                    return nil
                }
                if let ready { continuation.resume(with: ready) }
            }
        }

        fileprivate func onFinish(_ action: @escaping @Sendable () -> Void) {
            let done = state.withLock { state in
                if state.outcome == nil { state.finishActions.append(action) }
                return state.outcome != nil
            }
            if done { action() }
        }

        fileprivate func finish(_ outcome: Swift.Result<Result, any Error>) {
            let (starters, waiters, actions) = state.withLock { state in
                state.outcome = outcome
                defer {
                    state.startWaiters.removeAll()
                    state.resultWaiters.removeAll()
                    state.finishActions.removeAll()
                }
                return (state.startWaiters, state.resultWaiters, state.finishActions)
            }
            for starter in starters {
                if case .failure(let error) = outcome { starter.resume(throwing: error) } else { starter.resume() }
            }
            for waiter in waiters { waiter.resume(returning: outcome) }
            for action in actions { action() }
        }
    }
}
