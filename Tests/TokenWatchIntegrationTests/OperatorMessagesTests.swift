import Foundation
import Testing
import TokenWatchStore
import TokenWatchTestSupport

/// What an operator sees from the built binary when something is off: a company name with a
/// typo, a status in capitals, an unreadable or foreign import file, a token on the command
/// line, an empty installation, a second check while one runs.
@Suite("Operator messages (binary)")
struct OperatorMessagesTests {
    let directory: TestDirectory
    var env: [String: String]

    static let token = "EAAGsecretTokenXYZ789"

    init() async throws {
        directory = try TestDirectory()
        env = [
            "TOKENWATCH_DB": directory.file("tw.sqlite3"), "TOKENWATCH_REPORTS_DIR": directory.file("reports"),
        ]
        if TestStore.isPostgres {
            env["TOKENWATCH_DB"] = try await PostgresServer.shared().createDatabase(named: "operator")
            env["TOKENWATCH_KEY_FILE"] = directory.file("tw.sqlite3.key")
        }
    }

    func tw(_ arguments: String..., stdin: String? = nil) async throws -> TokenWatchBinary.Result {
        try await TokenWatchBinary.run(arguments, environment: env, stdin: stdin, directory: directory.path)
    }

    func write(_ name: String, _ text: String) throws -> String {
        let path = directory.file(name)
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
        return path
    }

    /// Initialises the database and imports one company with a 17-digit Page ID.
    func seed() async throws {
        #expect(try await tw("init").status == 0)
        let csv = try write(
            "pages.csv",
            "company,page_id,page_name,access_token\nAcme Outfitters,61550123456789012,=Acme Jobs,\(Self.token)\n")
        let imported = try await tw("pages", "import", csv)
        #expect(imported.status == 0, "\(imported.all)")
    }

