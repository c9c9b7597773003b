import Foundation
import Synchronization

@testable import TokenWatch
@testable import TokenWatchMail
@testable import TokenWatchModel

/// A fresh directory under the system temp dir, removed when the value goes away.
final class OpsScratchDirectory: Sendable {
    let path: String

    init() throws {
        let path = NSTemporaryDirectory() + "tokenwatch-ops-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        self.path = path
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    /// Writes `text` to `name` inside the directory and returns the full path.
    @discardableResult
    func write(_ name: String, _ text: String) throws -> String {
        let file = path + "/" + name
        try Data(text.utf8).write(to: URL(fileURLWithPath: file))
        return file
    }

    func contents() throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: path).sorted()
    }
}

/// Collects what a `ConsoleOutput` writes.
final class OpsConsoleCapture: Sendable {
    private let bytes = Mutex<[UInt8]>([])

    func output(isTerminal: Bool) -> ConsoleOutput {
        ConsoleOutput(isTerminal: isTerminal) { [self] written in bytes.withLock { $0 += written } }
    }

    var text: String { bytes.withLock { String(decoding: $0, as: UTF8.self) } }
    /// Non-empty lines written so far.
    var lines: [String] { text.split(separator: "\n").map(String.init) }
}

/// A clock the test moves by hand, in seconds.
final class OpsManualClock: Sendable {
    private let now = Mutex<Double>(100)
    func advance(by seconds: Double) { now.withLock { $0 += seconds } }
    var read: @Sendable () -> Double { { [self] in now.withLock { $0 } } }
}
