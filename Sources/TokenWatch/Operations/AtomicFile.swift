import Foundation

/// Replaces a file atomically: a temporary file in the same directory (so the rename never
/// crosses file systems), written, flushed to disk, given its final mode regardless of the
/// umask, then renamed over the target. Readers see the old file or the new one, never half.
enum AtomicFile {
    /// Why the write failed, in words.
    struct Failure: Error {
        var reason: String
    }

    /// Writes `bytes` to `path` atomically with permissions `mode`. The temporary name starts
    /// with a dot and ends in `.tmp`, so collectors that read `*.prom` never pick it up.
    static func replace(_ path: String, with bytes: [UInt8], mode: mode_t = 0o644) throws(Failure) {
        let directory = (path as NSString).deletingLastPathComponent
        let name = (path as NSString).lastPathComponent
        let suffix = String(UInt64.random(in: 0...UInt64.max), radix: 36)
        let temporary = (directory.isEmpty ? "" : directory + "/") + ".\(name).\(getpid()).\(suffix).tmp"

        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw Failure(reason: errnoDescription()) }
        var renamed = false
        defer { if !renamed { unlink(temporary) } }

        var failure: String? = nil
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { buffer -> Int in
                guard let base = buffer.baseAddress else { return 0 }
                return write(fd, base + offset, buffer.count - offset)
            }
            if n < 0 {
                if errno == EINTR { continue }
                failure = errnoDescription()
                break
            }
            offset += n
        }
        if failure == nil, fchmod(fd, mode) != 0 { failure = errnoDescription() }
        if failure == nil, fsync(fd) != 0 { failure = errnoDescription() }
        if close(fd) != 0, failure == nil { failure = errnoDescription() }
        if let failure { throw Failure(reason: failure) }

        guard rename(temporary, path) == 0 else { throw Failure(reason: errnoDescription()) }
        renamed = true
        // Make the rename itself durable; best effort (some file systems refuse).
        let directoryFD = open(directory.isEmpty ? "." : directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if directoryFD >= 0 {
            _ = fsync(directoryFD)
            close(directoryFD)
        }
    }

    private static func errnoDescription() -> String { String(cString: strerror(errno)) }
}