    @Test func anEmptyDatabaseSaysWhatToDoNext() async throws {
        #expect(try await tw("init").status == 0)
        let list = try await tw("pages", "list")
        #expect(list.status == 0)
        #expect(
            list.stdout.contains(
                "No pages yet: import them with tokenwatch pages import FILE or connect one with tokenwatch pages connect"
            ))
        let json = try await tw("pages", "list", "--format", "json").stdout
        #expect(json.filter { !$0.isWhitespace } == "[]", "\(json)")
    }

    @Test func aCompanyThatMatchesNothingIsAUsageErrorNamingTheNearest() async throws {
        try await seed()
        for arguments in [
            ["pages", "list", "--company", "Acme Outfiters"], ["owners", "list", "--company", "Acme Outfiters"],
            ["owners", "add", "--company", "Acme Outfiters", "ann@acme.example"],
            ["owners", "remove", "--company", "Acme Outfiters", "ann@acme.example"],
        ] {
            let result = try await TokenWatchBinary.run(arguments, environment: env, directory: directory.path)
            #expect(result.status == 64, "\(arguments): \(result.all)")
            #expect(result.stderr.contains("did you mean \"Acme Outfitters\"?"), "\(arguments): \(result.all)")
        }
        // A company with no pages needs --create-company; then it is known.
        let refused = try await tw("owners", "add", "--company", "Zeta Corp", "zed@zeta.example")
        #expect(refused.status == 64)
        #expect(refused.stderr.contains("--create-company"))
        let created = try await tw("owners", "add", "--company", "Zeta Corp", "--create-company", "zed@zeta.example")
        #expect(created.status == 0, "\(created.all)")
        #expect(try await tw("owners", "add", "--company", "Zeta Corp", "amy@zeta.example").status == 0)
        let added = try await tw("owners", "add", "--company", "Acme Outfitters", "ann@acme.example")
        #expect(added.status == 0, "\(added.all)")
        #expect(added.stdout.contains("added ann@acme.example"))
        // connect: a near miss of a known company is refused before the token is read; a
        // new name is a new company.
        let nearMiss = try await tw(
            "pages", "connect", "--company", "acme outfitters", "--page-id", "77", "--name", "N", stdin: Self.token)
        #expect(nearMiss.status == 64, "\(nearMiss.all)")
        #expect(nearMiss.stderr.contains("did you mean \"Acme Outfitters\"?"))
        let newCompany = try await tw(
            "pages", "connect", "--company", "Nimbus Air", "--page-id", "78", "--name", "Nimbus", stdin: Self.token)
        #expect(newCompany.status == 0, "\(newCompany.all)")
        let forced = try await tw(
            "pages", "connect", "--company", "acme outfitters", "--create-company", "--page-id", "79", "--name", "N",
            stdin: Self.token)
        #expect(forced.status == 0, "\(forced.all)")
    }

    @Test func nameAndAddressOwnersAreRefusedWithTheBareAddress() async throws {
        try await seed()
        let result = try await tw("owners", "add", "--company", "Acme Outfitters", "Ann Lee <ann@acme.example>")
        #expect(result.status == 64)
        #expect(result.stderr.contains("not supported for Owners; give the bare address ann@acme.example"))
        #expect(try await tw("owners", "list").stdout.contains("No Owners yet"))
    }

    @Test func statusIsCaseInsensitive() async throws {
        try await seed()
        for status in ["Unknown", "UNKNOWN", "unknown"] {
            let result = try await tw("pages", "list", "--status", status, "--format", "json")
            #expect(result.status == 0, "\(result.all)")
            #expect(result.stdout.contains("61550123456789012"))
        }
        #expect(try await tw("pages", "list", "--status", "Invalid").status == 0)
    }

    @Test func importNamesTheOSReasonAndTheHeaderItSaw() async throws {
        #expect(try await tw("init").status == 0)
        let missing = try await tw("pages", "import", directory.file("nope.csv"))
        #expect(missing.status == 65)
        #expect(missing.stderr.contains("No such file or directory"), "\(missing.all)")
        let folder = try await tw("pages", "import", directory.path)
        #expect(folder.stderr.contains("Is a directory"), "\(folder.all)")

        let semicolons = try write(
            "semi.csv", "company;page_id;page_name;access_token\nAcme;1;Acme Jobs;\(Self.token)\n")
        let semi = try await tw("pages", "import", semicolons)
        #expect(semi.status == 65)
        #expect(semi.stderr.contains("separated by semicolons (;)"), "\(semi.all)")
        #expect(semi.stderr.contains("company,page_id,page_name,access_token"))

        let spreadsheetHeader = try write(
            "export.csv", "Company,Page ID,Page Name,Access Token\nAcme,1,Acme Jobs,\(Self.token)\n")
        let named = try await tw("pages", "import", spreadsheetHeader)
        #expect(named.status == 65)
        #expect(named.stderr.contains("\"Page ID\" → page_id"), "\(named.all)")
        for result in [semi, named] { #expect(!result.all.contains(Self.token)) }
    }

    @Test func aTokenOnTheCommandLineIsRefused() async throws {
        try await seed()
        let result = try await tw(
            "pages", "connect", "--company", "Acme Outfitters", "--page-id", "1", "--name", "N", "--token", "abc")
        #expect(result.status == 64)
        #expect(result.stderr.contains("tokens are read from stdin or --token-file, never from the command line"))
    }

    @Test(.enabled(if: TestStore.isSQLite, "holds the SQLite lock file; the advisory lock has its own tests"))
    func theLockHeldMessageIsPrintedOnceUnderQuiet() async throws {
        try await seed()
        let lock = try RunLock.acquire(databasePath: directory.file("tw.sqlite3"))
        defer { lock.release() }
        var checkEnv = env
        checkEnv["TOKENWATCH_APP_ID"] = "1"
        checkEnv["TOKENWATCH_APP_SECRET"] = "secret"
        checkEnv["TOKENWATCH_GRAPH_URL"] = "http://127.0.0.1:9"
        checkEnv["TOKENWATCH_SMTP_URL"] = "file://" + directory.file("mail")
        checkEnv["TOKENWATCH_MAIL_FROM"] = "tokenwatch@platform.example"
        let result = try await TokenWatchBinary.run(["check", "-q"], environment: checkEnv, directory: directory.path)
        #expect(result.status == 75)
        #expect(result.all.components(separatedBy: "another tokenwatch check is running").count == 2, "\(result.all)")
    }

    @Test func theSummaryIsPrintedOnce() async throws {
        try await seed()
        var checkEnv = env
        checkEnv["TOKENWATCH_APP_ID"] = "1"
        checkEnv["TOKENWATCH_APP_SECRET"] = "secret"
        checkEnv["TOKENWATCH_GRAPH_URL"] = "http://127.0.0.1:9"
        checkEnv["TOKENWATCH_SMTP_URL"] = "file://" + directory.file("mail")
        checkEnv["TOKENWATCH_MAIL_FROM"] = "tokenwatch@platform.example"
        for arguments in [["check"], ["check", "-q"]] {
            let result = try await TokenWatchBinary.run(arguments, environment: checkEnv, directory: directory.path)
            #expect(result.status == 75, "\(result.all)")
            #expect(result.all.components(separatedBy: "checked 1 pages:").count == 2, "\(arguments): \(result.all)")
        }
    }

    @Test func helpFitsAnEightyColumnTerminal() async throws {
        for arguments in [
            ["--help"], ["pages", "--help"], ["pages", "import", "--help"], ["pages", "connect", "--help"],
            ["owners", "--help"], ["owners", "add", "--help"], ["check", "--help"], ["notify", "--help"],
            ["demo", "--help"], ["templates", "export", "--help"], ["init", "--help"],
        ] {
            let result = try await TokenWatchBinary.run(arguments, environment: env, directory: directory.path)
            for line in result.stdout.split(separator: "\n") where !line.hasPrefix("USAGE") {
                #expect(line.count <= 80, "\(arguments): \(line)")
            }
        }
    }
}
