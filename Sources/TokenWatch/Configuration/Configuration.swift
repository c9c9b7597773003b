import Foundation
import TokenWatchMail
import TokenWatchModel

/// Everything a TokenWatch command needs to know, resolved once from flags, the environment,
/// a config file and defaults (in that order of precedence). One immutable value, passed in.
public struct Configuration: Sendable {
    /// The store (`TOKENWATCH_DB`): an SQLite file's path (or `sqlite://PATH`), or a
    /// `postgres://user@host:port/db` URL. `store` says which.
    public var databasePath: String
    /// The PostgreSQL password (`TOKENWATCH_DB_PASSWORD(_FILE)`); never part of the URL shown.
    public var databasePassword: Secret?
    /// How many shards a check is split into (`TOKENWATCH_SHARDS`); `finish` waits for them.
    public var shards: Int?
    /// The shard a Kubernetes Indexed Job's pod checks: `JOB_COMPLETION_INDEX` of
    /// `TOKENWATCH_SHARDS`; nil outside such a Job.
    public var jobShard: Shard?
    /// Where reports go (`TOKENWATCH_REPORTS_DIR`).
    public var reportsDirectory: String
    /// Graph API base URL without version (`TOKENWATCH_GRAPH_URL`).
    public var graphURL: String
    /// Graph version path prefix, e.g. `v25.0` (`TOKENWATCH_GRAPH_VERSION`).
    public var graphVersion: String
    public var appID: String?
    public var appSecret: Secret?
    /// 32-byte key for tokens at rest; defaults to the database path + `.key`.
    public var keyFile: String
    /// Extra CA bundle for private Graph or SMTP endpoints (`TOKENWATCH_CA_FILE`).
    public var caFile: String?
    /// `smtp://host:port`, `smtps://host:port` or `file:///dir`.
    public var smtpURL: String?
    public var smtpUser: String?
    public var smtpPassword: Secret?
    public var mailFrom: String?
    /// Renewal link with `{page_id}` substituted.
    public var renewURL: String?
    public var requiredScopes: [String]
    /// Graph requests in flight at once.
    public var concurrency: Int
    /// Tokens per batch request (Graph allows at most 50).
    public var batchSize: Int
    /// Seconds for one Graph or SMTP exchange.
    public var httpTimeout: Double
    /// Seconds for a whole check; pages not reached count as unchecked.
    public var runTimeout: Double
    public var metricsFile: String?
    public var templatesDirectory: String?
    public var expiryWarningDays: Int
    public var massInvalidPercent: Double
    public var massInvalidMin: Int
    /// Attempts before a digest is marked failed (`TOKENWATCH_MAIL_MAX_ATTEMPTS`).
    public var mailMaxAttempts: Int
    /// Digests sent at once, each over its own SMTP connection (`TOKENWATCH_SMTP_CONNECTIONS`).
    public var smtpConnections: Int
    /// Opt-in reminders for pages still invalid this many days after the first alert.
    public var remindAfterDays: Int?
    /// Prune report pairs older than this many days (never the latest); nil keeps everything.
    public var keepReportsDays: Int?
    /// Who runs and commands are recorded as (`TOKENWATCH_ACTOR`); nil: the login user, or
    /// `cron` for a check without a terminal.
    public var actor: String?
    /// The platform's name in digests (`TOKENWATCH_PRODUCT_NAME`): what Owners know it as.
    public var productName: String
    /// Where causes only the platform can fix go instead of the Owners (`TOKENWATCH_OPS_EMAIL`).
    public var opsEmail: String?
    /// A short mail when a page an Owner was told about is Valid again (`TOKENWATCH_NOTIFY_RECOVERY`).
    public var notifyRecovery: Bool

