import Foundation
import Logging
import NIOSSL
import PostgresNIO
import TokenWatchModel
import TokenWatchStore

/// The TokenWatch store in the platform's PostgreSQL (`TOKENWATCH_DB=postgres://…`): the same
/// schema, versioned migrations and guarantees as the SQLite file (`AppDatabase`), through a
/// postgres-nio connection pool, so that shards of one check on many hosts share one store.
///
/// Every batch, outbox transition and import commits in one transaction; senders claim outbox
/// rows with `FOR UPDATE SKIP LOCKED`; the run lock is a session advisory lock that the server
/// drops when its holder dies.
public final class PostgresStore: PageStore {
    /// The URL without its password.
    public let location: String
    public let mode: StoreAccessMode
    let client: PostgresClient
    /// The task that runs the pool; cancelled by `close()`.
    let runner: Task<Void, Never>
    let settings: PostgresSettings
    let logger: Logger

    private init(settings: PostgresSettings, mode: StoreAccessMode, logger: Logger) {
        self.location = settings.url.location
        self.mode = mode
        self.settings = settings
        self.logger = logger
        // The pool's own chatter (a lease asked for in the instant before `run()` starts is a
        // warning) is not the user's business; its errors are.
        var background = logger
        background.logLevel = max(logger.logLevel, .error)
        let client = PostgresClient(configuration: settings.clientConfiguration(), backgroundLogger: background)
        self.client = client
        self.runner = Task { await client.run() }
    }

    deinit { runner.cancel() }

    /// Opens the store at `url` for `mode`, migrating it first when `mode` writes.
    ///
    /// - Parameters:
    ///   - password: `TOKENWATCH_DB_PASSWORD(_FILE)`; when nil, the URL's own password, if any.
    /// - Throws: `StoreError.cannotOpen` (a bad URL, the server unreachable, authentication
    ///   refused: the reason says which, never the password); `.notInitialised` when a writing
    ///   command meets a database `init` has not prepared; `.notATokenWatchDatabase` for a
    ///   database with tables but none of ours; `.schemaTooNew` for a newer TokenWatch's;
    ///   `.needsMigration` when `.readOnly` meets an older schema.
    public static func open(url: String, password: String?, mode: StoreAccessMode, logger: Logger)
        async throws(StoreError) -> PostgresStore
    {
        let parsed: PostgresURL
        do {
            parsed = try PostgresURL(url)
        } catch {
            throw StoreError.cannotOpen(path: PostgresURL.redacted(url), reason: error.description)
        }
        let settings = PostgresSettings(url: parsed, password: password ?? parsed.password, readOnly: mode == .readOnly)
        let connection = try await settings.connect(logger: logger)
        do {
            try await PostgresSchema.prepare(connection, mode: mode, settings: settings, logger: logger)
        } catch {
            try? await connection.close()
            throw error
        }
        try? await connection.close()
        return PostgresStore(settings: settings, mode: mode, logger: logger)
    }

    /// Migration identifiers applied to the store, oldest first.
    public func appliedMigrations() async throws(StoreError) -> [String] {
        try await read { connection in try await PostgresSchema.applied(connection, logger: self.logger) ?? [] }
    }

    /// Closes the pool: cancelling its run closes every connection (without waiting for the
    /// server to see them go).
    public func close() {
        runner.cancel()
    }

    // MARK: Transactions

    /// Runs `body` in one transaction on a pooled connection; `.notWritable` when the store was
    /// opened read-only (every write goes through here).
    func write<T: Sendable>(_ body: (PostgresConnection) async throws -> T) async throws(StoreError) -> T {
        guard mode != .readOnly else {
            throw StoreError.notWritable(path: location, reason: "opened read-only by a command that only reads")
        }
        return try await transaction(body)
    }

    /// Runs `body` in one transaction: its reads see one snapshot of the committed data.
    func read<T: Sendable>(_ body: (PostgresConnection) async throws -> T) async throws(StoreError) -> T {
        try await transaction(body)
    }

    /// `write` for what throws other errors as they are (an import's `UpsertConflict`, the
    /// reader's own errors).
    func writeRethrowing<T: Sendable>(_ body: (PostgresConnection) async throws -> T) async throws -> T {
        guard mode != .readOnly else {
            throw StoreError.notWritable(path: location, reason: "opened read-only by a command that only reads")
        }
        do {
            return try await client.withTransaction(logger: logger) { connection in try await body(connection) }
        } catch let error as PostgresTransactionError {
            if let closureError = error.closureError, !(closureError is PSQLError),
                !(closureError is PostgresDecodingError)
            {
                throw closureError
            }
            throw storeError(error)
        } catch {
            throw storeError(error)
        }
    }

    private func transaction<T: Sendable>(_ body: (PostgresConnection) async throws -> T) async throws(StoreError)
        -> T
    {
        do {
            return try await client.withTransaction(logger: logger) { connection in try await body(connection) }
        } catch {
            throw storeError(error)
        }
    }

    /// A `StoreError` for what a query or transaction threw, in words that never hold the password.
    func storeError(_ error: any Error) -> StoreError {
        if let error = error as? StoreError { return error }
        if let error = error as? PostgresTransactionError {
            if let inner = error.closureError ?? error.beginError ?? error.commitError { return storeError(inner) }
            return .database("transaction failed")
        }
        if let error = error as? PSQLError, let state = error.serverInfo?[.sqlState],
            state == "25006" || state == "42501"
        {
            return .notWritable(path: location, reason: settings.describe(error))
        }
        return .database(settings.describe(error))
    }
}

