import Foundation
import GRDB
import Testing
import TokenWatchTestSupport

/// What sits at the database path is identified before anything writes to it: an empty file,
/// random bytes, another program's SQLite file or a database migrated by a newer TokenWatch is
/// refused with 78 and left byte for byte as it was; a database the OS will not let us write
/// still serves the commands that only read, and the writing ones exit 73 with the OS's reason.
@Suite("Database identity (binary)")
struct DatabaseIdentityTests {
    let directory: TestDirectory
    var database: String { directory.file("tw.sqlite3") }

    init() throws {
        directory = try TestDirectory()
    }

    func tw(
        _ arguments: [String], database path: String? = nil, extra: [String: String] = [:], stdin: String? = nil
    ) async throws -> TokenWatchBinary.Result {
        var env = [
            "TOKENWATCH_DB": path ?? database, "TOKENWATCH_REPORTS_DIR": directory.file("reports"),
            "TOKENWATCH_APP_ID": "1234567890", "TOKENWATCH_APP_SECRET": "unused-secret",
            "TOKENWATCH_GRAPH_URL": "http://127.0.0.1:9",
        ]
        env.merge(extra) { $1 }
        return try await TokenWatchBinary.run(arguments, environment: env, stdin: stdin, directory: directory.path)
    }

    /// Every file beside the database (`tw.sqlite3*`) with its bytes.
    func snapshot(_ path: String) throws -> [String: Data] {
        let folder = URL(fileURLWithPath: path).deletingLastPathComponent().path
        let name = URL(fileURLWithPath: path).lastPathComponent
        var files: [String: Data] = [:]
        for entry in try FileManager.default.contentsOfDirectory(atPath: folder) where entry.hasPrefix(name) {
            files[entry] = try Data(contentsOf: URL(fileURLWithPath: folder + "/" + entry))
        }
        return files
    }

    var importCSV: String {
        get throws {
            let path = directory.file("pages.csv")
            try Data("company,page_id,page_name,access_token\nAcme,1001,Acme Support,EAAtokenIdentity1\n".utf8)
                .write(to: URL(fileURLWithPath: path))
            return path
        }
    }

    /// Runs every kind of command on `path` and expects each to refuse it with 78 and
    /// `message`, leaving every file of it exactly as it was.
    func expectRefusedUntouched(
        _ path: String, saying message: String, sourceLocation: SourceLocation = #_sourceLocation
    )
        async throws
    {
        let before = try snapshot(path)
        let commands: [[String]] = [
            ["init"], ["check", "--no-email"], ["check", "--dry-run"], ["pages", "list"], ["pages", "log", "1001"],
            ["pages", "import", try importCSV], ["report"], ["owners", "add", "--company", "Acme", "a@acme.test"],
        ]
        for command in commands {
            let result = try await tw(command, database: path)
            #expect(result.status == 78, "\(command): \(result.all)", sourceLocation: sourceLocation)
            #expect(result.stderr.contains(message), "\(command): \(result.all)", sourceLocation: sourceLocation)
        }
        #expect(
            try snapshot(path) == before, "the file was changed or a -wal/-shm/.key left",
            sourceLocation: sourceLocation)
    }

    @Test func anEmptyFileIsRefusedAndNeverWritten() async throws {
        #expect(FileManager.default.createFile(atPath: database, contents: Data()))
        try await expectRefusedUntouched(database, saying: "not a TokenWatch database: \(database)")
        #expect(try snapshot(database) == ["tw.sqlite3": Data()])
    }

    @Test func randomBytesAreRefusedAndNeverWritten() async throws {
        var generator = SystemRandomNumberGenerator()
        let bytes = Data((0..<8192).map { _ in UInt8.random(in: 0...255, using: &generator) })
        try bytes.write(to: URL(fileURLWithPath: database))
        try await expectRefusedUntouched(database, saying: "not a TokenWatch database: \(database)")
    }

    @Test func anotherProgramsSQLiteFileIsRefusedAndNeverWritten() async throws {
        let queue = try DatabaseQueue(path: database)
        try await queue.write { db in
            try db.execute(
                sql: "CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT); INSERT INTO users VALUES (1, 'x')")
        }
        try queue.close()
        try await expectRefusedUntouched(database, saying: "not a TokenWatch database: \(database)")
    }

    @Test func aDatabaseMigratedByANewerTokenWatchIsRefusedAndNeverWritten() async throws {
        let created = try await tw(["init"])
        #expect(created.status == 0, "\(created.all)")
        #expect(try await tw(["pages", "import", try importCSV]).status == 0)
        let queue = try DatabaseQueue(path: database)
        try await queue.write { db in
            try db.execute(sql: "INSERT INTO grdb_migrations (identifier) VALUES ('v9: from a later release')")
        }
        try queue.close()
        try await expectRefusedUntouched(database, saying: "created by a newer TokenWatch (v9: from a later release)")
    }

    /// A database this build knows is still opened, migrated and written as before; the
    /// commands that only read leave no -wal or -shm behind.
    @Test func aCurrentDatabaseStillWorksAndReadsLeaveNoFilesBehind() async throws {
        #expect(try await tw(["init"]).stdout.contains("created database"))
        #expect(try await tw(["pages", "import", try importCSV]).status == 0)
        let before = try snapshot(database)
        let list = try await tw(["pages", "list"])
        #expect(list.status == 0 && list.stdout.contains("Acme Support"), "\(list.all)")
        #expect(try await tw(["pages", "log", "1001"]).status == 0)
        #expect(try snapshot(database) == before)
        let again = try await tw(["init"])
        #expect(again.stdout.contains("up to date"), "\(again.all)")
    }

    /// The read-only commands work on an older schema only after `init` migrated it; they
    /// never migrate it themselves.
    @Test func aReadOnlyCommandDoesNotMigrate() async throws {
        #expect(try await tw(["init"]).status == 0)
        let queue = try DatabaseQueue(path: database)
        try await queue.write { db in
            try db.execute(sql: "DELETE FROM grdb_migrations WHERE identifier LIKE 'v2:%'")
        }
        try queue.close()
        let before = try snapshot(database)
        let list = try await tw(["pages", "list"])
        #expect(list.status == 78, "\(list.all)")
        #expect(list.stderr.contains("needs migrating"), "\(list.all)")
        #expect(try snapshot(database) == before)
    }
}

