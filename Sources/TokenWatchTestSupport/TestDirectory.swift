import Foundation

/// A fresh temporary directory for one test, removed when the value goes away.
public final class TestDirectory: Sendable {
    /// The directory's absolute path.
    public let path: String

    /// Creates `tokenwatch-test-<UUID>` under the system's temporary directory.
    public init() throws {
        let base = URL(fileURLWithPath: NSTemporaryDirectory())
            .appendingPathComponent("tokenwatch-test-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: base, withIntermediateDirectories: true)
        path = base.path
    }

    /// The path of `name` inside the directory (not created).
    public func file(_ name: String) -> String { URL(fileURLWithPath: path).appendingPathComponent(name).path }

    deinit { try? FileManager.default.removeItem(atPath: path) }
}
