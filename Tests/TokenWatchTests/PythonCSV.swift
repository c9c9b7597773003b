import Foundation

/// Reads a CSV file back with Python's `csv` module (strict mode), an independent RFC 4180
/// reader, to prove what a spreadsheet or script will actually see.
enum PythonCSV {
    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    static let script = """
        import csv, json, sys
        with open(sys.argv[1], newline='', encoding='utf-8', errors='strict') as f:
            rows = list(csv.reader(f, strict=True))
        json.dump(rows, sys.stdout)
        """

    static func read(_ path: String) throws -> [[String]] {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", script, path]
        let output = Pipe()
        let errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        let errorText = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw Failure(description: "python3 csv failed (\(process.terminationStatus)): \(errorText)")
        }
        return try JSONDecoder().decode([[String]].self, from: data)
    }
}
