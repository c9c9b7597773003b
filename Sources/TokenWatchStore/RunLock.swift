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
/// and start time.
///
/// `flock` locks belong to an open file description, so a second `acquire` in the same
/// process conflicts with the first, as a second process would. On NFS, `flock` is emulated
/// with POSIX locks (Linux ≥ 2.6.12); keep the database on a local disk anyway.
public final class RunLock: Sendable {
    /// The lock file, `<database>.lock`.
    public let path: String
    /// The open, locked descriptor; -1 once released.
    private let descriptor: Mutex<Int32>

    private init(path: String, descriptor: Int32) {
        self.path = path
        self.descriptor = Mutex(descriptor)
    }

    deinit { release() }

    /// The lock file that guards a database.
    public static func lockPath(forDatabase databasePath: String) -> String {
        databasePath + ".lock"
    }

    /// Takes the lock for `databasePath`, or throws `.held` at once when another run has it.
    public static func acquire(databasePath: String, now: Date = Date()) throws(RunLockError) -> RunLock {
        let path = lockPath(forDatabase: databasePath)
        var fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        var writable = true
        if fd < 0 && errno == EACCES {
            // A lock file left by another user (root ran a check by hand): flock works on a
            // read-only descriptor too; only the holder record cannot be written.
            fd = open(path, O_RDONLY | O_CLOEXEC)
            writable = false
        }
        guard fd >= 0 else { throw .cannotOpen(path: path, reason: lastError()) }

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
        // Informational only; a failure here does not matter for the lock itself.
        let content = "pid=\(getpid())\nsince=\(Int64(now.timeIntervalSince1970))\n"
        _ = ftruncate(fd, 0)
        _ = content.utf8CString.withUnsafeBufferPointer { buffer in
            pwrite(fd, buffer.baseAddress, buffer.count - 1, 0)
        }
        return RunLock(path: path, descriptor: fd)
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
        }
    }
}
