import Dispatch
import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// A throw-away PostgreSQL server for the store tests: `initdb` in a temporary directory (trust
/// authentication, no fsync), `pg_ctl start` on a free loopback port, as the `postgres` OS user
/// when we are root; stopped and deleted when the test process exits.
///
/// Commands run through `posix_spawn` and `waitpid` on a Dispatch thread: `pg_ctl start` leaves
/// a daemon behind, and Foundation's `Process` did not always report its exit here.
final class TestPostgres: Sendable {
    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    let port: Int
    let directory: String
    let binaries: String
    private let asOwner: String

    private init(port: Int, directory: String, binaries: String, asOwner: String) {
        self.port = port
        self.directory = directory
        self.binaries = binaries
        self.asOwner = asOwner
    }

    private static let server = Mutex<Task<TestPostgres, any Error>?>(nil)
    private static let numbers = Mutex(0)
    private static let started = Mutex<[String]>([])

    /// The test process's server, started on first use.
    static func shared() async throws -> TestPostgres {
        let task = server.withLock { task in
            if let task { return task }
            let starting = Task { try await start() }
            task = starting
            return starting
        }
        return try await task.value
    }

    private static func start() async throws -> TestPostgres {
        let versions = (try? FileManager.default.contentsOfDirectory(atPath: "/usr/lib/postgresql")) ?? []
        guard
            let binaries = versions.sorted(by: { (Int($0) ?? 0) > (Int($1) ?? 0) }).map({
                "/usr/lib/postgresql/\($0)/bin"
            }).first(where: { FileManager.default.isExecutableFile(atPath: $0 + "/initdb") })
        else { throw Failure(description: "PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/initdb)") }
        let directory = NSTemporaryDirectory() + "tw-pg-\(UUID().uuidString.prefix(8))"
        let asOwner = geteuid() == 0 ? "/usr/sbin/runuser -u postgres --" : ""
        let port = try freeLoopbackPort()
        try await shell(
            """
            set -e
            mkdir -p '\(directory)'
            \(asOwner.isEmpty ? "" : "chown postgres '\(directory)'")
            \(asOwner) '\(binaries)/initdb' -D '\(directory)/data' -U postgres --auth=trust --encoding=UTF8 \
                --locale=C --no-sync > '\(directory)/initdb.log' 2>&1
            cat >> '\(directory)/data/postgresql.conf' <<'EOF'
            listen_addresses = '127.0.0.1'
            max_connections = 300
            fsync = off
            synchronous_commit = off
            full_page_writes = off
            EOF
            \(asOwner) '\(binaries)/pg_ctl' -D '\(directory)/data' -l '\(directory)/postgres.log' -w -t 60 \
                -o "-p \(port) -k '\(directory)'" start > /dev/null 2>&1 < /dev/null
            """)
        started.withLock { $0.append(directory) }
        _ = stopAtExit
        return TestPostgres(port: port, directory: directory, binaries: binaries, asOwner: asOwner)
    }

    /// A port of 127.0.0.1 nothing listens on: bound to learn a free number, then closed.
    private static func freeLoopbackPort() throws -> Int {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { throw Failure(description: "socket: \(String(cString: strerror(errno)))") }
        defer { close(descriptor) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(descriptor, $0, length) == 0 && getsockname(descriptor, $0, &length) == 0
            }
        }
        guard bound else { throw Failure(description: "bind: \(String(cString: strerror(errno)))") }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    private static let stopAtExit: Void = {
        atexit {
            for directory in TestPostgres.started.withLock({ $0 }) {
                let owner = geteuid() == 0 ? "/usr/sbin/runuser -u postgres --" : ""
                let binaries =
                    (try? FileManager.default.contentsOfDirectory(atPath: "/usr/lib/postgresql"))?
                    .sorted().last.map { "/usr/lib/postgresql/\($0)/bin" } ?? ""
                _ = try? TestPostgres.spawn(
                    "\(owner) '\(binaries)/pg_ctl' -D '\(directory)/data' -m immediate -w stop >/dev/null 2>&1; rm -rf '\(directory)'"
                )
            }
        }
    }()

    /// A fresh, empty database; its URL.
    func createDatabase(named name: String) async throws -> String {
        let number = Self.numbers.withLock { number in
            number += 1
            return number
        }
        let database = "\(name.lowercased().filter { $0.isLetter || $0.isNumber || $0 == "_" })_\(number)"
        try await Self.shell("'\(binaries)/createdb' -h 127.0.0.1 -p \(port) -U postgres '\(database)'")
        return "postgres://postgres@127.0.0.1:\(port)/\(database)"
    }

    /// Runs `sql` with psql on `url`; its rows, unaligned without headers, one a line.
    func psql(_ sql: String, url: String) async throws -> String {
        let file = directory + "/sql-\(UUID().uuidString).sql"
        try Data(sql.utf8).write(to: URL(fileURLWithPath: file))
        defer { try? FileManager.default.removeItem(atPath: file) }
        return try await Self.shell(
            "'\(binaries)/psql' -X -q -v ON_ERROR_STOP=1 -tA -d '\(url)' -f '\(file)'")
    }

    /// Runs a shell script off the cooperative pool; its standard output, or `Failure` with
    /// what it printed when it exits non-zero.
    @discardableResult
    static func shell(_ script: String) async throws -> String {
        try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global().async {
                continuation.resume(with: Result { try spawn(script) })
            }
        }
    }

    private static func spawn(_ script: String) throws -> String {
        let output = NSTemporaryDirectory() + "tw-pg-\(UUID().uuidString).out"
        defer { try? FileManager.default.removeItem(atPath: output) }
        let wrapped = "exec > '\(output)' 2>&1 < /dev/null\n" + script
        var pid: pid_t = 0
        let arguments = ["/bin/sh", "-c", wrapped]
        var argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        let status = posix_spawn(&pid, "/bin/sh", nil, nil, &argv, environ)
        guard status == 0 else { throw Failure(description: "posix_spawn: \(String(cString: strerror(status)))") }
        var exit: Int32 = 0
        while waitpid(pid, &exit, 0) < 0 && errno == EINTR {}
        let printed = (try? String(contentsOfFile: output, encoding: .utf8)) ?? ""
        // WIFEXITED && WEXITSTATUS == 0
        guard exit & 0x7f == 0, (exit >> 8) & 0xff == 0 else {
            throw Failure(description: "command failed (\(exit)): \(script)\n\(printed)")
        }
        return printed
    }
}
