import Foundation
import Testing
import TokenWatchTestSupport

/// The admin commands end to end: the built binary on a temporary database, checking stdout,
/// stderr and exit codes as an operator (or cron) sees them.
@Suite("Admin commands (binary)")
struct AdminCommandsTests {
    let directory: TestDirectory
    var env: [String: String]

    static let tokens = ["EAAGsecretTokenAAA111", "EAAGsecretTokenBBB222", "EAAGsecretTokenCCC333"]

    init() async throws {
        directory = try TestDirectory()
        env = [
            "TOKENWATCH_DB": directory.file("tw.sqlite3"), "TOKENWATCH_REPORTS_DIR": directory.file("reports"),
        ]
        if TestStore.isPostgres {
            // The same commands on a fresh PostgreSQL database; the key where SQLite's would be.
            env["TOKENWATCH_DB"] = try await PostgresServer.shared().createDatabase(named: "admin")
            env["TOKENWATCH_KEY_FILE"] = directory.file("tw.sqlite3.key")
        }
    }

    func tw(_ arguments: String..., stdin: String? = nil, extra: [String: String] = [:]) async throws
        -> TokenWatchBinary.Result
    {
        try await TokenWatchBinary.run(
            arguments, environment: env.merging(extra) { $1 }, stdin: stdin, directory: directory.path)
    }

    func writeCSV(_ name: String, _ text: String) throws -> String {
        let path = directory.file(name)
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
        return path
    }

    var goodCSV: String {
        """
        company,page_id,page_name,access_token
        Acme,1001,Acme Support,\(Self.tokens[0])
        Acme,1002,"Acme, Sales",\(Self.tokens[1])
        Beta,2001,Beta Bot,\(Self.tokens[2])

        """
    }

    func assertNoSecret(_ result: TokenWatchBinary.Result, sourceLocation: SourceLocation = #_sourceLocation) {
        for token in Self.tokens {
            #expect(!result.all.contains(token), "a token leaked into output", sourceLocation: sourceLocation)
        }
    }

    @Test func initTwiceIsHarmlessAndTheKeyIsPrivate() async throws {
        let first = try await tw("init")
        #expect(first.status == 0, "\(first.all)")
        #expect(first.stdout.contains("created database"))
        let key = try Data(contentsOf: URL(fileURLWithPath: directory.file("tw.sqlite3.key")))
        let mode =
            try FileManager.default.attributesOfItem(atPath: directory.file("tw.sqlite3.key"))[.posixPermissions]
            as? NSNumber
        #expect(mode?.intValue == 0o600)
        let second = try await tw("init")
        #expect(second.status == 0)
        #expect(second.stdout.contains("up to date"))
        #expect(try Data(contentsOf: URL(fileURLWithPath: directory.file("tw.sqlite3.key"))) == key)
    }

