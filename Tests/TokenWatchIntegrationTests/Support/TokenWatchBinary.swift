import Foundation

/// Runs the built `tokenwatch` binary as a separate process, the way cron or an operator
/// does, and captures its stdout, stderr and exit code. Waiting happens on a dedicated
/// thread, never on the cooperative pool (an in-process simulator may need those threads to
/// answer the binary).
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

    /// - Parameters:
    ///   - executable: another program to start (e.g. `setpriv` to run as another user), with
    ///     `prefix` before `arguments`; nil runs the binary itself.
    static func run(
        _ arguments: [String], environment extra: [String: String] = [:], stdin: String? = nil,
        directory: String? = nil,
        timeoutSeconds: Double = 120, executable: String? = nil, prefix: [String] = []
    ) async throws -> Result {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable ?? path)
        process.arguments = prefix + arguments
        process.environment = environment(extra)
        if let directory { process.currentDirectoryURL = URL(fileURLWithPath: directory) }
        let out = Pipe()
        let err = Pipe()
        let input = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = input
        return try await withCheckedThrowingContinuation { continuation in
            Thread.detachNewThread {
                do {
                    try process.run()
                } catch {
                    continuation.resume(throwing: error)
                    return
                }
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
                continuation.resume(
                    returning: Result(
                        status: process.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
                        stderr: String(decoding: errData, as: UTF8.self)))
            }
        }
    }
}

/// Hands bytes from the draining thread to the waiting one; the semaphore orders the access.
private final class DataBox: @unchecked Sendable {
    var data = Data()
}
