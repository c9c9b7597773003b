import Foundation
import Testing

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

        let content = try String(contentsOfFile: db + ".lock", encoding: .utf8)
        #expect(content == "pid=\(getpid())\nsince=1795926550\n")

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
        holder.waitUntilExit()
        #expect(holder.terminationReason == .uncaughtSignal)

        let lock = try RunLock.acquire(databasePath: db)
        defer { lock.release() }
        #expect(try String(contentsOfFile: db + ".lock", encoding: .utf8).hasPrefix("pid=\(getpid())\n"))
    }
}
