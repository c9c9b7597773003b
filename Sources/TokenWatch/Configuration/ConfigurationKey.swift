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

/// A setting with a typed value: its key (name, flag, summary), its default and the one
/// parser that every value of it goes through — flag, environment, file and default alike. The
/// default and the range live here and nowhere else.
public struct Setting<Value: Sendable>: Sendable {
    public let key: ConfigurationKey
    /// The value when no level sets one.
    public let defaultValue: Value
    /// Parses a value as typed; the failure is the reason in words (never the value of a secret).
    let parse: @Sendable (String) -> Result<Value, SettingProblem>

    init(
        _ key: ConfigurationKey, default defaultValue: Value,
        parse: @escaping @Sendable (String) -> Result<Value, SettingProblem>
    ) {
        self.key = key
        self.defaultValue = defaultValue
        self.parse = parse
    }
}

/// Why a value was refused, in words.
struct SettingProblem: Error, Sendable {
    var reason: String
}

extension Setting where Value == Int {
    /// A whole number within `range`.
    static func integer(
        _ name: String, flag: String? = nil, range: ClosedRange<Int>, default value: Int, _ summary: String
    ) -> Setting<Int> {
        Setting(
            ConfigurationKey(name, flag: flag, default: String(value), summary + Self.rangeText(range)),
            default: value, parse: { Self.wholeNumber($0, in: range) })
    }
}

extension Setting where Value == Int? {
    /// A whole number within `range`, unset (off) by default.
    static func optionalInteger(_ name: String, flag: String? = nil, range: ClosedRange<Int>, _ summary: String)
        -> Setting<Int?>
    {
        Setting(
            ConfigurationKey(name, flag: flag, summary + Setting<Int>.rangeText(range)), default: nil,
            parse: { Setting<Int>.wholeNumber($0, in: range).map { Optional($0) } })
    }
}

extension Setting where Value == Double {
    /// A decimal number within `range`; `exclusiveLower` refuses the lower bound itself.
    static func decimal(
        _ name: String, range: ClosedRange<Double>, exclusiveLower: Bool = false, default value: Double,
        unit: String, _ summary: String
    ) -> Setting<Double> {
        Setting(
            ConfigurationKey(name, default: Self.plain(value), summary), default: value,
            parse: { text in
                let trimmed = text.trimmingCharacters(in: .whitespaces)
                guard !trimmed.isEmpty,
                    trimmed.allSatisfy({ $0.isASCII && ($0.isNumber || $0 == "." || $0 == "+") }),
                    let number = Double(trimmed), number.isFinite, range.contains(number),
                    !(exclusiveLower && number == range.lowerBound)
                else {
                    let lower =
                        exclusiveLower
                        ? "greater than \(Self.plain(range.lowerBound))" : "from \(Self.plain(range.lowerBound))"
                    let upper = range.upperBound.isInfinite ? "" : " to \(Self.plain(range.upperBound))"
                    return .failure(SettingProblem(reason: "\(quotedValue(text)) is not \(unit) \(lower)\(upper)"))
                }
                return .success(number)
            })
    }

    /// `30`, not `30.0`.
    static func plain(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e15 ? String(Int64(value)) : String(value)
    }
}

extension Setting {
    static func rangeText(_ range: ClosedRange<Int>) -> String {
        range.upperBound >= Int(Int32.max)
            ? ", at least \(range.lowerBound)" : ", \(range.lowerBound) to \(range.upperBound)"
    }

    static func wholeNumber(_ text: String, in range: ClosedRange<Int>) -> Result<Int, SettingProblem> {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        guard let number = Int(trimmed) else {
            return .failure(SettingProblem(reason: "\(quotedValue(text)) is not a whole number"))
        }
        guard range.contains(number) else {
            let bounds =
                range.upperBound >= Int(Int32.max)
                ? "at least \(range.lowerBound)" : "between \(range.lowerBound) and \(range.upperBound)"
            return .failure(SettingProblem(reason: "\(number) is out of range: must be \(bounds)"))
        }
        return .success(number)
    }
}

