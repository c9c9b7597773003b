import Foundation
import Testing

@testable import TokenWatch

@Suite struct ConfigurationLoaderTests {
    /// Loads with a config file holding `fileText` (when given).
    private func load(
        flags: [String: String] = [:], env: [String: String] = [:], file fileText: String? = nil,
        in dir: OpsScratchDirectory
    ) throws(ConfigurationError) -> LoadedConfiguration {
        var path: String? = nil
        if let fileText {
            do { path = try dir.write("tokenwatch.env", fileText) } catch {
                Issue.record("cannot write test config: \(error)")
            }
        }
        return try ConfigurationLoader.resolve(flags: flags, environment: env, configFile: path)
    }

    private func error(_ body: () throws -> Void) -> ConfigurationError? {
        do {
            try body()
            return nil
        } catch let error as ConfigurationError {
            return error
        } catch {
            Issue.record("unexpected error \(error)")
            return nil
        }
    }

    @Test func defaultsMatchTheSpec() throws {
        let c = try ConfigurationLoader.load(flags: [:], environment: ["HOME": "/root"], configFile: nil)
        #expect(c.databasePath == "./tokenwatch.sqlite3")
        #expect(c.keyFile == "./tokenwatch.sqlite3.key")
        #expect(c.reportsDirectory == "./reports")
        #expect(c.graphURL == "https://graph.facebook.com")
        #expect(c.graphVersion == "v25.0")
        #expect(c.appID == nil && c.appSecret == nil && c.smtpURL == nil && c.smtpPassword == nil)
        #expect(c.requiredScopes == ["pages_messaging", "pages_manage_metadata"])
        #expect(c.concurrency == 8 && c.batchSize == 50)
        #expect(c.httpTimeout == 30 && c.runTimeout == 900)
        #expect(c.expiryWarningDays == 14 && c.massInvalidPercent == 50 && c.massInvalidMin == 20)
        #expect(c.mailMaxAttempts == 10 && c.remindAfterDays == nil && c.keepReportsDays == nil)
        #expect(c.smtpConnections == 4)
        #expect(c.metricsFile == nil && c.templatesDirectory == nil && c.caFile == nil)
    }

    @Test func flagBeatsEnvironmentBeatsFileBeatsDefault() throws {
        let dir = try OpsScratchDirectory()
        let file = """
            TOKENWATCH_DB=/file/db.sqlite3
            TOKENWATCH_CONCURRENCY=3
            TOKENWATCH_GRAPH_VERSION=v20.0
            TOKENWATCH_REPORTS_DIR=/file/reports
            TOKENWATCH_MASS_INVALID_MIN=5
            """
        let env = [
            "TOKENWATCH_DB": "/env/db.sqlite3", "TOKENWATCH_CONCURRENCY": "4",
            "TOKENWATCH_REPORTS_DIR": "/env/reports",
        ]
        let flags = ["TOKENWATCH_DB": "/flag/db.sqlite3"]
        let loaded = try load(flags: flags, env: env, file: file, in: dir)
        let c = loaded.configuration
        #expect(c.databasePath == "/flag/db.sqlite3")  // flag over env and file
        #expect(c.concurrency == 4)  // env over file
        #expect(c.reportsDirectory == "/env/reports")  // env over file
        #expect(c.graphVersion == "v20.0")  // file over default
        #expect(c.massInvalidMin == 5)
        #expect(c.batchSize == 50)  // default
        #expect(loaded.sources["TOKENWATCH_DB"] == .flag)
        #expect(loaded.sources["TOKENWATCH_CONCURRENCY"] == .environment)
        #expect(loaded.sources["TOKENWATCH_GRAPH_VERSION"] == .file(path: dir.path + "/tokenwatch.env", line: 3))
        #expect(loaded.sources["TOKENWATCH_BATCH_SIZE"] == nil)

        // Drop the flag: the environment wins; drop the environment: the file does.
        #expect(try load(env: env, file: file, in: dir).configuration.databasePath == "/env/db.sqlite3")
        #expect(try load(file: file, in: dir).configuration.databasePath == "/file/db.sqlite3")
        #expect(try load(file: file, in: dir).configuration.concurrency == 3)
    }

