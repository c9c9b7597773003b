import Foundation
import Synchronization
import TokenWatchModel

/// One `check` run per database: an exclusive `flock` on `<database>.lock`.
///
/// Taking it never waits (`LOCK_NB`), so it never occupies a thread: a second run learns at
/// once who holds it. The kernel drops the lock when the holder's file description closes —
/// on `release()`, on deinit, or when the process dies however it dies — so a crashed or
/// killed run never leaves a stale lock behind. The file itself stays (deleting it would let
/// two runs lock two different files); its content is only informational: the holder's PID
/// and start time. The lock path is opened without following symlinks and is never truncated;
/// anything there but a plain regular file is refused (`RunLockError.unsafePath`).
///
/// `flock` locks belong to an open file description, so a second `acquire` in the same
/// process conflicts with the first, as a second process would. On NFS, `flock` is emulated
/// with POSIX locks (Linux ≥ 2.6.12); keep the database on a local disk anyway.
public final class RunLock: RunLease {
    /// The lock file, `<database>.lock`.
    public let path: String
    /// The open, locked descriptor; -1 once released.
    private let descriptor: Mutex<Int32>

    private init(path: String, descriptor: Int32) {
        self.path = path
        self.descriptor = Mutex(descriptor)
    }

    deinit { release() }

    /// The lock file that guards a database, or one shard's run on it.
    public static func lockPath(forDatabase databasePath: String, shard: Shard? = nil) -> String {
        guard let shard else { return databasePath + ".lock" }
        return databasePath + ".shard-\(shard.index)-of-\(shard.count).lock"
    }

    /// The lock file.
    public var description: String { path }

    /// Takes the lock for `databasePath`, or throws `.held` at once when another run has it.
    ///
    /// The lock path is never followed and never truncated: a symbolic link there (dangling or
    /// not), a directory, a FIFO, a device or a file with other hard links is refused with
    /// `.unsafePath` before anything is written, so `ln -s victim.conf tokenwatch.sqlite3.lock`
    /// can neither truncate the victim nor create a link's target. The holder record is
    /// written only into the regular file we hold the lock on.
    public static func acquire(databasePath: String, shard: Shard? = nil, now: Date = Date()) throws(RunLockError)
        -> RunLock
    {
        let path = lockPath(forDatabase: databasePath, shard: shard)
        // A first look with lstat names what is in the way; the checks on the open descriptor
        // below are what make it safe against a swap in between.
        var before = stat()
        if lstat(path, &before) == 0, let what = unsafeKind(before) {
            throw .unsafePath(path: path, what: what)
        }
        // O_NOFOLLOW: a symlink (even one created since lstat) fails with ELOOP and is never
        // followed, so its target is neither opened nor created. O_NONBLOCK: a FIFO swapped in
        // cannot block the open; it has no effect on a regular file.
        let flags = O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC
        var fd = open(path, O_RDWR | O_CREAT | flags, 0o644)
        var writable = true
        if fd < 0 && errno == EACCES {
            // A lock file left by another user (root ran a check by hand): flock works on a
            // read-only descriptor too; only the holder record cannot be written.
            fd = open(path, O_RDONLY | flags)
            writable = false
        }
        guard fd >= 0 else {
            let code = errno
            switch code {
            case ELOOP: throw .unsafePath(path: path, what: "a symbolic link")
            case EISDIR: throw .unsafePath(path: path, what: "a directory")
            default: throw .cannotOpen(path: path, reason: String(cString: strerror(code)))
            }
        }
        var opened = stat()
        guard fstat(fd, &opened) == 0 else {
            let reason = lastError()
            close(fd)
            throw .cannotOpen(path: path, reason: reason)
        }
        if let what = unsafeKind(opened) {
            close(fd)
            throw .unsafePath(path: path, what: what)
        }

        var result: Int32
        repeat { result = flock(fd, LOCK_EX | LOCK_NB) } while result != 0 && errno == EINTR
        if result != 0 {
            let code = errno
            defer { close(fd) }
            if code == EWOULDBLOCK || code == EAGAIN {
                let holder = readHolder(fd)
                throw .held(byPID: holder.pid, since: holder.since)
            }
            throw .cannotLock(path: path, reason: String(cString: strerror(code)))
        }

        guard writable else { return RunLock(path: path, descriptor: fd) }
        // Informational only; a failure here does not matter for the lock itself. Written in
        // place as a fixed-size record, so the file is never truncated and a shorter record
        // never leaves the tail of a longer one behind.
        let record = holderRecord(pid: getpid(), since: now)
        _ = record.withUnsafeBufferPointer { buffer in pwrite(fd, buffer.baseAddress, buffer.count, 0) }
        return RunLock(path: path, descriptor: fd)
    }