/// A non-secret value as it may appear in a message: quoted, control characters escaped,
/// at most 64 characters.
func quotedValue(_ value: String) -> String {
    var shown = ""
    for scalar in value.unicodeScalars.prefix(64) {
        shown += scalar.properties.generalCategory == .control ? scalar.escaped(asASCII: true) : String(scalar)
    }
    return "'" + shown + (value.unicodeScalars.count > 64 ? "…'" : "'")
}

/// The typed settings: numbers with their ranges and defaults.
public enum Settings {
    public static let database = Setting<String>(
        ConfigurationKey(
            "TOKENWATCH_DB", flag: "--db", default: "./tokenwatch.sqlite3",
            "SQLite database path, or postgres://user@host:port/db?sslmode=require for PostgreSQL"),
        default: "./tokenwatch.sqlite3", parse: { .success($0) })
    public static let reportsDirectory = Setting<String>(
        ConfigurationKey(
            "TOKENWATCH_REPORTS_DIR", flag: "--reports-dir", default: "./reports",
            "directory the HTML and CSV reports are written to"),
        default: "./reports", parse: { .success($0) })
    public static let graphURL = Setting<String>(
        ConfigurationKey(
            "TOKENWATCH_GRAPH_URL", default: "https://graph.facebook.com",
            "Graph API base URL, http or https (tests point it at a local server)"),
        default: "https://graph.facebook.com", parse: SettingParsers.graphURL)
    public static let graphVersion = Setting<String>(
        ConfigurationKey("TOKENWATCH_GRAPH_VERSION", default: "v25.0", "Graph API version path prefix, like v25.0"),
        default: "v25.0", parse: SettingParsers.graphVersion)
    public static let requiredScopes = Setting<[String]>(
        ConfigurationKey(
            "TOKENWATCH_REQUIRED_SCOPES", default: "pages_messaging,pages_manage_metadata",
            "comma-separated permissions a page needs to count as valid"),
        default: ["pages_messaging", "pages_manage_metadata"], parse: SettingParsers.scopes)
    public static let concurrency = Setting<Int>.integer(
        "TOKENWATCH_CONCURRENCY", flag: "--concurrency", range: 1...256, default: 8, "Graph batch requests in flight")
    public static let batchSize = Setting<Int>.integer(
        "TOKENWATCH_BATCH_SIZE", flag: "--batch-size", range: 1...50, default: 50, "tokens per Graph batch request")
    public static let httpTimeout = Setting<Double>.decimal(
        "TOKENWATCH_HTTP_TIMEOUT", range: 0...Double.infinity, exclusiveLower: true, default: 30,
        unit: "a number of seconds", "seconds for one Graph or SMTP exchange")
    public static let runTimeout = Setting<Double>.decimal(
        "TOKENWATCH_RUN_TIMEOUT", range: 0...Double.infinity, exclusiveLower: true, default: 900,
        unit: "a number of seconds", "seconds for a whole check, mail included; pages not reached count as unchecked")
    public static let expiryWarningDays = Setting<Int>.integer(
        "TOKENWATCH_EXPIRY_WARNING_DAYS", range: 0...Int(Int32.max), default: 14,
        "flag pages whose token or data access ends within this many days")
    public static let massInvalidPercent = Setting<Double>.decimal(
        "TOKENWATCH_MASS_INVALID_PERCENT", range: 0...100, default: 50, unit: "a percentage",
        "mass-invalidation guard: hold digests when more than this % of valid pages turn invalid")
    public static let massInvalidMin = Setting<Int>.integer(
        "TOKENWATCH_MASS_INVALID_MIN", range: 0...Int(Int32.max), default: 20,
        "mass-invalidation guard: ... and at least this many pages")
    public static let mailMaxAttempts = Setting<Int>.integer(
        "TOKENWATCH_MAIL_MAX_ATTEMPTS", range: 1...Int(Int32.max), default: 10,
        "send attempts before a digest is marked failed")
    public static let smtpConnections = Setting<Int>.integer(
        "TOKENWATCH_SMTP_CONNECTIONS", range: 1...16, default: 4, "digests sent at once (SMTP connections)")
    public static let remindAfterDays = Setting<Int?>.optionalInteger(
        "TOKENWATCH_REMIND_AFTER_DAYS", range: 1...Int(Int32.max),
        "remind Owners of pages still invalid this many days after the first alert (off when unset)")
    public static let keepReportsDays = Setting<Int?>.optionalInteger(
        "TOKENWATCH_KEEP_REPORTS_DAYS", flag: "--keep-reports", range: 1...Int(Int32.max),
        "delete report pairs older than this many days, never the latest (keep all when unset)")
    public static let productName = Setting<String>(
        ConfigurationKey(
            "TOKENWATCH_PRODUCT_NAME", default: "TokenWatch",
            "the platform's name in digests and reports, as Owners know it"),
        default: "TokenWatch", parse: SettingParsers.productName)
    public static let shards = Setting<Int?>.optionalInteger(
        "TOKENWATCH_SHARDS", range: 1...4096,
        "split check into this many shards: a Kubernetes Indexed Job's pod checks shard JOB_COMPLETION_INDEX, and finish waits for them all"
    )
    public static let notifyRecovery = Setting<Bool>(
        ConfigurationKey(
            "TOKENWATCH_NOTIFY_RECOVERY", default: "0",
            "1: a short mail when a page an Owner was told about is Valid again"),
        default: false, parse: SettingParsers.flag)
}