/// The database as a user who may read but not write it sees it. Tests run as root, whom file
/// modes do not stop, so the binary runs as `nobody` (setpriv); without root or setpriv these
/// are skipped.
@Suite(
    "Read-only database (binary, as nobody)",
    .enabled(
        if: getuid() == 0 && FileManager.default.isExecutableFile(atPath: "/usr/bin/setpriv"),
        "needs root and setpriv to run the binary as nobody"))
struct ReadOnlyDatabaseTests {
    static let nobody: uid_t = 65534
    let root: String
    var database: String { root + "/db/tw.sqlite3" }
    var reports: String { root + "/reports" }

    init() throws {
        // Under /tmp with modes nobody can traverse (the test directory helper's may not be).
        root = "/tmp/tokenwatch-ro-\(UUID().uuidString)"
        for folder in [root, root + "/db", reports] {
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        }
        chmod(root, 0o755)
        chmod(root + "/db", 0o755)
        chmod(reports, 0o777)
    }

    func cleanUp() { try? FileManager.default.removeItem(atPath: root) }

    /// The binary as root (setup) or as nobody.
    func tw(_ arguments: [String], asNobody: Bool = true, stdin: String? = nil) async throws -> TokenWatchBinary.Result
    {
        let env = [
            "TOKENWATCH_DB": database, "TOKENWATCH_REPORTS_DIR": reports, "TOKENWATCH_APP_ID": "1234567890",
            "TOKENWATCH_APP_SECRET": "unused-secret", "TOKENWATCH_GRAPH_URL": "http://127.0.0.1:9", "HOME": root,
        ]
        guard asNobody else {
            return try await TokenWatchBinary.run(arguments, environment: env, stdin: stdin, directory: root)
        }
        return try await TokenWatchBinary.run(
            arguments, environment: env, stdin: stdin, directory: root,
            executable: "/usr/bin/setpriv",
            prefix: ["--reuid=\(Self.nobody)", "--regid=\(Self.nobody)", "--clear-groups", TokenWatchBinary.path])
    }

    /// A database with one page, made by root; its key readable by nobody.
    func makeDatabase() async throws {
        #expect(try await tw(["init"], asNobody: false).status == 0)
        let csv = root + "/pages.csv"
        try Data("company,page_id,page_name,access_token\nAcme,1001,Acme Support,EAAtokenReadOnly1\n".utf8)
            .write(to: URL(fileURLWithPath: csv))
        chmod(csv, 0o644)
        #expect(try await tw(["pages", "import", csv], asNobody: false).status == 0)
        chown(database + ".key", Self.nobody, 0)
    }

    func files() throws -> [String: Data] {
        var files: [String: Data] = [:]
        for entry in try FileManager.default.contentsOfDirectory(atPath: root + "/db") {
            files[entry] = try Data(contentsOf: URL(fileURLWithPath: root + "/db/" + entry))
        }
        return files
    }

    func expectReadsWork(sourceLocation: SourceLocation = #_sourceLocation) async throws {
        let list = try await tw(["pages", "list"])
        #expect(list.status == 0, "\(list.all)", sourceLocation: sourceLocation)
        #expect(list.stdout.contains("Acme Support"), "\(list.all)", sourceLocation: sourceLocation)
        let log = try await tw(["pages", "log", "1001"])
        #expect(log.status == 0, "\(log.all)", sourceLocation: sourceLocation)
        #expect(log.stdout.hasPrefix("Acme Support (page 1001"), "\(log.all)", sourceLocation: sourceLocation)
        let report = try await tw(["report"])
        #expect(report.status == 0, "\(report.all)", sourceLocation: sourceLocation)
        #expect(report.stdout.contains("report: \(reports)/token-report-"), sourceLocation: sourceLocation)
    }

    func expectWritesRefused(naming path: String, sourceLocation: SourceLocation = #_sourceLocation) async throws {
        let csv = root + "/pages.csv"
        for command in [["init"], ["pages", "import", csv], ["check", "--no-email"]] {
            let result = try await tw(command)
            #expect(result.status == 73, "\(command): \(result.all)", sourceLocation: sourceLocation)
            #expect(
                result.stderr.contains("cannot write \(path): Permission denied"), "\(command): \(result.all)",
                sourceLocation: sourceLocation)
        }
    }

    @Test func aReadOnlyFileInAReadOnlyDirectoryServesReadsAndRefusesWrites() async throws {
        defer { cleanUp() }
        try await makeDatabase()
        let before = try files()
        try await expectReadsWork()
        try await expectWritesRefused(naming: database)
        #expect(try files() == before, "the database directory changed")
    }

    /// nobody owns the file but may not create the -wal, -shm and .lock files beside it.
    @Test func aWritableFileInAReadOnlyDirectoryServesReadsAndRefusesWrites() async throws {
        defer { cleanUp() }
        try await makeDatabase()
        chown(database, Self.nobody, 0)
        let before = try files()
        try await expectReadsWork()
        try await expectWritesRefused(naming: root + "/db")
        #expect(try files() == before, "the database directory changed")
    }
}
