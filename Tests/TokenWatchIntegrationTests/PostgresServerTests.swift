import Foundation
import Testing
import TokenWatchTestSupport

/// The tests' own PostgreSQL (`PostgresServer`): it starts, hands out separate databases that
/// psql reaches over 127.0.0.1, and a stopped server leaves no process and no directory behind.
@Suite("PostgreSQL server for tests")
struct PostgresServerTests {
    @Test func twoDatabasesAreReachableAndDistinct() async throws {
        let server = try await PostgresServer.shared()
        let first = try await server.createDatabase(named: "store")
        let second = try await server.createDatabase(named: "store")
        #expect(first != second)
        #expect(first.hasPrefix("postgres://postgres@127.0.0.1:\(server.port)/store_"))
        for url in [first, second] {
            let name = String(url.split(separator: "/").last ?? "")
            let row = try await server.psql("select 1, current_database()", url: url)
            #expect(row == "1|\(name)\n")
        }
        let maximum = try await server.psql("show max_connections", url: server.url)
        #expect(Int(maximum.trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0 >= 200)
    }

    @Test func aStoppedServerLeavesNoProcessOrDirectory() async throws {
        let server = try await PostgresServer.start()
        #expect(isRunning(server.processID))
        await server.stop()
        #expect(!isRunning(server.processID))
        #expect(!FileManager.default.fileExists(atPath: server.directory))
        await server.stop()  // a second stop does nothing
    }

    /// Alive and not a zombie, read from /proc: the postmaster's parent after `pg_ctl` (init,
    /// or whoever adopted it) may not have reaped it yet.
    private func isRunning(_ processID: Int32) -> Bool {
        guard let stat = try? String(contentsOfFile: "/proc/\(processID)/stat", encoding: .utf8),
            let afterName = stat.range(of: ") ", options: .backwards)
        else { return false }
        return !stat[afterName.upperBound...].hasPrefix("Z")
    }
}