extension ConfigurationKey {
    /// The `--help` text of the flag that sets it: the summary, the variable and the default.
    public var flagHelp: String {
        // A sentence, like the other options' help: capital first, full stop last.
        summary.prefix(1).uppercased() + summary.dropFirst() + " (\(name)"
            + (defaultValue.map { "; default \($0)" } ?? "") + ")."
    }
}

extension ConfigurationKey {
    static let actor = ConfigurationKey(
        "TOKENWATCH_ACTOR", default: "cli:<login user>; cron without a terminal",
        "who a run or command is recorded as in the page log and the report")
    static let appID = ConfigurationKey(
        "TOKENWATCH_APP_ID", "Meta app ID (numeric), needed by check for debug_token")
    static let appSecret = ConfigurationKey(
        "TOKENWATCH_APP_SECRET", secret: true,
        "Meta app secret, for the app token and appsecret_proof (prefer the _FILE variant)")
    static let appSecretFile = ConfigurationKey(
        "TOKENWATCH_APP_SECRET_FILE", secret: true,
        "file holding the app secret (one trailing newline is ignored)")
    static let keyFile = ConfigurationKey(
        "TOKENWATCH_KEY_FILE", default: "the SQLite database path + .key; required with PostgreSQL",
        "32-byte key for tokens at rest (AES-GCM), created 0600 by init")
    static let databasePassword = ConfigurationKey(
        "TOKENWATCH_DB_PASSWORD", secret: true, "PostgreSQL password (prefer the _FILE variant)")
    static let databasePasswordFile = ConfigurationKey(
        "TOKENWATCH_DB_PASSWORD_FILE", secret: true,
        "file holding the PostgreSQL password (one trailing newline is ignored)")
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
    public static let metricsFile = ConfigurationKey(
        "TOKENWATCH_METRICS_FILE", flag: "--metrics-file",
        "where check writes Prometheus metrics (node_exporter textfile collector)")
    static let opsEmail = ConfigurationKey(
        "TOKENWATCH_OPS_EMAIL",
        "where causes only the platform can fix go (another app's token, not a Page token, app permissions)")
    static let templatesDirectory = ConfigurationKey(
        "TOKENWATCH_TEMPLATES_DIR", "directory of templates replacing the built-in ones by name")
}
