import Foundation
import Subprocess
import Synchronization

#if canImport(System)
    import System
#else
    import SystemPackage
#endif

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A real PostgreSQL server for tests, started by the tests themselves: `initdb` in a temporary
/// directory, `pg_ctl -w start` on a free port of 127.0.0.1 (its unix socket inside that
/// directory, trust authentication, no fsync), stopped and deleted when the test process ends.
///
///     let server = try await PostgresServer.shared()          // one per test process
///     let url = try await server.createDatabase(named: "store") // a fresh, empty database
///     // TOKENWATCH_DB=\(url)
///
/// Run as root (CI), `initdb` and `pg_ctl` run as the `postgres` OS user (`runuser`), which owns
/// the directory: PostgreSQL refuses to run as root.
///
/// Nothing outlives the test process. Each server has a watchdog, a shell waiting for end of
/// file on a pipe only this process holds; at end of file it runs `pg_ctl -m immediate stop` and
/// deletes the directory. `stop()` and an `atexit` handler close the pipe and wait until the
/// directory is gone; when the process is killed instead, the kernel closes the pipe and the
/// watchdog cleans up the same way.
public final class PostgresServer: Sendable {
    /// The server could not be found, started or asked; `description` says why (and what the
    /// command printed).
    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    /// `postgres://postgres@127.0.0.1:PORT/postgres`: the superuser on the maintenance database.
    public let url: String
    /// The TCP port on 127.0.0.1.
    public let port: Int
    /// The postmaster's process ID.
    public let processID: Int32
    /// The temporary directory holding the cluster (`data/`), its socket and its log.
    public let directory: String
    private let binDirectory: String
    private let watchdogExit: ChildExit

    private init(port: Int, processID: Int32, directory: String, binDirectory: String, watchdogExit: ChildExit) {
        self.url = "postgres://postgres@127.0.0.1:\(port)/postgres"
        self.port = port
        self.processID = processID
        self.directory = directory
        self.binDirectory = binDirectory
        self.watchdogExit = watchdogExit
    }

    private static let sharedServer = Mutex<Task<PostgresServer, any Error>?>(nil)

    /// The test process's server, started on first use; every later call returns the same one
    /// (or the same start failure). Never `stop()` it: other tests share it.
    public static func shared() async throws -> PostgresServer {
        let task = sharedServer.withLock { task in
            if let task { return task }
            let started = Task { try await start() }
            task = started
            return started
        }
        return try await task.value
    }

    /// Starts a server of its own (for a test that stops it); prefer `shared()`.
    /// Throws `Failure` when PostgreSQL is not installed (run `scripts/install-deps.sh --test`).
    public static func start() async throws -> PostgresServer {
        let binDirectory = try await locateBinaries()
        let owner = try serverOwner()
        let directory = try makeDirectory(owner: owner)
        let data = directory + "/data"
        let asOwner = owner.map { ["/usr/sbin/runuser", "-u", $0.name, "--"] } ?? []
        let pgCtl = binDirectory + "/pg_ctl"
        let watchdogExit = try startWatchdog(
            directory: directory, stop: asOwner + [pgCtl, "-D", data, "-m", "immediate", "-w", "stop"])
        do {
            try await run(
                asOwner + [
                    binDirectory + "/initdb", "-D", data, "-U", "postgres", "--auth=trust", "--encoding=UTF8",
                    "--locale=C", "--no-sync",
                ], in: directory)
            // Appending keeps the file's owner (postgres) and mode.
            let settings = """

                # tokenwatch tests: loopback only, a private socket directory, durability off for speed
                listen_addresses = '127.0.0.1'
                unix_socket_directories = '\(directory)/socket'
                max_connections = 300
                fsync = off
                synchronous_commit = off
                full_page_writes = off

                """
            let configuration = try FileHandle(forWritingTo: URL(fileURLWithPath: data + "/postgresql.conf"))
            try configuration.seekToEnd()
            try configuration.write(contentsOf: Data(settings.utf8))
            try configuration.close()

            // A free port can be taken between asking and binding: try a few.
            var lastFailure: (any Error)?
            for _ in 1...3 {
                let port = try freeLoopbackPort()
                do {
                    try await run(
                        asOwner + [
                            pgCtl, "-D", data, "-l", directory + "/postgres.log", "-w", "-t", "60",
                            "-o", "-p \(port)", "start",
                        ], in: directory)
                } catch {
                    lastFailure = error
                    continue
                }
                let pidFile = try String(contentsOfFile: data + "/postmaster.pid", encoding: .utf8)
                guard let processID = pidFile.split(separator: "\n").first.flatMap({ Int32($0) }) else {
                    throw Failure(description: "postmaster.pid has no process ID: \(pidFile)")
                }
                return PostgresServer(
                    port: port, processID: processID, directory: directory, binDirectory: binDirectory,
                    watchdogExit: watchdogExit)
            }
            let log = (try? String(contentsOfFile: directory + "/postgres.log", encoding: .utf8)) ?? ""
            throw Failure(description: "PostgreSQL did not start: \(lastFailure.map { "\($0)" } ?? "")\n\(log)")
        } catch {
            await stopWatchdog(directory: directory, exit: watchdogExit)
            throw error
        }
    }

