import Foundation
import Synchronization
import TokenWatchSystem

/// Runs a short program to its end (`python3`, `promtool`, `pg_dump`) for a test and returns
/// what it printed.
///
/// The child is waited for on a Dispatch thread, never on the cooperative pool: Python starts in
/// a few hundred milliseconds, and tests that waited for it on the pool (two threads on a 2-core
/// machine) held up every other test — long enough for loopback servers to miss their start-up
/// timeout in CI.
public enum ExternalProgram {
    /// What a finished program printed, and how it ended.
    public struct Finished: Sendable {
        public var status: Int32
        public var output: Data
        public var errors: Data

        /// Standard error as text, for failure messages.
        public var errorText: String { String(decoding: errors, as: UTF8.self) }
    }

    /// Runs `arguments` (looked up in PATH through `/usr/bin/env`), writing `input` to its
    /// standard input and closing it.
    public static func run(_ arguments: [String], input: Data? = nil) async throws -> Finished {
        try await BlockingWork.run { try runBlocking(arguments, input: input) }
    }

    private static func runBlocking(_ arguments: [String], input: Data?) throws -> Finished {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = arguments
        let stdin = Pipe()
        let output = Pipe()
        let errors = Pipe()
        process.standardInput = stdin
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        // stderr is drained on a thread of its own, so a chatty program cannot fill that pipe
        // while we wait on stdout.
        let errorData = Mutex(Data())
        let drained = DispatchSemaphore(value: 0)
        Thread.detachNewThread {
            let data = errors.fileHandleForReading.readDataToEndOfFile()
            errorData.withLock { $0 = data }
            drained.signal()
        }
        // A program that exits without reading its input makes this write fail (EPIPE); what
        // it printed then says why, so the failure is not thrown here.
        if let input { try? stdin.fileHandleForWriting.write(contentsOf: input) }
        try? stdin.fileHandleForWriting.close()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        drained.wait()
        process.waitUntilExit()
        return Finished(status: process.terminationStatus, output: data, errors: errorData.withLock { $0 })
    }
}
