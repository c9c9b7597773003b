import Foundation
import Testing
import TokenWatchSystem

@testable import TokenWatchStore

@Suite struct RunLockTests {
    private func heldError(_ databasePath: String) -> RunLockError? {
        do {
            let lock = try RunLock.acquire(databasePath: databasePath)
            lock.release()
            return nil
        } catch {
            return error
        }
    }

    @Test func aSecondAcquisitionFailsAtOnceWithTheHolder() throws {
        let dir = try OpsScratchDirectory()
        let db = dir.path + "/tw.sqlite3"
        let started = Date(timeIntervalSince1970: 1_795_926_550)
        let first = try RunLock.acquire(databasePath: db, now: started)
        #expect(first.path == db + ".lock")
        #expect(first.isHeld)

        // A fixed-size record written in place (the file is never truncated).
        let content = try String(contentsOfFile: db + ".lock", encoding: .utf8)
        #expect(content.hasPrefix("pid=\(getpid())\nsince=1795926550\n"))
        #expect(content.utf8.count == RunLock.holderRecordSize)
        #expect(content.hasSuffix(" \n"))

        let clock = ContinuousClock()
        let begin = clock.now
        let second = heldError(db)
        #expect(second == .held(byPID: getpid(), since: started))
        #expect(clock.now - begin < .seconds(1))  // non-blocking
        #expect(
            second?.description
                == "another tokenwatch check is running on this database (pid \(getpid()), since 2026-11-29T04:29:10Z); this run stops here"
        )

        first.release()
        #expect(!first.isHeld)
        first.release()  // idempotent
        #expect(heldError(db) == nil)
    }

    @Test func deinitReleasesTheLock() throws {
        let dir = try OpsScratchDirectory()
        let db = dir.path + "/tw.sqlite3"
        do {
            let lock = try RunLock.acquire(databasePath: db)
            #expect(lock.isHeld)
        }
        #expect(heldError(db) == nil)
    }

    @Test func aMissingDirectoryIsReported() {
        let error = heldError("/nonexistent-dir/tw.sqlite3")
        #expect(error == .cannotOpen(path: "/nonexistent-dir/tw.sqlite3.lock", reason: "No such file or directory"))
    }

    /// A holder killed with SIGKILL leaves no stale lock: the kernel releases it.
    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/flock"), "needs util-linux flock"))
    func aKilledHolderNeverLeavesAStaleLock() async throws {
        let dir = try OpsScratchDirectory()
        let db = dir.path + "/tw.sqlite3"
        let holder = Process()
        holder.executableURL = URL(fileURLWithPath: "/usr/bin/flock")
        // --no-fork: flock execs sleep in the same process, so killing it kills the only holder.
        holder.arguments = ["--no-fork", "--exclusive", db + ".lock", "sleep", "60"]
        try holder.run()
        defer { if holder.isRunning { kill(holder.processIdentifier, SIGKILL) } }

        // Wait until the child has the lock (it may start after our first look).
        var sawHeld = false
        for _ in 0..<250 {
            if case .held? = heldError(db) {
                sawHeld = true
                break
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        #expect(sawHeld, "the child never took the lock")
        // flock(1) writes nothing into the file, so a holder shows what the file says: here a
        // record from an earlier holder, written in place (same inode as the locked file).
        try "pid=999999\nsince=1\n".write(toFile: db + ".lock", atomically: false, encoding: .utf8)
        #expect(heldError(db) == .held(byPID: 999_999, since: Date(timeIntervalSince1970: 1)))

        kill(holder.processIdentifier, SIGKILL)
        try await BlockingWork.run { holder.waitUntilExit() }
        #expect(holder.terminationReason == .uncaughtSignal)

        let lock = try RunLock.acquire(databasePath: db)
        defer { lock.release() }
        #expect(try String(contentsOfFile: db + ".lock", encoding: .utf8).hasPrefix("pid=\(getpid())\n"))
    }

    /// `ln -s victim.conf tw.sqlite3.lock`: refused, the victim untouched.
    @Test func aSymlinkAtTheLockPathIsRefusedAndItsTargetUntouched() throws {
        let dir = try OpsScratchDirectory()
        let db = dir.path + "/tw.sqlite3"
        let victim = dir.path + "/victim.conf"
        try "secret=keep me\n".write(toFile: victim, atomically: false, encoding: .utf8)
        try FileManager.default.createSymbolicLink(atPath: db + ".lock", withDestinationPath: victim)
        let error = heldError(db)
        #expect(error == .unsafePath(path: db + ".lock", what: "a symbolic link"))
        #expect(error?.description.contains(db + ".lock") == true)
        #expect(try String(contentsOfFile: victim, encoding: .utf8) == "secret=keep me\n")
    }

    @Test func aDanglingSymlinkIsRefusedAndItsTargetNeverCreated() throws {
        let dir = try OpsScratchDirectory()
        let db = dir.path + "/tw.sqlite3"
        let target = dir.path + "/created-by-the-lock"
        try FileManager.default.createSymbolicLink(atPath: db + ".lock", withDestinationPath: target)
        #expect(heldError(db) == .unsafePath(path: db + ".lock", what: "a symbolic link"))
        #expect(!FileManager.default.fileExists(atPath: target))
    }

    @Test func aFIFOADirectoryOrAHardLinkAtTheLockPathIsRefused() throws {
        let dir = try OpsScratchDirectory()
        let fifoDB = dir.path + "/fifo.sqlite3"
        #expect(mkfifo(fifoDB + ".lock", 0o644) == 0)
        let clock = ContinuousClock()
        let begin = clock.now
        #expect(heldError(fifoDB) == .unsafePath(path: fifoDB + ".lock", what: "a FIFO"))
        #expect(clock.now - begin < .seconds(1))  // never blocks on the FIFO

        let dirDB = dir.path + "/dir.sqlite3"
        try FileManager.default.createDirectory(atPath: dirDB + ".lock", withIntermediateDirectories: false)
        #expect(heldError(dirDB) == .unsafePath(path: dirDB + ".lock", what: "a directory"))

        let linkDB = dir.path + "/link.sqlite3"
        let victim = dir.path + "/victim.txt"
        try "0123456789".write(toFile: victim, atomically: false, encoding: .utf8)
        #expect(link(victim, linkDB + ".lock") == 0)
        #expect(heldError(linkDB) == .unsafePath(path: linkDB + ".lock", what: "a file with 2 hard links"))
        #expect(try String(contentsOfFile: victim, encoding: .utf8) == "0123456789")
    }

    /// A longer record left by an earlier holder is overwritten in place, never truncated, and
    /// the new holder's figures are what a second run reads.
    @Test func theHolderRecordIsWrittenInPlace() throws {
        let dir = try OpsScratchDirectory()
        let db = dir.path + "/tw.sqlite3"
        let old = String(repeating: "x", count: 100)
        try old.write(toFile: db + ".lock", atomically: false, encoding: .utf8)
        let started = Date(timeIntervalSince1970: 1_795_926_550)
        let lock = try RunLock.acquire(databasePath: db, now: started)
        defer { lock.release() }
        let content = try String(contentsOfFile: db + ".lock", encoding: .utf8)
        #expect(content.utf8.count == 100)
        #expect(content.hasPrefix("pid=\(getpid())\nsince=1795926550\n"))
        #expect(heldError(db) == .held(byPID: getpid(), since: started))
    }
}
