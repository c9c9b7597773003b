import Foundation

/// Runs a short Python script (`python3 -c`): the tests' independent reader of what TokenWatch
/// wrote — Python's csv, email and openpyxl parse our files without sharing our code.
public enum PythonScript {
    /// The script exited non-zero; `description` carries its standard error.
    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    /// Runs `script` with `arguments`, writing `input` to its standard input, and returns its
    /// standard output. A non-zero exit throws with what it printed on standard error.
    public static func run(_ script: String, arguments: [String] = [], input: Data? = nil) throws -> Data {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", script] + arguments
        let stdin = Pipe()
        let output = Pipe()
        let errors = Pipe()
        process.standardInput = stdin
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        // The scripts read all of stdin before writing anything, so writing first cannot deadlock.
        if let input { try stdin.fileHandleForWriting.write(contentsOf: input) }
        try stdin.fileHandleForWriting.close()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        let errorText = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw Failure(description: "python3 exited \(process.terminationStatus): \(errorText)")
        }
        return data
    }
}
