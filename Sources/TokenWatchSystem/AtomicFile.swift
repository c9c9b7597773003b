import Foundation

/// Writes files so that readers see a whole file or none: the bytes go to a hidden temporary
/// file in the target's own directory (so a rename never crosses file systems), are flushed to
/// disk, and only then get their final name — by `rename(2)` to replace a file, or by `link(2)`
/// to publish one without ever replacing what is there.
///
/// The one home of the open/write/fsync/close/unlink steps and their errno handling, shared by
/// the metrics file, the report writer and the `.eml` file transport. Each caller keeps its own
/// error type and naming rules and maps `Failure` to them.
package enum AtomicFile {
    /// A step failed: the path it failed on and why, in the system's words (`strerror`).
    package struct Failure: Error {
        package var path: String
        package var reason: String

        package init(path: String, reason: String) {
            self.path = path
            self.reason = reason
        }

        /// The failure for `errno` value `code`.
        package init(path: String, code: Int32) {
            self.init(path: path, reason: String(cString: strerror(code)))
        }
    }

    /// The permissions a new file gets.
    package enum Mode: Sendable, Equatable {
        /// Passed to `open(2)`: the process umask still applies (reports, mail).
        case masked(mode_t)
        /// Set with `fchmod(2)` before the file gets its name, whatever the umask (metrics).
        case exact(mode_t)
    }

    /// How `publishWithoutOverwriting` gave a temporary file its final name, so that
    /// `unpublish` can take it back.
    package enum Placement: Sendable, Equatable {
        /// Hard-linked: the temporary file is still there.
        case linked
        /// The file system has no hard links: an exclusive empty file claimed the name, then the
        /// temporary file was renamed over it.
        case renamed
    }

    /// Writes `bytes` to a new file `.<hint>.<random>.tmp` in `directory`, flushed to disk, and
    /// returns its path. Hidden and ending in `.tmp`, so no glob for the real files (`*.prom`,
    /// reports, `*.eml`) and no pruning ever picks it up. Nothing is left behind on failure.
    package static func writeTemporary(_ bytes: [UInt8], in directory: String, hint: String, mode: Mode) throws(Failure)
        -> String
    {
        let openMode: mode_t
        switch mode {
        case .masked(let bits): openMode = bits
        // Private until fchmod, so the file is never more open than asked for.
        case .exact: openMode = 0o600
        }
        for _ in 0..<100 {
            let name = ".\(hint)." + String(UInt64.random(in: 0...UInt64.max), radix: 16) + ".tmp"
            let path = path(directory, name)
            let descriptor = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, openMode)
            if descriptor < 0 {
                let code = errno
                if code == EEXIST { continue }
                throw Failure(path: path, code: code)
            }
            var failure: Int32?
            var offset = 0
            while offset < bytes.count, failure == nil {
                let written = bytes.withUnsafeBytes { buffer -> Int in
                    guard let base = buffer.baseAddress else { return 0 }
                    return write(descriptor, base + offset, buffer.count - offset)
                }
                if written < 0 {
                    if errno != EINTR { failure = errno }
                } else {
                    offset += written
                }
            }
            if failure == nil, case .exact(let bits) = mode, fchmod(descriptor, bits) != 0 { failure = errno }
            if failure == nil, fsync(descriptor) != 0 { failure = errno }
            if close(descriptor) != 0, failure == nil { failure = errno }
            if let failure {
                _ = unlink(path)
                throw Failure(path: path, code: failure)
            }
            return path
        }
        throw Failure(path: directory, reason: "no free temporary file name")
    }

    /// Gives `temporary` the name `final` unless that name exists: nil when it does, and the
    /// temporary file is then untouched. `link(2)` fails with EEXIST instead of replacing, so
    /// the first writer of a name keeps it even against other processes.
    package static func publishWithoutOverwriting(_ temporary: String, at final: String) throws(Failure) -> Placement? {
        if link(temporary, final) == 0 { return .linked }
        let code = errno
        if code == EEXIST { return nil }
        guard code == EPERM || code == ENOTSUP || code == EOPNOTSUPP || code == ENOSYS || code == EMLINK else {
            throw Failure(path: final, code: code)
        }
        // No hard links here (some network and FAT file systems): claim the name with O_EXCL,
        // then rename the complete file over our own claim.
        let claim = open(final, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        if claim < 0 {
            let claimCode = errno
            if claimCode == EEXIST { return nil }
            throw Failure(path: final, code: claimCode)
        }
        close(claim)
        if rename(temporary, final) != 0 {
            let renameCode = errno
            _ = unlink(final)
            throw Failure(path: final, code: renameCode)
        }
        return .renamed
    }

    /// Undoes `publishWithoutOverwriting`, so the temporary file can be published under
    /// another name. Best effort.
    package static func unpublish(_ placement: Placement, from final: String, to temporary: String) {
        switch placement {
        case .linked: _ = unlink(final)
        case .renamed: _ = rename(final, temporary)
        }
    }

    /// Replaces the file at `path` atomically with one holding `bytes`, then makes the new
    /// name durable.
    package static func replace(_ path: String, with bytes: [UInt8], mode: Mode) throws(Failure) {
        let directory = (path as NSString).deletingLastPathComponent
        let temporary = try writeTemporary(bytes, in: directory, hint: (path as NSString).lastPathComponent, mode: mode)
        guard rename(temporary, path) == 0 else {
            let code = errno
            _ = unlink(temporary)
            throw Failure(path: path, code: code)
        }
        syncDirectory(directory)
    }

    /// Flushes the directory's entries, so new names survive a power cut. Best effort: some file
    /// systems refuse.
    package static func syncDirectory(_ directory: String) {
        let descriptor = open(directory.isEmpty ? "." : directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard descriptor >= 0 else { return }
        _ = fsync(descriptor)
        close(descriptor)
    }

    /// `name` in `directory`; the current directory when `directory` is empty.
    package static func path(_ directory: String, _ name: String) -> String {
        if directory.isEmpty { return name }
        return directory.hasSuffix("/") ? directory + name : directory + "/" + name
    }
}
