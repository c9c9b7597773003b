import TokenWatchMail
import TokenWatchModel
import TokenWatchStore

/// One setting TokenWatch understands: its environment name (also the key in a config file and
/// in the loader's `flags`), the command-line flag that sets it if there is one, and a one-line
/// summary for `--help` and the README.
public struct ConfigurationKey: Sendable, Hashable {
    /// The environment variable name, e.g. `TOKENWATCH_DB`.
    public let name: String
    /// The command-line flag that sets it, e.g. `--db`, when there is one.
    public let flag: String?
    /// What the setting is, in one line.
    public let summary: String
    /// The default in words (`./tokenwatch.sqlite3`, `the database path + .key`), or nil when
    /// unset by default.
    public let defaultValue: String?
    /// The value is a secret (or a file holding one): it is never echoed in an error.
    public let isSecret: Bool

    /// Declares a key.
    public init(
        _ name: String, flag: String? = nil, default defaultValue: String? = nil,
        secret: Bool = false, _ summary: String
    ) {
        self.name = name
        self.flag = flag
        self.summary = summary
        self.defaultValue = defaultValue
        self.isSecret = secret
    }
}

extension ConfigurationKey {
    static let database = ConfigurationKey(
        "TOKENWATCH_DB", flag: "--db", default: "./tokenwatch.sqlite3", "SQLite database path")
    static let reportsDirectory = ConfigurationKey(
        "TOKENWATCH_REPORTS_DIR", flag: "--reports-dir", default: "./reports",
        "directory the HTML and CSV reports are written to")
    static let graphURL = ConfigurationKey(
        "TOKENWATCH_GRAPH_URL", default: "https://graph.facebook.com",
        "Graph API base URL, http or https (tests point it at a local server)")
    static let graphVersion = ConfigurationKey(
        "TOKENWATCH_GRAPH_VERSION", default: "v25.0", "Graph API version path prefix, like v25.0")
    static let appID = ConfigurationKey(
        "TOKENWATCH_APP_ID", "Meta app ID (numeric), needed by check for debug_token")
    static let appSecret = ConfigurationKey(
        "TOKENWATCH_APP_SECRET", secret: true,
        "Meta app secret, for the app token and appsecret_proof (prefer the _FILE variant)")
    static let appSecretFile = ConfigurationKey(
        "TOKENWATCH_APP_SECRET_FILE", secret: true,
        "file holding the app secret (one trailing newline is ignored)")
    static let keyFile = ConfigurationKey(
        "TOKENWATCH_KEY_FILE", default: "the database path + .key",
        "32-byte key for tokens at rest (AES-GCM), created 0600 by init")
    static let caFile = ConfigurationKey(
        "TOKENWATCH_CA_FILE", "extra CA bundle (PEM) for private Graph or SMTP endpoints")
    static let smtpURL = ConfigurationKey(
        "TOKENWATCH_SMTP_URL",
        "mail transport: smtp://host:port (STARTTLS when offered), smtps://host:port or file:///dir")
    static let smtpUser = ConfigurationKey("TOKENWATCH_SMTP_USER", "SMTP user name")
    static let smtpPassword = ConfigurationKey(
        "TOKENWATCH_SMTP_PASSWORD", secret: true, "SMTP password (prefer the _FILE variant)")
    static let smtpPasswordFile = ConfigurationKey(
        "TOKENWATCH_SMTP_PASSWORD_FILE", secret: true,
        "file holding the SMTP password (one trailing newline is ignored)")
    static let mailFrom = ConfigurationKey(
        "TOKENWATCH_MAIL_FROM", "sender address of the digests")
    static let renewURL = ConfigurationKey(
        "TOKENWATCH_RENEW_URL", "renewal link in digests, {page_id} substituted")
    static let requiredScopes = ConfigurationKey(
        "TOKENWATCH_REQUIRED_SCOPES", default: "pages_messaging,pages_manage_metadata",
        "comma-separated permissions a page needs to count as valid")
    static let concurrency = ConfigurationKey(
        "TOKENWATCH_CONCURRENCY", flag: "--concurrency", default: "8",
        "Graph requests in flight, 1 to 256")
    static let batchSize = ConfigurationKey(
        "TOKENWATCH_BATCH_SIZE", flag: "--batch-size", default: "50",
        "tokens per Graph batch request, 1 to 50")
    static let httpTimeout = ConfigurationKey(
        "TOKENWATCH_HTTP_TIMEOUT", default: "30", "seconds for one Graph or SMTP exchange")
    static let runTimeout = ConfigurationKey(
        "TOKENWATCH_RUN_TIMEOUT", default: "900",
        "seconds for a whole check; pages not reached count as unchecked")
    static let metricsFile = ConfigurationKey(
        "TOKENWATCH_METRICS_FILE", flag: "--metrics-file",
        "where check writes Prometheus metrics (node_exporter textfile collector)")
    static let templatesDirectory = ConfigurationKey(
        "TOKENWATCH_TEMPLATES_DIR", "directory of templates replacing the built-in ones by name")
    static let expiryWarningDays = ConfigurationKey(
        "TOKENWATCH_EXPIRY_WARNING_DAYS", default: "14",
        "flag pages whose token or data access ends within this many days")
    static let massInvalidPercent = ConfigurationKey(
        "TOKENWATCH_MASS_INVALID_PERCENT", default: "50",
        "mass-invalidation guard: hold digests when more than this % of valid pages turn invalid")
    static let massInvalidMin = ConfigurationKey(
        "TOKENWATCH_MASS_INVALID_MIN", default: "20",
        "mass-invalidation guard: ... and at least this many pages")
    static let mailMaxAttempts = ConfigurationKey(
        "TOKENWATCH_MAIL_MAX_ATTEMPTS", default: "10",
        "send attempts before a digest is marked failed")
    static let remindAfterDays = ConfigurationKey(
        "TOKENWATCH_REMIND_AFTER_DAYS",
        "remind Owners of pages still invalid this many days after the first alert (off when unset)")
    static let keepReportsDays = ConfigurationKey(
        "TOKENWATCH_KEEP_REPORTS_DAYS",
        "delete report pairs older than this many days, never the latest (keep all when unset)")
}
