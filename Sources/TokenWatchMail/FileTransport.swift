import Foundation
import TokenWatchModel
import TokenWatchSystem

/// Delivers mail as `.eml` files in a directory (`TOKENWATCH_SMTP_URL=file:///dir`): for
/// `tokenwatch demo`, audits and environments without a mail server.
///
/// Each message becomes one file named from the time and the Message-ID
/// (`20251129T043300Z-digest.3f…_example.com.eml`). The file is written under a temporary
/// name and then linked into place, so a reader never sees half a message, and an existing
/// file is never replaced: a name already taken gets `-2`, `-3` … before the extension.
public struct FileTransport: MailTransport {
    /// The directory the files go to; created when missing.
    public let directory: String
    private let now: @Sendable () -> Date

    /// Creates a transport writing into `directory`. `now` names the files (injected for tests).
    public init(directory: String, now: @escaping @Sendable () -> Date = { Date() }) {
        self.directory = directory
        self.now = now
    }

    /// Writes the message and returns the path of the file written.
    /// - Throws: `MailError.cannotWrite` when the directory or the file cannot be written.
    public func send(_ message: MailMessage) async throws -> String {
        try await BlockingWork.run { try write(message) }
    }

    /// The synchronous body of `send`, with a typed error.
    public func write(_ message: MailMessage) throws(MailError) -> String {
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw MailError.cannotWrite(
                path: directory, reason: "cannot create the directory: \(error.localizedDescription)")
        }
        let stem = UTCTime.compact(now()) + "-" + Self.sanitised(message.messageID)
        let temporary: String
        do {
            temporary = try AtomicFile.writeTemporary(message.data, in: directory, hint: stem, mode: .masked(0o644))
        } catch {
            throw MailError.cannotWrite(path: error.path, reason: error.reason)
        }
        defer { _ = unlink(temporary) }

        for attempt in 1...10_000 {
            let final = path(attempt == 1 ? "\(stem).eml" : "\(stem)-\(attempt).eml")
            do {
                if try AtomicFile.publishWithoutOverwriting(temporary, at: final) != nil { return final }
            } catch {
                throw MailError.cannotWrite(path: final, reason: error.reason)
            }
        }
        throw MailError.cannotWrite(path: path("\(stem).eml"), reason: "too many files with this name")
    }

    private func path(_ name: String) -> String {
        URL(fileURLWithPath: directory).appendingPathComponent(name).path
    }

    /// A Message-ID as a file-name fragment: letters, digits, `.`, `-` and `_` only (`@` and
    /// everything else become `_`), no leading dot, at most 120 characters.
    static func sanitised(_ messageID: String) -> String {
        var out = String(
            messageID.unicodeScalars.map { scalar -> Character in
                switch scalar.value {
                case 0x30...0x39, 0x41...0x5A, 0x61...0x7A, 0x2D, 0x2E, 0x5F: Character(scalar)
                default: "_"
                }
            })
        while out.hasPrefix(".") { out.removeFirst() }
        if out.count > 120 { out = String(out.prefix(120)) }
        return out.isEmpty ? "message" : out
    }
}