    /// Creates a fresh, empty database and returns its URL
    /// (`postgres://postgres@127.0.0.1:PORT/NAME_N`). `name` is a label: it is lowercased,
    /// anything but letters, digits and `_` becomes `_`, and a number unique in this process is
    /// appended, so two tests asking for the same name get two databases.
    public func createDatabase(named name: String) async throws -> String {
        let label = String(
            name.lowercased().unicodeScalars.prefix(40).map { scalar in
                ("a"..."z").contains(scalar) || ("0"..."9").contains(scalar) ? Character(scalar) : "_"
            })
        let number = databaseNumbers.withLock { number in
            number += 1
            return number
        }
        let database = "\(label.isEmpty ? "db" : label)_\(number)"
        try await Self.run(
            [binDirectory + "/createdb", "-h", "127.0.0.1", "-p", String(port), "-U", "postgres", database],
            in: directory)
        return "postgres://postgres@127.0.0.1:\(port)/\(database)"
    }

    /// Runs `sql` with `psql` on the database at `url` (one of this server's) and returns the
    /// rows as psql prints them unaligned and without headers (`-tA`: `1|name`, one row a line).
    /// An SQL error throws with psql's message.
    public func psql(_ sql: String, url: String) async throws -> String {
        try await Self.run(
            [binDirectory + "/psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-tA", "-d", url, "-c", sql],
            in: directory)
    }

    /// Stops the server at once (`pg_ctl -m immediate stop`) and deletes its directory; returns
    /// when both are done and the postmaster has exited. Calling it again does nothing more.
    public func stop() async {
        await Self.stopWatchdog(directory: directory, exit: watchdogExit)
        // pg_ctl returns once the postmaster has removed its pid file; it may take a moment more
        // to exit. Wait (up to 10 s) so that "stopped" means no process.
        for _ in 0..<1000 where Self.isRunning(processID) { try? await Task.sleep(for: .milliseconds(10)) }
    }

    /// Whether a process exists and is not a zombie (the postmaster's parent after `pg_ctl`,
    /// init or whoever adopted it, may not have reaped it yet).
    static func isRunning(_ processID: Int32) -> Bool {
        guard let stat = try? String(contentsOfFile: "/proc/\(processID)/stat", encoding: .utf8) else {
            return kill(processID, 0) == 0  // no /proc (macOS): a zombie counts as running there
        }
        guard let afterName = stat.range(of: ") ", options: .backwards) else { return false }
        return !stat[afterName.upperBound...].hasPrefix("Z")
    }
}

// MARK: - Finding and running PostgreSQL