    @Test func importListLogAndDisconnect() async throws {
        _ = try await tw("init")
        let path = try writeCSV("pages.csv", goodCSV)
        let imported = try await tw("pages", "import", path)
        #expect(imported.status == 0, "\(imported.all)")
        #expect(imported.stdout.contains("3 added"))
        assertNoSecret(imported)
        let again = try await tw("pages", "import", path)
        #expect(again.stdout.contains("3 unchanged"))

        let list = try await tw("pages", "list", "--format", "json")
        #expect(list.status == 0)
        let pages = try #require(try JSONSerialization.jsonObject(with: Data(list.stdout.utf8)) as? [[String: Any]])
        #expect(pages.count == 3)
        #expect(pages.first?["page_name"] as? String == "Acme Support")
        #expect(pages.first?["status"] as? String == "unknown")
        #expect(pages.first?.keys.contains("token_updated_at") == true)
        assertNoSecret(list)
        let table = try await tw("pages", "list", "--company", "Beta")
        #expect(table.stdout.contains("Beta Bot"))
        #expect(!table.stdout.contains("Acme Support"))
        let csv = try await tw("pages", "list", "--format", "csv")
        #expect(csv.stdout.hasPrefix("company,page_id,page_name,status"))
        assertNoSecret(csv)

        let disconnect = try await tw("pages", "disconnect", "1002", "--reason", "client left")
        #expect(disconnect.status == 0)
        let log = try await tw("pages", "log", "1002", "--format", "json")
        let entry = try #require(try JSONSerialization.jsonObject(with: Data(log.stdout.utf8)) as? [String: Any])
        #expect(entry["status"] as? String == "disconnected")
        let kinds = (entry["events"] as? [[String: Any]])?.compactMap { $0["kind"] as? String }
        #expect(kinds == ["connected", "disconnected"])
        #expect((entry["events"] as? [[String: Any]])?.last?["actor"] as? String == "cli:tester")

        // The database never holds a token in plain text (PostgreSQL's: a dump of it).
        if let url = env["TOKENWATCH_DB"], TestStore.isPostgres {
            #expect(await SecretEchoBinaryTests.dumpDatabase(url, to: directory.file("tw.sqlite3")))
        }
        for file in ["tw.sqlite3", "tw.sqlite3-wal"] {
            let raw = (try? Data(contentsOf: URL(fileURLWithPath: directory.file(file)))) ?? Data()
            for token in Self.tokens { #expect(raw.range(of: Data(token.utf8)) == nil) }
        }
    }

    @Test func aBadImportChangesNothingAndNamesEveryLine() async throws {
        _ = try await tw("init")
        let path = try writeCSV(
            "bad.csv",
            """
            company,page_id,page_name,access_token
            Acme,1001,Good,\(Self.tokens[0])
            Acme,12x4,Bad ID,\(Self.tokens[1])
            ,1003,No company,\(Self.tokens[2])
            Acme,1001,Twice,\(Self.tokens[2])

            """)
        let result = try await tw("pages", "import", path)
        #expect(result.status == 65, "\(result.all)")
        #expect(result.stderr.contains("line 3"))
        #expect(result.stderr.contains("line 4"))
        #expect(result.stderr.contains("line 5"))
        assertNoSecret(result)
        let list = try await tw("pages", "list", "--format", "json")
        #expect(list.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "[\n\n]" || list.stdout.contains("[]"))
    }

    @Test func aPageOfAnotherCompanyIsRejected() async throws {
        _ = try await tw("init")
        _ = try await tw("pages", "import", try writeCSV("a.csv", goodCSV))
        let result = try await tw(
            "pages", "import",
            try writeCSV("b.csv", "company,page_id,page_name,access_token\nOther,1001,Stolen,EAAGx\n"))
        #expect(result.status == 65)
        #expect(result.stderr.contains("already belongs to company \"Acme\""))
    }

    @Test func connectReadsTheTokenFromStdinNeverArgv() async throws {
        _ = try await tw("init")
        let connected = try await tw(
            "pages", "connect", "--company", "Acme", "--page-id", "3001", "--name", "Stdin Page",
            stdin: Self.tokens[0] + "\n")
        #expect(connected.status == 0, "\(connected.all)")
        #expect(connected.stdout.contains("connected page 3001"))
        let renewed = try await tw(
            "pages", "connect", "--company", "Acme", "--page-id", "3001", "--name", "Stdin Page", stdin: Self.tokens[1])
        #expect(renewed.stdout.contains("renewed page 3001"))
        assertNoSecret(renewed)
        let noToken = try await tw(
            "pages", "connect", "--company", "Acme", "--page-id", "3002", "--name", "Empty", stdin: "")
        #expect(noToken.status == 65)
        #expect(noToken.stderr.contains("access token is empty"))
    }

    @Test func ownersAreManagedPerCompany() async throws {
        _ = try await tw("init")
        // Acme has no pages yet: adding its Owners first says so explicitly.
        let added = try await tw(
            "owners", "add", "--company", "Acme", "--create-company", "ann@acme.test", "bob@acme.test")
        #expect(added.status == 0, "\(added.all)")
        let list = try await tw("owners", "list")
        #expect(list.stdout.contains("ann@acme.test"))
        let bad = try await tw("owners", "add", "--company", "Acme", "evil@acme.test\r\nBcc: x@y.z")
        #expect(bad.status == 64)
        let removed = try await tw("owners", "remove", "--company", "Acme", "bob@acme.test")
        #expect(removed.status == 0)
        #expect(!(try await tw("owners", "list")).stdout.contains("bob@acme.test"))
    }

    @Test func missingOrWrongKeyIsAConfigurationErrorNamingTheFile() async throws {
        _ = try await tw("init")
        _ = try await tw("pages", "import", try writeCSV("a.csv", goodCSV))
        let missing = try await tw("pages", "list", extra: ["TOKENWATCH_KEY_FILE": directory.file("nope.key")])
        #expect(missing.status == 78)
        #expect(missing.stderr.contains(directory.file("nope.key")))
        try Data(repeating: 7, count: 32).write(to: URL(fileURLWithPath: directory.file("wrong.key")))
        let wrong = try await tw("pages", "list", extra: ["TOKENWATCH_KEY_FILE": directory.file("wrong.key")])
        #expect(wrong.status == 78)
        #expect(wrong.stderr.contains("wrong.key"))
    }

    @Test func checkWithoutAppCredentialsNamesTheSettings() async throws {
        _ = try await tw("init")
        let result = try await tw("check", "--no-email")
        #expect(result.status == 78)
        #expect(result.stderr.contains("TOKENWATCH_APP_ID"))
    }

    @Test func aTypoInTheConfigFileNamesTheLine() async throws {
        let config = directory.file("tw.env")
        try Data("# settings\nTOKENWATCH_DB=\(env["TOKENWATCH_DB"] ?? "")\nTOKENWATCH_CONCURENCY=4\n".utf8)
            .write(to: URL(fileURLWithPath: config))
        let result = try await tw("init", "--config", config)
        #expect(result.status == 78)
        #expect(result.stderr.contains("tw.env:3"))
        #expect(result.stderr.contains("TOKENWATCH_CONCURRENCY"))
    }

    @Test func usageErrorsExit64() async throws {
        let result = try await tw("check", "--batch-size", "500")
        #expect(result.status == 64)
    }
}
