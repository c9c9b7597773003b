import Foundation
import Logging
import TokenWatchMail
import TokenWatchPostgres
import TokenWatchStore
import TokenWatchSystem
import TokenWatchTemplates

/// The opened store of one TokenWatch installation: the database and the key its tokens are
/// sealed with, checked against each other. Every command that touches pages starts here.
public struct Workspace: Sendable {
    public let configuration: Configuration
    public let database: any PageStore
    public let cipher: TokenCipher

    /// What `init` did.
    public struct InitResult: Sendable {
        public var createdDatabase: Bool
        public var createdKey: Bool
        public var migrations: [String]
    }

    /// Creates or migrates the database and creates the key file (0600) when missing; run
    /// twice it changes nothing. An existing database with a missing key is refused: a new
    /// key could not open the tokens already stored.
    public static func initialise(_ configuration: Configuration) async throws(StoreError) -> InitResult {
        let keyExists = FileManager.default.fileExists(atPath: configuration.keyFile)
        let existed: Bool
        switch configuration.store {
        case .sqlite(let path):
            existed = FileManager.default.fileExists(atPath: path)
        case .postgres:
            // A database that is there but not initialised is the usual case for PostgreSQL:
            // the platform's DBA creates it, `init` creates the schema.
            existed = try await postgresIsInitialised(configuration)
        }
        if existed && !keyExists {
            let database = try await openStore(configuration, mode: .readWrite)
            defer { database.close() }
            if try await database.hasSealedData() { throw StoreError.keyMissing(path: configuration.keyFile) }
        }
        let database = try await openStore(configuration, mode: .create)
        defer { database.close() }
        let createdKey = try TokenCipher.createKeyFileIfMissing(at: configuration.keyFile)
        let cipher = try TokenCipher.load(keyFile: configuration.keyFile)
        try await database.verifyKey(cipher)
        return InitResult(
            createdDatabase: !existed, createdKey: createdKey, migrations: try await database.appliedMigrations())
    }

    /// Opens an initialised store and checks its key. Missing database or key, the wrong
    /// key, or a file that is not this build's TokenWatch database is a `StoreError` with
    /// `isConfiguration` true; a database the OS will not let a writing command write is
    /// `.notWritable`.
    /// - Parameter mode: `.readOnly` for commands that only read (`pages list`, `pages log`,
    ///   `report`, `check --dry-run`): they never write and work on a read-only database.
    /// A key file that group or others can read is logged as a warning through `logger`.
    public static func open(
        _ configuration: Configuration, mode: StoreAccessMode = .readWrite,
        logger: Logger = Logger(label: "tokenwatch")
    ) async throws(StoreError) -> Workspace {
        let database = try await openStore(configuration, mode: mode == .create ? .readWrite : mode)
        let cipher = try await blocking { () throws(StoreError) -> TokenCipher in
            try TokenCipher.load(keyFile: configuration.keyFile)
        }
        try await database.verifyKey(cipher)
        if let mode = Self.permissions(of: configuration.keyFile), mode & 0o077 != 0 {
            logger.warning(
                "the token key file \(configuration.keyFile) can be read by \(mode & 0o070 != 0 ? "its group" : "others")\(mode & 0o070 != 0 && mode & 0o007 != 0 ? " and others" : ""): whoever reads it and the database reads every page token; chmod 600 it"
            )
        }
        return Workspace(configuration: configuration, database: database, cipher: cipher)
    }

    /// The store `TOKENWATCH_DB` names, opened for `mode`: the SQLite file, or PostgreSQL.
    public static func openStore(_ configuration: Configuration, mode: StoreAccessMode) async throws(StoreError)
        -> any PageStore
    {
        switch configuration.store {
        case .sqlite(let path):
            // Opening runs migrations and file I/O: off the cooperative pool.
            return try await blocking { () throws(StoreError) -> any PageStore in
                try AppDatabase.open(path: path, mode: mode)
            }
        case .postgres(let url):
            return try await PostgresStore.open(
                url: url, password: configuration.databasePassword?.reveal, mode: mode,
                logger: Logger(label: "tokenwatch.store"))
        }
    }

    /// Whether the PostgreSQL database already holds TokenWatch's schema.
    static func postgresIsInitialised(_ configuration: Configuration) async throws(StoreError) -> Bool {
        do {
            let store = try await openStore(configuration, mode: .readOnly)
            store.close()
            return true
        } catch {
            switch error {
            case .notInitialised: return false
            case .needsMigration: return true
            default: throw error
            }
        }
    }

    /// The permission bits of a file, nil when it cannot be examined.
    static func permissions(of path: String) -> UInt32? {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        return UInt32(info.st_mode) & 0o777
    }

    /// `BlockingWork.run` keeping the store's typed error.
    static func blocking<T: Sendable>(_ body: @escaping @Sendable () throws(StoreError) -> T) async throws(StoreError)
        -> T
    {
        do {
            return try await BlockingWork.run { try body() }
        } catch let error as StoreError {
            throw error
        } catch {
            throw StoreError.database(String(describing: error))
        }
    }

    /// The person behind a CLI command, for the page log: TOKENWATCH_ACTOR when set, else
    /// `cli:<login>` — the sudo user, `$USER`, `$LOGNAME`, or the account of the process.
    public static func cliActor(environment: [String: String] = ProcessInfo.processInfo.environment) -> String {
        if let actor = environment["TOKENWATCH_ACTOR"], !actor.isEmpty { return actor }
        let user =
            environment["SUDO_USER"] ?? environment["USER"] ?? environment["LOGNAME"] ?? accountName()
            ?? "uid \(getuid())"
        return "cli:\(user)"
    }

    /// The outbox's sender for `check` and `notify`: the digest composer and the dispatcher set
    /// up from the configuration (sender address, renewal link, product name, attempts, SMTP
    /// connections, lease, redactor), claiming rows as `sender`.
    public func digestDispatcher(
        templates: TemplateSet, transport: any MailTransport, actor: String, sender: String, logger: Logger
    ) throws -> DigestDispatcher {
        let composer = try DigestComposer(
            templates: templates, from: configuration.mailFrom ?? "", renewURLTemplate: configuration.renewURL,
            options: configuration.digestOptions)
        return DigestDispatcher(
            database: database, composer: composer, transport: transport, maxAttempts: configuration.mailMaxAttempts,
            connections: configuration.smtpConnections, actor: actor, sender: sender, lease: configuration.mailLease,
            logger: logger, redactor: configuration.redactor)
    }

    /// The name of the process's account, from the password database.
    private static func accountName() -> String? {
        guard let entry = getpwuid(getuid()), let name = entry.pointee.pw_name else { return nil }
        return String(cString: name)
    }
}
