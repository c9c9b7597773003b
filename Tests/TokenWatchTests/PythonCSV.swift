import Foundation
import TokenWatchTestSupport

/// Reads a CSV file back with Python's `csv` module (strict mode), an independent RFC 4180
/// reader, to prove what a spreadsheet or script will actually see.
enum PythonCSV {

    static let script = """
        import csv, json, sys
        with open(sys.argv[1], newline='', encoding='utf-8', errors='strict') as f:
            rows = list(csv.reader(f, strict=True))
        json.dump(rows, sys.stdout)
        """

    static func read(_ path: String) async throws -> [[String]] {
        try JSONDecoder().decode([[String]].self, from: await PythonScript.run(script, arguments: [path]))
    }
}
