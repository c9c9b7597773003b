import Foundation
import Subprocess

#if canImport(System)
    import System
#else
    import SystemPackage
#endif

/// Runs the built `tokenwatch` binary as a separate process, the way cron or an operator
/// does, and captures its stdout, stderr and exit code. swift-subprocess waits and reads off
/// the cooperative pool (an in-process simulator may need those threads to answer the binary).
struct TokenWatchBinary {
    struct Result: Sendable {
        var status: Int32
        var stdout: String
        var stderr: String
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

    /// Runs the binary to its end (swift-subprocess: both pipes drained at once, the wait off
    /// the cooperative pool) and returns what it printed and its exit code. A run still going
    /// after `timeoutSeconds` is cancelled, which terminates the child.
    static func run(
        _ arguments: [String], environment extra: [String: String] = [:], stdin: String? = nil,
        directory: String? = nil,
        timeoutSeconds: Double = 120
    ) async throws -> Result {
        let variables = environment(extra)
        let binary = path
        return try await withThrowingTaskGroup(of: Result?.self) { group in
            group.addTask {
                var custom: [Environment.Key: String] = [:]
                for (key, value) in variables { custom[Environment.Key(stringLiteral: key)] = value }
                let outcome = try await Subprocess.run(
                    .path(FilePath(binary)), arguments: Arguments(arguments), environment: .custom(custom),
                    workingDirectory: directory.map { FilePath($0) }, input: .string(stdin ?? ""),
                    output: .string(limit: 64 << 20), error: .string(limit: 64 << 20))
                let status: Int32 =
                    switch outcome.terminationStatus {
                    case .exited(let code): code
                    case .signaled(let signal): 128 + signal
                    }
                return Result(
                    status: status, stdout: outcome.standardOutput, stderr: outcome.standardError)
            }
            group.addTask {
                try await Task.sleep(for: .seconds(timeoutSeconds))
                return nil
            }
            defer { group.cancelAll() }
            while let finished = try await group.next() {
                if let finished { return finished }
                throw TimeoutError(seconds: timeoutSeconds, arguments: arguments)
            }
            throw TimeoutError(seconds: timeoutSeconds, arguments: arguments)
        }
    }

    /// The binary ran longer than the test allows.
    struct TimeoutError: Error, CustomStringConvertible {
        var seconds: Double
        var arguments: [String]
        var description: String { "tokenwatch \(arguments.joined(separator: " ")) still running after \(seconds) s" }
    }
}
