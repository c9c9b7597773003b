import Foundation

/// A fresh temporary directory for one test, removed when the value goes away.
final class TestDirectory: Sendable {
    let path: String

    init() throws {
        let base = URL(fileURLWithPath: NSTemporaryDirectory())
            .appendingPathComponent("tokenwatch-test-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: base, withIntermediateDirectories: true)
        path = base.path
    }

    func file(_ name: String) -> String { URL(fileURLWithPath: path).appendingPathComponent(name).path }

    deinit { try? FileManager.default.removeItem(atPath: path) }
}