    @Test func anEmptyValueCountsAsNotSet() throws {
        let dir = try OpsScratchDirectory()
        let c = try load(
            flags: ["TOKENWATCH_CONCURRENCY": ""], env: ["TOKENWATCH_CONCURRENCY": "6", "TOKENWATCH_SMTP_URL": ""],
            file: "TOKENWATCH_SMTP_URL=file:///var/mail/tw\n", in: dir
        ).configuration
        #expect(c.concurrency == 6)
        #expect(c.smtpURL == "file:///var/mail/tw")
    }

    @Test func keyFileFollowsTheResolvedDatabasePath() throws {
        let dir = try OpsScratchDirectory()
        #expect(
            try load(env: ["TOKENWATCH_DB": "/var/lib/tw/tw.sqlite3"], in: dir).configuration.keyFile
                == "/var/lib/tw/tw.sqlite3.key")
        #expect(
            try load(flags: ["TOKENWATCH_DB": "/a.db"], file: "TOKENWATCH_DB=/b.db\n", in: dir).configuration.keyFile
                == "/a.db.key")
        #expect(
            try load(env: ["TOKENWATCH_DB": "/a.db"], file: "TOKENWATCH_KEY_FILE=/etc/tw/key\n", in: dir)
                .configuration.keyFile == "/etc/tw/key")
    }

    @Test func fileSyntaxCommentsQuotesAndExport() throws {
        let dir = try OpsScratchDirectory()
        // The templates directory must exist: a missing one is a configuration error.
        try FileManager.default.createDirectory(atPath: dir.path + "/with space", withIntermediateDirectories: true)
        let file = """
            # TokenWatch settings
            ; also a comment

               TOKENWATCH_DB = /srv/tw.sqlite3  \("")
            TOKENWATCH_MAIL_FROM="TokenWatch <tokenwatch@example.com>"
            TOKENWATCH_RENEW_URL='https://example.com/renew?page={page_id}&a=$x'
            export TOKENWATCH_REQUIRED_SCOPES=" pages_messaging , pages_show_list "
            TOKENWATCH_SMTP_USER="say \\"hi\\" \\\\ \\n"
            TOKENWATCH_TEMPLATES_DIR=\(dir.path)/with\\ space
            TOKENWATCH_HTTP_TIMEOUT=2.5\r
            """
        let loaded = try load(file: file, in: dir)
        let c = loaded.configuration
        #expect(c.databasePath == "/srv/tw.sqlite3")
        #expect(c.mailFrom == "TokenWatch <tokenwatch@example.com>")
        #expect(c.renewURL == "https://example.com/renew?page={page_id}&a=$x")
        #expect(c.requiredScopes == ["pages_messaging", "pages_show_list"])
        #expect(c.smtpUser == #"say "hi" \ \n"#)
        #expect(c.templatesDirectory == dir.path + "/with space")
        #expect(c.httpTimeout == 2.5)
        #expect(
            loaded.warnings == [
                .exportPrefix(path: dir.path + "/tokenwatch.env", line: 7, key: "TOKENWATCH_REQUIRED_SCOPES")
            ])
        #expect(loaded.sources["TOKENWATCH_DB"] == .file(path: dir.path + "/tokenwatch.env", line: 4))
    }

    @Test func unknownKeyInFileNamesFileLineAndSuggestion() throws {
        let dir = try OpsScratchDirectory()
        let failure = error { _ = try load(file: "# x\nTOKENWATCH_DB=a\nTOKENWATCH_CONCURENCY=4\n", in: dir) }
        let path = dir.path + "/tokenwatch.env"
        #expect(
            failure
                == .unknownKey(
                    key: "TOKENWATCH_CONCURENCY", source: .file(path: path, line: 3),
                    suggestion: "TOKENWATCH_CONCURRENCY"))
        #expect(
            failure?.description
                == "\(path):3: unknown setting TOKENWATCH_CONCURENCY (did you mean TOKENWATCH_CONCURRENCY?)")
        // A missing prefix is a typo too.
        let short = error { _ = try load(file: "REPORTS_DIR=/r\n", in: dir) }
        #expect(
            short
                == .unknownKey(
                    key: "REPORTS_DIR", source: .file(path: path, line: 1), suggestion: "TOKENWATCH_REPORTS_DIR"))
    }

    @Test func anUnknownKeyThatMightBeASecretIsNotShown() throws {
        let dir = try OpsScratchDirectory()
        let pasted = "c2VjcmV0LXZhbHVlLXRoYXQtd2FzLXBhc3RlZA"
        let failure = error { _ = try load(file: "TOKENWATCH_DB=/x\n\(pasted)==\n", in: dir) }
        guard case .unknownKey(nil, .file(_, 2), nil)? = failure else {
            Issue.record("expected a withheld unknown key, got \(String(describing: failure))")
            return
        }
        #expect(failure?.description.contains(pasted) == false)
        #expect(failure?.description.contains(":2:") == true)
    }

    @Test func badValuesNameTheKeyAndWhereTheyCameFrom() throws {
        let dir = try OpsScratchDirectory()
        let path = dir.path + "/tokenwatch.env"
        let fromFile = error { _ = try load(file: "\nTOKENWATCH_CONCURRENCY=0\n", in: dir) }
        #expect(
            fromFile?.description
                == "TOKENWATCH_CONCURRENCY from \(path):2: 0 is out of range: must be between 1 and 256")
        let fromEnv = error { _ = try load(env: ["TOKENWATCH_HTTP_TIMEOUT": "soon"], in: dir) }
        #expect(
            fromEnv?.description
                == "TOKENWATCH_HTTP_TIMEOUT from the environment: 'soon' is not a number of seconds greater than 0")
        let fromFlag = error { _ = try load(flags: ["TOKENWATCH_BATCH_SIZE": "51"], in: dir) }
        #expect(
            fromFlag
                == .invalidValue(
                    key: "TOKENWATCH_BATCH_SIZE", source: .flag, reason: "51 is out of range: must be between 1 and 50")
        )
        // A flag's value is named by its flag: the person typed --batch-size, not the variable.
        #expect(fromFlag?.description == "--batch-size: 51 is out of range: must be between 1 and 50")
        #expect(fromFlag?.isUsage == true)
    }

    @Test func smtpConnectionsIsOneToSixteen() throws {
        let dir = try OpsScratchDirectory()
        #expect(try load(env: ["TOKENWATCH_SMTP_CONNECTIONS": "1"], in: dir).configuration.smtpConnections == 1)
        #expect(try load(file: "TOKENWATCH_SMTP_CONNECTIONS=16\n", in: dir).configuration.smtpConnections == 16)
        let tooMany = error { _ = try load(env: ["TOKENWATCH_SMTP_CONNECTIONS": "17"], in: dir) }
        #expect(
            tooMany?.description
                == "TOKENWATCH_SMTP_CONNECTIONS from the environment: 17 is out of range: must be between 1 and 16")
        #expect(
            ConfigurationLoader.environmentHelp.contains(
                "  TOKENWATCH_SMTP_CONNECTIONS  digests sent at once (SMTP connections), 1 to 16 [default: 4]"))
    }

    @Test(arguments: [
        ("TOKENWATCH_CONCURRENCY", "257"), ("TOKENWATCH_CONCURRENCY", "4.5"), ("TOKENWATCH_BATCH_SIZE", "0"),
        ("TOKENWATCH_HTTP_TIMEOUT", "0"), ("TOKENWATCH_HTTP_TIMEOUT", "-1"), ("TOKENWATCH_RUN_TIMEOUT", "inf"),
        ("TOKENWATCH_RUN_TIMEOUT", "nan"), ("TOKENWATCH_MASS_INVALID_PERCENT", "100.5"),
        ("TOKENWATCH_MASS_INVALID_PERCENT", "-1"), ("TOKENWATCH_MASS_INVALID_MIN", "-1"),
        ("TOKENWATCH_EXPIRY_WARNING_DAYS", "two weeks"), ("TOKENWATCH_MAIL_MAX_ATTEMPTS", "0"),
        ("TOKENWATCH_SMTP_CONNECTIONS", "0"), ("TOKENWATCH_SMTP_CONNECTIONS", "17"),
        ("TOKENWATCH_SMTP_CONNECTIONS", "four"),
        ("TOKENWATCH_REMIND_AFTER_DAYS", "0"), ("TOKENWATCH_KEEP_REPORTS_DAYS", "x"),
        ("TOKENWATCH_GRAPH_VERSION", "25.0"), ("TOKENWATCH_GRAPH_VERSION", "v25"),
        ("TOKENWATCH_GRAPH_VERSION", "v25.0/"),
        ("TOKENWATCH_GRAPH_URL", "graph.facebook.com"), ("TOKENWATCH_GRAPH_URL", "ftp://graph.facebook.com"),
        ("TOKENWATCH_GRAPH_URL", "https://"), ("TOKENWATCH_GRAPH_URL", "https://u:p@graph.facebook.com"),
        ("TOKENWATCH_SMTP_URL", "mail.example.com:25"), ("TOKENWATCH_SMTP_URL", "http://mail.example.com"),
        ("TOKENWATCH_SMTP_URL", "smtp://"), ("TOKENWATCH_SMTP_URL", "file://"),
        ("TOKENWATCH_RENEW_URL", "example.com/renew/{page_id}"), ("TOKENWATCH_MAIL_FROM", "nobody"),
        ("TOKENWATCH_MAIL_FROM", "a@b\r\nBcc: x@y"), ("TOKENWATCH_REQUIRED_SCOPES", "pages_messaging,,x"),
        ("TOKENWATCH_REQUIRED_SCOPES", "pages_messaging,"), ("TOKENWATCH_REQUIRED_SCOPES", "Pages Messaging"),
        ("TOKENWATCH_APP_ID", "12ab"),
    ])
    func rejectsInvalidValues(key: String, value: String) throws {
        let failure = error { _ = try ConfigurationLoader.load(flags: [:], environment: [key: value], configFile: nil) }
        guard case .invalidValue(key, .environment, _)? = failure else {
            Issue.record("\(key)=\(value) was accepted or failed differently: \(String(describing: failure))")
            return
        }
    }

    @Test func acceptsValidEdgeValues() throws {
        let c = try ConfigurationLoader.load(
            flags: [:],
            environment: [
                "TOKENWATCH_CONCURRENCY": "256", "TOKENWATCH_BATCH_SIZE": "1", "TOKENWATCH_MASS_INVALID_PERCENT": "0",
                "TOKENWATCH_GRAPH_URL": "http://127.0.0.1:8080/", "TOKENWATCH_GRAPH_VERSION": "v3.3",
                "TOKENWATCH_SMTP_URL": "smtps://mail.example.com:465", "TOKENWATCH_APP_ID": "1234567890",
                "TOKENWATCH_REMIND_AFTER_DAYS": "7", "TOKENWATCH_KEEP_REPORTS_DAYS": "90",
                "TOKENWATCH_RUN_TIMEOUT": "0.5", "TOKENWATCH_REQUIRED_SCOPES": "a_1, b ,a_1",
            ], configFile: nil)
        #expect(c.concurrency == 256 && c.batchSize == 1 && c.massInvalidPercent == 0)
        #expect(c.graphURL == "http://127.0.0.1:8080")
        #expect(c.graphVersion == "v3.3" && c.appID == "1234567890")
        #expect(c.remindAfterDays == 7 && c.keepReportsDays == 90 && c.runTimeout == 0.5)
        #expect(c.requiredScopes == ["a_1", "b"])
        let file = try ConfigurationLoader.load(
            flags: [:], environment: ["TOKENWATCH_SMTP_URL": "file:///var/spool/tokenwatch"], configFile: nil)
        #expect(file.smtpURL == "file:///var/spool/tokenwatch")
    }

    @Test func unknownEnvironmentVariablesAreWarningsNotErrors() throws {
        let loaded = try ConfigurationLoader.resolve(
            flags: [:], environment: ["TOKENWATCH_CONCURENCY": "4", "TOKENWATCH_FOO": "1", "PATH": "/bin"],
            configFile: nil)
        #expect(loaded.configuration.concurrency == 8)
        #expect(
            loaded.warnings == [
                .unknownEnvironmentVariable(name: "TOKENWATCH_CONCURENCY", suggestion: "TOKENWATCH_CONCURRENCY"),
                .unknownEnvironmentVariable(name: "TOKENWATCH_FOO", suggestion: nil),
            ])
    }

    @Test func unknownFlagKeyIsAnError() {
        let failure = error {
            _ = try ConfigurationLoader.load(flags: ["TOKENWATCH_DATABASE": "x"], environment: [:], configFile: nil)
        }
        #expect(failure == .unknownKey(key: "TOKENWATCH_DATABASE", source: .flag, suggestion: nil))
    }

    @Test func unreadableConfigFileIsNamed() {
        let failure = error {
            _ = try ConfigurationLoader.load(flags: [:], environment: [:], configFile: "/nonexistent/tokenwatch.env")
        }
        #expect(
            failure == .cannotReadConfigFile(path: "/nonexistent/tokenwatch.env", reason: "No such file or directory"))
        #expect(
            failure?.description == "cannot read config file /nonexistent/tokenwatch.env: No such file or directory")
    }

    // MARK: - Secrets

    @Test func secretFilesAreReadWithOneTrailingNewlineTrimmed() throws {
        let dir = try OpsScratchDirectory()
        let appSecret = try dir.write("app_secret", "s3cr3t-app\n")
        let smtpPassword = try dir.write("smtp_password", "pa ss\n\n")
        let c = try load(
            env: ["TOKENWATCH_APP_SECRET_FILE": appSecret, "TOKENWATCH_APP_ID": "42"],
            file: "TOKENWATCH_SMTP_PASSWORD_FILE=\(smtpPassword)\n", in: dir
        ).configuration
        #expect(c.appSecret?.reveal == "s3cr3t-app")
        #expect(c.smtpPassword?.reveal == "pa ss\n")  // only one newline is trimmed
        #expect(c.appToken?.reveal == "42|s3cr3t-app")
        let crlf = try dir.write("crlf", "windows\r\n")
        #expect(
            try load(env: ["TOKENWATCH_APP_SECRET_FILE": crlf], in: dir).configuration.appSecret?.reveal == "windows")
    }

    @Test func theHighestLevelSettingEitherSpellingWins() throws {
        let dir = try OpsScratchDirectory()
        let secretFile = try dir.write("app_secret", "from-file\n")
        // A direct flag beats an environment _FILE.
        #expect(
            try load(
                flags: ["TOKENWATCH_APP_SECRET": "from-flag"], env: ["TOKENWATCH_APP_SECRET_FILE": secretFile], in: dir
            )
            .configuration.appSecret?.reveal == "from-flag")
        // An environment _FILE beats a direct value in the config file.
        let loaded = try load(
            env: ["TOKENWATCH_APP_SECRET_FILE": secretFile], file: "TOKENWATCH_APP_SECRET=from-config\n", in: dir)
        #expect(loaded.configuration.appSecret?.reveal == "from-file")
        #expect(loaded.sources["TOKENWATCH_APP_SECRET_FILE"] == .environment)
    }

    @Test func directAndFileSecretAtTheSameLevelConflict() throws {
        let dir = try OpsScratchDirectory()
        let secretFile = try dir.write("pw", "file-password\n")
        let failure = error {
            _ = try load(
                env: ["TOKENWATCH_SMTP_PASSWORD": "direct-password", "TOKENWATCH_SMTP_PASSWORD_FILE": secretFile],
                in: dir)
        }
        #expect(
            failure
                == .conflictingSecret(
                    key: "TOKENWATCH_SMTP_PASSWORD", fileKey: "TOKENWATCH_SMTP_PASSWORD_FILE", source: .environment))
        #expect(failure?.description.contains("direct-password") == false)
        #expect(failure?.description.contains("file-password") == false)
    }

    @Test func unreadableOrEmptySecretFileIsNamed() throws {
        let dir = try OpsScratchDirectory()
        let missing = error { _ = try load(env: ["TOKENWATCH_APP_SECRET_FILE": "/nonexistent/secret"], in: dir) }
        #expect(
            missing
                == .cannotReadSecretFile(
                    key: "TOKENWATCH_APP_SECRET_FILE", path: "/nonexistent/secret", source: .environment,
                    reason: "No such file or directory"))
        let empty = try dir.write("empty", "\n")
        let emptyFailure = error { _ = try load(flags: ["TOKENWATCH_APP_SECRET_FILE": empty], in: dir) }
        #expect(
            emptyFailure?.description
                == "TOKENWATCH_APP_SECRET_FILE from the command line: cannot read secret file \(empty): the file is empty"
        )
        let directory = error { _ = try load(env: ["TOKENWATCH_SMTP_PASSWORD_FILE": dir.path], in: dir) }
        #expect(directory?.description.contains("not a regular file") == true)
    }

    @Test func secretsNeverAppearInErrorDescriptions() throws {
        let dir = try OpsScratchDirectory()
        let secret = "EAAGm0PX4ZCpsBAsuperSecretValue"
        let secretFile = try dir.write("secret", secret + "\n")
        var failures: [ConfigurationError?] = []
        failures.append(
            error {
                _ = try load(env: ["TOKENWATCH_APP_SECRET": secret, "TOKENWATCH_APP_SECRET_FILE": secretFile], in: dir)
            })
        // An unterminated quote, text after a quote, no '=', a bare secret, a secret as a key.
        failures.append(error { _ = try load(file: "TOKENWATCH_APP_SECRET=\"\(secret)\n", in: dir) })
        failures.append(error { _ = try load(file: "TOKENWATCH_APP_SECRET=\"\(secret)\" trailing\n", in: dir) })
        failures.append(error { _ = try load(file: "TOKENWATCH_APP_SECRET \(secret)\n", in: dir) })
        failures.append(error { _ = try load(file: "\(secret)\n", in: dir) })
        failures.append(error { _ = try load(file: "\(secret)=\n", in: dir) })
        // Pasted into the wrong setting, or carried in a URL.
        failures.append(error { _ = try load(env: ["TOKENWATCH_APP_ID": secret], in: dir) })
        failures.append(
            error { _ = try load(env: ["TOKENWATCH_SMTP_URL": "smtp://user:\(secret)@mail.example.com"], in: dir) })
        failures.append(
            error { _ = try load(env: ["TOKENWATCH_GRAPH_URL": "https://x:\(secret)@graph.facebook.com"], in: dir) })
        failures.append(error { _ = try load(env: ["TOKENWATCH_RENEW_URL": "renew/\(secret)"], in: dir) })
        #expect(failures.allSatisfy { $0 != nil })
        for failure in failures {
            let text = failure.map { "\($0) \(String(reflecting: $0))" } ?? ""
            #expect(!text.contains(secret), "leaked: \(text)")
            #expect(!text.contains("superSecret"), "leaked: \(text)")
        }
    }

    // MARK: - Known keys

    @Test func knownKeysCoverTheSpecAndAreDocumented() {
        let names = ConfigurationLoader.knownKeys.map(\.name)
        #expect(Set(names).count == names.count)
        let expected = [
            "TOKENWATCH_DB", "TOKENWATCH_REPORTS_DIR", "TOKENWATCH_GRAPH_URL", "TOKENWATCH_GRAPH_VERSION",
            "TOKENWATCH_APP_ID", "TOKENWATCH_APP_SECRET", "TOKENWATCH_APP_SECRET_FILE", "TOKENWATCH_KEY_FILE",
            "TOKENWATCH_SMTP_URL", "TOKENWATCH_SMTP_USER", "TOKENWATCH_SMTP_PASSWORD", "TOKENWATCH_SMTP_PASSWORD_FILE",
            "TOKENWATCH_MAIL_FROM", "TOKENWATCH_RENEW_URL", "TOKENWATCH_REQUIRED_SCOPES", "TOKENWATCH_CONCURRENCY",
            "TOKENWATCH_HTTP_TIMEOUT", "TOKENWATCH_RUN_TIMEOUT", "TOKENWATCH_METRICS_FILE", "TOKENWATCH_TEMPLATES_DIR",
            "TOKENWATCH_EXPIRY_WARNING_DAYS", "TOKENWATCH_MASS_INVALID_PERCENT", "TOKENWATCH_MASS_INVALID_MIN",
            "TOKENWATCH_CA_FILE", "TOKENWATCH_MAIL_MAX_ATTEMPTS", "TOKENWATCH_SMTP_CONNECTIONS",
            "TOKENWATCH_REMIND_AFTER_DAYS",
            "TOKENWATCH_KEEP_REPORTS_DAYS", "TOKENWATCH_BATCH_SIZE", "TOKENWATCH_PRODUCT_NAME", "TOKENWATCH_OPS_EMAIL",
            "TOKENWATCH_NOTIFY_RECOVERY", "TOKENWATCH_ACTOR", "TOKENWATCH_DB_PASSWORD", "TOKENWATCH_DB_PASSWORD_FILE",
            "TOKENWATCH_SHARDS",
        ]
        #expect(Set(names) == Set(expected))
        for key in ConfigurationLoader.knownKeys {
            #expect(!key.summary.isEmpty && !key.summary.contains("\n"), "\(key.name)")
        }
        #expect(
            ConfigurationLoader.knownKeys.filter(\.isSecret).map(\.name).sorted() == [
                "TOKENWATCH_APP_SECRET", "TOKENWATCH_APP_SECRET_FILE", "TOKENWATCH_DB_PASSWORD",
                "TOKENWATCH_DB_PASSWORD_FILE", "TOKENWATCH_SMTP_PASSWORD", "TOKENWATCH_SMTP_PASSWORD_FILE",
            ])
    }

    @Test func theActorIsASettingAndCommandsAreRecordedAsIt() throws {
        let dir = try OpsScratchDirectory()
        let loaded = try load(env: ["TOKENWATCH_ACTOR": "ops:night-shift"], in: dir)
        #expect(loaded.configuration.actor == "ops:night-shift")
        #expect(loaded.warnings.isEmpty, "TOKENWATCH_ACTOR is known: \(loaded.warnings)")
        #expect(Workspace.cliActor(environment: ["TOKENWATCH_ACTOR": "ops:night-shift"]) == "ops:night-shift")
        #expect(Workspace.cliActor(environment: ["USER": "maria"]) == "cli:maria")
        // Without $USER (a bare cron or container environment) the account's name, never "unknown".
        #expect(!Workspace.cliActor(environment: [:]).contains("unknown"))
    }

    @Test func environmentHelpHasOneLinePerKey() {
        let lines = ConfigurationLoader.environmentHelp.split(separator: "\n")
        #expect(lines.count == ConfigurationLoader.knownKeys.count)
        #expect(
            lines.first
                == "  TOKENWATCH_DB (--db)  SQLite database path, or postgres://user@host:port/db?sslmode=require for PostgreSQL [default: ./tokenwatch.sqlite3]"
        )
    }

    @Test func suggestionsOnlyForNearMisses() {
        #expect(ConfigurationLoader.suggestion(for: "TOKENWATCH_RUN_TIMOUT") == "TOKENWATCH_RUN_TIMEOUT")
        #expect(ConfigurationLoader.suggestion(for: "tokenwatch_db") == "TOKENWATCH_DB")
        #expect(ConfigurationLoader.suggestion(for: "CONCURRENCY") == "TOKENWATCH_CONCURRENCY")
        #expect(ConfigurationLoader.suggestion(for: "HOME") == nil)
        #expect(ConfigurationLoader.suggestion(for: "TOKENWATCH_SOMETHING_ELSE") == nil)
    }
}