extension PostgresServer {
    /// The directory holding `initdb` and `pg_ctl`: `pg_config --bindir` first, then the newest
    /// `/usr/lib/postgresql/*/bin` (Debian installs each major version there).
    static func locateBinaries() async throws -> String {
        var candidates: [String] = []
        if let config = try? await ExternalProgram.run(["pg_config", "--bindir"]), config.status == 0 {
            candidates.append(
                String(decoding: config.output, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))
        }
        let versions = (try? FileManager.default.contentsOfDirectory(atPath: "/usr/lib/postgresql")) ?? []
        for version in versions.sorted(by: { (Int($0) ?? 0) > (Int($1) ?? 0) }) {
            candidates.append("/usr/lib/postgresql/\(version)/bin")
        }
        let tools = ["initdb", "pg_ctl", "createdb", "psql"]
        if let found = candidates.first(where: { directory in
            tools.allSatisfy { FileManager.default.isExecutableFile(atPath: directory + "/" + $0) }
        }) {
            return found
        }
        throw Failure(
            description:
                "PostgreSQL is not installed (no initdb, pg_ctl, createdb and psql in `pg_config --bindir` or "
                + "/usr/lib/postgresql/*/bin): run scripts/install-deps.sh --test")
    }

    /// Who runs the server: nil for the current user, or the `postgres` OS user when we are root.
    private static func serverOwner() throws -> (name: String, uid: uid_t, gid: gid_t)? {
        guard geteuid() == 0 else { return nil }
        guard let entry = getpwnam("postgres") else {
            throw Failure(
                description:
                    "running as root, the tests start PostgreSQL as the postgres OS user, and there is none: "
                    + "run scripts/install-deps.sh --test")
        }
        return ("postgres", entry.pointee.pw_uid, entry.pointee.pw_gid)
    }

    /// `tokenwatch-pg-XXXXXXXX` in the temporary directory, with `socket/` inside, both owned by
    /// the server's user. Short, because a unix socket path has at most 107 bytes.
    private static func makeDirectory(owner: (name: String, uid: uid_t, gid: gid_t)?) throws -> String {
        let directory =
            URL(fileURLWithPath: NSTemporaryDirectory())
            .appendingPathComponent("tokenwatch-pg-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(
            atPath: directory + "/socket", withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        try FileManager.default.setAttributes([.posixPermissions: 0o700], ofItemAtPath: directory)
        if let owner {
            for path in [directory, directory + "/socket"] where chown(path, owner.uid, owner.gid) != 0 {
                throw Failure(description: "cannot chown \(path) to \(owner.name): \(String(cString: strerror(errno)))")
            }
        }
        return directory
    }

    /// A port on 127.0.0.1 that nothing listens on: bound to learn a free number, then closed.
    private static func freeLoopbackPort() throws -> Int {
        #if canImport(Glibc)
            let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        #else
            let descriptor = socket(AF_INET, SOCK_STREAM, 0)
        #endif
        guard descriptor >= 0 else { throw Failure(description: "socket: \(String(cString: strerror(errno)))") }
        defer { close(descriptor) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(descriptor, $0, length) == 0 && getsockname(descriptor, $0, &length) == 0
            }
        }
        guard bound else { throw Failure(description: "bind 127.0.0.1:0: \(String(cString: strerror(errno)))") }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    /// The environment for PostgreSQL's programs: ours without `PG*` variables, which could point
    /// psql at another server or database.
    private static var environment: [String: String] {
        ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("PG") }
    }

    /// Runs a program (absolute path first) in `directory` to its end and returns its standard
    /// output; a non-zero exit throws with what it printed.
    ///
    /// Through swift-subprocess, not Foundation's `Process`: on Linux, `Process` learns that a
    /// child ended when a socket the child inherits closes, and the postmaster `pg_ctl start`
    /// leaves running inherits it too — the start would never be seen to end.
    @discardableResult
    static func run(_ arguments: [String], in directory: String) async throws -> String {
        var variables: [Environment.Key: String] = [:]
        for (key, value) in environment { variables[Environment.Key(stringLiteral: key)] = value }
        let outcome: ExecutionResult<Void, StringOutput<UTF8>, StringOutput<UTF8>>
        do {
            outcome = try await Subprocess.run(
                .path(FilePath(arguments[0])), arguments: Arguments(Array(arguments.dropFirst())),
                environment: .custom(variables), workingDirectory: FilePath(directory),
                output: .string(limit: 1 << 20), error: .string(limit: 1 << 20))
        } catch {
            throw Failure(description: "cannot run \(arguments[0]): \(error)")
        }
        let printed = outcome.standardOutput
        guard case .exited(0) = outcome.terminationStatus else {
            // The program, not `runuser` in front of it.
            let program = arguments.first { $0.hasPrefix("/") && $0 != "/usr/sbin/runuser" } ?? arguments[0]
            throw Failure(
                description:
                    "\(URL(fileURLWithPath: program).lastPathComponent) ended with \(outcome.terminationStatus): "
                    + outcome.standardError + printed)
        }
        return printed
    }
}

