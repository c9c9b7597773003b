import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

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
        try write(message)
    }

    /// The synchronous body of `send`, with a typed error.
    public func write(_ message: MailMessage) throws(MailError) -> String {
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw MailError.cannotWrite(path: directory, reason: "cannot create the directory: \(error.localizedDescription)")
        }
        let stem = UTCTime.compact(now()) + "-" + Self.sanitised(message.messageID)
        let temporary = path(".\(stem).\(UUID().uuidString).tmp")
        try writeFile(temporary, message.data)
        defer { _ = unlink(temporary) }

        for attempt in 1...10_000 {
            let name = attempt == 1 ? "\(stem).eml" : "\(stem)-\(attempt).eml"
            let final = path(name)
            if link(temporary, final) == 0 { return final }
            let code = errno
            switch code {
            case EEXIST:
                continue
            case EPERM, ENOTSUP, EOPNOTSUPP, EMLINK, ENOSYS:
                // A file system without hard links: rename instead, after checking the name is
                // free (a small race that only matters if two writers share one directory).
                if FileManager.default.fileExists(atPath: final) { continue }
                if rename(temporary, final) == 0 { return final }
                throw MailError.cannotWrite(path: final, reason: Self.describe(errno))
            default:
                throw MailError.cannotWrite(path: final, reason: Self.describe(code))
            }
        }
        throw MailError.cannotWrite(path: path("\(stem).eml"), reason: "too many files with this name")
    }

    private func path(_ name: String) -> String {
        URL(fileURLWithPath: directory).appendingPathComponent(name).path
    }

    private func writeFile(_ path: String, _ data: [UInt8]) throws(MailError) {
        let descriptor = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else {
            throw MailError.cannotWrite(path: path, reason: Self.describe(errno))
        }
        var failure: Int32?
        data.withUnsafeBytes { buffer in
            var offset = 0
            while offset < buffer.count, let base = buffer.baseAddress {
                let written = systemWrite(descriptor, base + offset, buffer.count - offset)
                if written < 0 {
                    if errno == EINTR { continue }
                    failure = errno
                    return
                }
                offset += written
            }
        }
        if failure == nil, fsync(descriptor) != 0 { failure = errno }
        if close(descriptor) != 0, failure == nil { failure = errno }
        if let failure {
            _ = unlink(path)
            throw MailError.cannotWrite(path: path, reason: Self.describe(failure))
        }
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

    private static func describe(_ code: Int32) -> String {
        String(cString: strerror(code))
    }
}

/// `write(2)`, named apart from `FileTransport.write(_:)`.
@inline(__always)
private func systemWrite(_ descriptor: Int32, _ buffer: UnsafeRawPointer, _ count: Int) -> Int {
    #if canImport(Glibc)
    Glibc.write(descriptor, buffer, count)
    #elseif canImport(Musl)
    Musl.write(descriptor, buffer, count)
    #else
    Darwin.write(descriptor, buffer, count)
    #endif
}