/// How to reach the server: the parsed URL, the password and the session settings, for the
/// pool and for the dedicated connections (migrations, run locks).
struct PostgresSettings: Sendable {
    let url: PostgresURL
    let password: String?
    /// Every session runs with `default_transaction_read_only = on`.
    let readOnly: Bool

    /// The session parameters sent at start-up.
    func startupParameters(applicationName: String = "tokenwatch") -> [(String, String)] {
        var parameters = [("application_name", applicationName)]
        if readOnly { parameters.append(("default_transaction_read_only", "on")) }
        return parameters
    }

    /// `sslmode` as NIOSSL's client configuration; nil for `disable`. `prefer` and `require`
    /// encrypt without verifying the certificate, as libpq does; `verify-full` verifies it
    /// against the system's trust roots and matches the host name.
    func tlsConfiguration() -> TLSConfiguration? {
        var configuration = TLSConfiguration.makeClientConfiguration()
        switch url.sslMode {
        case .disable: return nil
        case .prefer, .require: configuration.certificateVerification = .none
        case .verifyFull: configuration.certificateVerification = .fullVerification
        }
        return configuration
    }

    func clientConfiguration() -> PostgresClient.Configuration {
        let tls: PostgresClient.Configuration.TLS
        switch (url.sslMode, tlsConfiguration()) {
        case (.prefer, let configuration?): tls = .prefer(configuration)
        case (.require, let configuration?), (.verifyFull, let configuration?): tls = .require(configuration)
        default: tls = .disable
        }
        var configuration = PostgresClient.Configuration(
            host: url.host, port: url.port, username: url.user, password: password, database: url.database, tls: tls)
        configuration.options.additionalStartupParameters = startupParameters()
        // A check commits one batch at a time and a sender claims one digest at a time: a
        // few connections per process are plenty, and N shards must fit the server's limit.
        configuration.options.maximumConnections = 4
        configuration.options.connectionIdleTimeout = .seconds(30)
        return configuration
    }

    /// One connection of its own, outside the pool: migrations and run locks.
    func connect(logger: Logger, applicationName: String = "tokenwatch") async throws(StoreError)
        -> PostgresConnection
    {
        do {
            let tls: PostgresConnection.Configuration.TLS
            switch (url.sslMode, tlsConfiguration()) {
            case (.prefer, let configuration?): tls = .prefer(try NIOSSLContext(configuration: configuration))
            case (.require, let configuration?), (.verifyFull, let configuration?):
                tls = .require(try NIOSSLContext(configuration: configuration))
            default: tls = .disable
            }
            var configuration = PostgresConnection.Configuration(
                host: url.host, port: url.port, username: url.user, password: password, database: url.database,
                tls: tls)
            configuration.options.additionalStartupParameters = startupParameters(applicationName: applicationName)
            return try await PostgresConnection.connect(configuration: configuration, id: 0, logger: logger)
        } catch {
            // postgres-nio hands the socket's own error through when nothing answers.
            let reason =
                error is PSQLError ? describe(error) : "cannot connect to \(url.host):\(url.port): \(describe(error))"
            throw StoreError.cannotOpen(path: url.location, reason: reason)
        }
    }

    /// What went wrong, in words: the server's message and SQLSTATE, or the network's error.
    /// postgres-nio's own description is deliberately blank; its debug description may show a
    /// query's binds, so neither is used. The password is masked wherever it might appear.
    func describe(_ error: any Error) -> String {
        var text: String
        if let error = error as? PSQLError {
            if let message = error.serverInfo?[.message] {
                text = message
                if let detail = error.serverInfo?[.detail] { text += " (\(detail))" }
                if let state = error.serverInfo?[.sqlState] { text += " [SQLSTATE \(state)]" }
            } else {
                switch error.code {
                case .connectionError, .serverClosedConnection, .uncleanShutdown:
                    text = "cannot connect to \(url.host):\(url.port)"
                    if let underlying = error.underlying { text += ": \(underlying)" }
                case .sslUnsupported:
                    text = "the server does not offer TLS, and sslmode=\(url.sslMode.rawValue) requires it"
                case .authMechanismRequiresPassword:
                    text =
                        "the server asks for a password and none was given (TOKENWATCH_DB_PASSWORD or TOKENWATCH_DB_PASSWORD_FILE)"
                case .unsupportedAuthMechanism:
                    text = "the server asks for an authentication method postgres-nio does not speak"
                case .failedToAddSSLHandler:
                    text = "TLS could not be set up"
                    if let underlying = error.underlying { text += ": \(underlying)" }
                default:
                    text = "\(error.code)"
                    if let underlying = error.underlying { text += ": \(underlying)" }
                }
            }
        } else if let error = error as? NIOSSLError {
            text = "TLS failed: \(error)"
        } else {
            text = String(describing: error)
        }
        if let password, !password.isEmpty {
            text = text.replacingOccurrences(of: password, with: "***")
        }
        return text
    }
}

extension PostgresURL {
    /// `text` with anything that may be a password (between `user:` and `@`) masked, for a
    /// URL too broken to parse.
    static func redacted(_ text: String) -> String {
        guard let scheme = text.range(of: "://") else { return text }
        let rest = text[scheme.upperBound...]
        let authorityEnd = rest.firstIndex(where: { $0 == "/" || $0 == "?" }) ?? rest.endIndex
        guard let at = rest[..<authorityEnd].lastIndex(of: "@") else { return text }
        let userinfo = rest[..<at]
        guard let colon = userinfo.firstIndex(of: ":") else { return text }
        return String(text[..<colon]) + ":***" + String(text[at...])
    }
}