// MARK: - Cleanup: the watchdog, stop() and atexit

/// The write end of each live watchdog's pipe, by server directory.
private let watchdogPipes = Mutex<[String: Int32]>([:])
/// Numbers for `createDatabase(named:)`, unique in this process.
private let databaseNumbers = Mutex(0)

extension PostgresServer {
    /// Registers the `atexit` handler once: it closes every watchdog's pipe and waits (up to 30 s)
    /// until each directory is gone, so no server survives a test process that exits normally.
    private static let atExitHandler: Void = {
        atexit {
            let directories = watchdogPipes.withLock { pipes in
                defer { pipes.removeAll() }
                for descriptor in pipes.values { close(descriptor) }
                return Array(pipes.keys)
            }
            let deadline = Date().addingTimeInterval(30)
            for directory in directories {
                while FileManager.default.fileExists(atPath: directory), Date() < deadline { usleep(10_000) }
            }
        }
    }()

    /// Starts `sh` waiting for end of file on its standard input; then it runs `stop` and deletes
    /// `directory`. Only this process holds the pipe's write end (close-on-exec, so no other child
    /// inherits it): it closes when we close it or when the process dies, however it dies.
    private static func startWatchdog(directory: String, stop: [String]) throws -> ChildExit {
        _ = atExitHandler
        var ends: [Int32] = [-1, -1]
        // (pipe2 with O_CLOEXEC is not in Swift's Glibc module; children Foundation spawns in
        // between are started with only 0, 1 and 2 open.)
        let made = pipe(&ends) == 0 && ends.allSatisfy { fcntl($0, F_SETFD, FD_CLOEXEC) == 0 }
        guard made else { throw Failure(description: "pipe: \(String(cString: strerror(errno)))") }
        let readEnd = FileHandle(fileDescriptor: ends[0], closeOnDealloc: true)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments =
            ["-c", #"cat >/dev/null; "$@" >/dev/null 2>&1; rm -rf "$0""#, directory] + stop
        process.currentDirectoryURL = URL(fileURLWithPath: "/")
        process.environment = environment
        // Becomes the child's descriptor 0, which exec keeps; our copies are close-on-exec.
        process.standardInput = readEnd
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        let exit = ChildExit()
        process.terminationHandler = { _ in exit.markExited() }
        do {
            try process.run()
        } catch {
            close(ends[1])
            try? FileManager.default.removeItem(atPath: directory)
            throw Failure(description: "cannot start the PostgreSQL watchdog (/bin/sh): \(error)")
        }
        try? readEnd.close()
        watchdogPipes.withLock { $0[directory] = ends[1] }
        return exit
    }

    /// Closes the watchdog's pipe (once) and waits until it has stopped the server and deleted
    /// the directory.
    private static func stopWatchdog(directory: String, exit: ChildExit) async {
        if let descriptor = watchdogPipes.withLock({ $0.removeValue(forKey: directory) }) {
            close(descriptor)
        }
        await exit.wait()
    }
}

/// Whether a child has exited, and who waits for it (fed by `Process.terminationHandler`).
private final class ChildExit: Sendable {
    private let state = Mutex<(exited: Bool, waiters: [CheckedContinuation<Void, Never>])>((false, []))

    func markExited() {
        let waiters = state.withLock { state in
            state.exited = true
            defer { state.waiters.removeAll() }
            return state.waiters
        }
        for waiter in waiters { waiter.resume() }
    }

    func wait() async {
        await withCheckedContinuation { continuation in
            let exited = state.withLock { state in
                if !state.exited { state.waiters.append(continuation) }
                return state.exited
            }
            if exited { continuation.resume() }
        }
    }
}