    /// The built-in defaults of SPEC.md, as each setting declares them (`Settings`).
    public init(databasePath: String = Settings.database.defaultValue) {
        self.databasePath = databasePath
        self.databasePassword = nil
        self.shards = nil
        self.jobShard = nil
        self.reportsDirectory = Settings.reportsDirectory.defaultValue
        self.graphURL = Settings.graphURL.defaultValue
        self.graphVersion = Settings.graphVersion.defaultValue
        self.appID = nil
        self.appSecret = nil
        self.keyFile = databasePath + ".key"
        self.caFile = nil
        self.smtpURL = nil
        self.smtpUser = nil
        self.smtpPassword = nil
        self.mailFrom = nil
        self.renewURL = nil
        self.requiredScopes = Settings.requiredScopes.defaultValue
        self.concurrency = Settings.concurrency.defaultValue
        self.batchSize = Settings.batchSize.defaultValue
        self.httpTimeout = Settings.httpTimeout.defaultValue
        self.runTimeout = Settings.runTimeout.defaultValue
        self.metricsFile = nil
        self.templatesDirectory = nil
        self.expiryWarningDays = Settings.expiryWarningDays.defaultValue
        self.massInvalidPercent = Settings.massInvalidPercent.defaultValue
        self.massInvalidMin = Settings.massInvalidMin.defaultValue
        self.mailMaxAttempts = Settings.mailMaxAttempts.defaultValue
        self.smtpConnections = Settings.smtpConnections.defaultValue
        self.remindAfterDays = Settings.remindAfterDays.defaultValue
        self.keepReportsDays = Settings.keepReportsDays.defaultValue
        self.productName = Settings.productName.defaultValue
        self.actor = nil
        self.opsEmail = nil
        self.notifyRecovery = Settings.notifyRecovery.defaultValue
    }

    /// Which database `databasePath` names.
    public var store: StoreLocation { StoreLocation(databasePath) }

    /// What the digests say beyond their pages: the platform's name and where platform-side
    /// causes go.
    public var digestOptions: DigestOptions {
        DigestOptions(productName: productName, opsEmail: opsEmail, recoveryAlone: notifyRecovery)
    }

    /// How long a sender's claim on an Owner's outbox rows lasts: long enough for one digest's
    /// SMTP exchange (each step bounded by the HTTP timeout), short enough that the rows of a
    /// sender that died are sent by the next run.
    public var mailLease: TimeInterval { httpTimeout * 4 + 60 }

    /// The app token `APPID|SECRET` for `debug_token`, or nil when either part is missing.
    public var appToken: Secret? {
        guard let appID, !appID.isEmpty, let appSecret, !appSecret.isEmpty else { return nil }
        return Secret("\(appID)|\(appSecret.reveal)")
    }

    /// The redactor of this installation's secrets: the app secret, the app token, and the SMTP
    /// password in its AUTH forms. Every client of the outside world starts from it and adds the
    /// tokens it handles (a batch's Page tokens, a login's user token).
    public var redactor: Redactor {
        Redactor(secrets: [appSecret, appToken, databasePassword].compactMap { $0 })
            .addingSMTPCredentials(user: smtpUser, password: smtpPassword)
    }
}

/// Where the store is: the embedded SQLite file (the default) or the platform's PostgreSQL.
public enum StoreLocation: Sendable, Equatable {
    /// An SQLite file: a path, or `sqlite://PATH` (`sqlite:///var/lib/tw.sqlite3`).
    case sqlite(path: String)
    /// `postgres://` or `postgresql://` URL, as given (its password, if any, is never shown).
    case postgres(url: String)

    public init(_ text: String) {
        let lowered = text.lowercased()
        if lowered.hasPrefix("postgres://") || lowered.hasPrefix("postgresql://") {
            self = .postgres(url: text)
        } else if lowered.hasPrefix("sqlite://") {
            self = .sqlite(path: String(text.dropFirst("sqlite://".count)))
        } else {
            self = .sqlite(path: text)
        }
    }

    /// The SQLite file's path; nil for PostgreSQL.
    public var sqlitePath: String? {
        if case .sqlite(let path) = self { return path }
        return nil
    }

    /// What messages and reports may show: the path, or the URL without its password.
    public var displayName: String {
        switch self {
        case .sqlite(let path): return path
        case .postgres(let url):
            guard var components = URLComponents(string: url) else { return "postgres://(unparsable URL)" }
            if components.password != nil { components.password = "***" }
            return components.string ?? "postgres://(unparsable URL)"
        }
    }
}