    /// The size of the holder record: room for any PID and time, padded with spaces.
    static let holderRecordSize = 64

    /// `pid=…\nsince=…\n`, padded with spaces to `holderRecordSize - 1` bytes and ended by a
    /// newline.
    static func holderRecord(pid: Int32, since: Date) -> [UInt8] {
        var record = Array("pid=\(pid)\nsince=\(Int64(since.timeIntervalSince1970))\n".utf8)
        let padding = max(0, holderRecordSize - 1 - record.count)
        record += [UInt8](repeating: UInt8(ascii: " "), count: padding) + [UInt8(ascii: "\n")]
        return record
    }

    /// What makes a lock path unsafe to use, or nil for a plain regular file with one link.
    static func unsafeKind(_ info: stat) -> String? {
        switch info.st_mode & S_IFMT {
        case S_IFREG:
            // Another name for the same file (a hard link to a victim) would have it overwritten.
            return info.st_nlink > 1 ? "a file with \(info.st_nlink) hard links" : nil
        case S_IFLNK: return "a symbolic link"
        case S_IFDIR: return "a directory"
        case S_IFIFO: return "a FIFO"
        case S_IFSOCK: return "a socket"
        case S_IFCHR, S_IFBLK: return "a device"
        default: return "not a regular file"
        }
    }

    /// Lets the next run in. Safe to call more than once.
    public func release() {
        descriptor.withLock { fd in
            guard fd >= 0 else { return }
            // Closing the last descriptor of the open file description drops the flock.
            close(fd)
            fd = -1
        }
    }

    /// Whether this value still holds the lock.
    public var isHeld: Bool { descriptor.withLock { $0 >= 0 } }

    private static func readHolder(_ fd: Int32) -> (pid: Int32?, since: Date?) {
        var buffer = [UInt8](repeating: 0, count: 256)
        let n = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, 0) }
        guard n > 0 else { return (nil, nil) }
        var pid: Int32? = nil
        var since: Date? = nil
        for line in String(decoding: buffer[..<n], as: UTF8.self).split(separator: "\n") {
            let parts = line.split(separator: "=", maxSplits: 1)
            guard parts.count == 2 else { continue }
            switch parts[0] {
            case "pid": pid = Int32(parts[1]).flatMap { $0 > 0 ? $0 : nil }
            case "since": since = Int64(parts[1]).map { Date(timeIntervalSince1970: TimeInterval($0)) }
            default: break
            }
        }
        return (pid, since)
    }

    private static func lastError() -> String { String(cString: strerror(errno)) }
}

/// The run lock could not be taken.
public enum RunLockError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Another run holds it. The PID and start time are what the holder wrote; nil when it has
    /// not written them yet or the holder is not TokenWatch (e.g. `flock(1)` by an operator).
    case held(byPID: Int32?, since: Date?)
    /// The lock file cannot be opened or created (missing directory, permissions).
    case cannotOpen(path: String, reason: String)
    /// `flock` failed for a reason other than contention.
    case cannotLock(path: String, reason: String)
    /// The lock path is a symbolic link, a directory, a FIFO, a device or a file with other
    /// hard links: refused, never followed or written (a configuration problem, exit 78).
    case unsafePath(path: String, what: String)

    public var description: String {
        switch self {
        case .held(let pid, let since):
            var holder = "another tokenwatch check is running on this database"
            var details: [String] = []
            if let pid { details.append("pid \(pid)") }
            if let since { details.append("since \(since.formatted(.iso8601))") }
            if !details.isEmpty { holder += " (" + details.joined(separator: ", ") + ")" }
            return holder + "; this run stops here"
        case .cannotOpen(let path, let reason):
            return "cannot open the run lock \(path): \(reason)"
        case .cannotLock(let path, let reason):
            return "cannot lock \(path): \(reason)"
        case .unsafePath(let path, let what):
            return
                "refusing the run lock \(path): it is \(what), not a regular file of its own; the lock path is never followed or overwritten. Remove it; tokenwatch creates a plain file there"
        }
    }
}
