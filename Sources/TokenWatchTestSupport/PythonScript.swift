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
    public static func run(_ script: String, arguments: [String] = [], input: Data? = nil) async throws -> Data {
        let finished = try await ExternalProgram.run(["python3", "-c", script] + arguments, input: input)
        guard finished.status == 0 else {
            throw Failure(description: "python3 exited \(finished.status): \(finished.errorText)")
        }
        return finished.output
    }
}
