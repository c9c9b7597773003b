import Foundation
import TokenWatchMail
import TokenWatchModel
import TokenWatchSystem

/// A resolved configuration together with what the CLI should tell the operator about it.
public struct LoadedConfiguration: Sendable {
    /// The configuration to run with.
    public var configuration: Configuration
    /// Ignored settings that are probably mistakes (unknown `TOKENWATCH_*` variables, `export`).
    public var warnings: [ConfigurationWarning]
    /// Where each setting that was not left at its default came from, by key name.
    public var sources: [String: ConfigurationSource]
}

/// Builds the one `Configuration` from command-line flags, the environment, an optional config
/// file and SPEC.md's defaults — in that order of precedence — and validates every value.
///
/// Flags and file use the environment names as keys (the CLI turns `--db X` into
/// `["TOKENWATCH_DB": "X"]`). An empty value counts as not set at that level. Secrets can also
/// come from `TOKENWATCH_APP_SECRET_FILE` / `TOKENWATCH_SMTP_PASSWORD_FILE`; the highest level
/// that sets either spelling wins, and both at one level is an error.
public enum ConfigurationLoader {
    /// Every setting, in the order `--help` and the README list them.
    public static let knownKeys: [ConfigurationKey] = [
        Settings.database.key, .databasePassword, .databasePasswordFile, Settings.reportsDirectory.key,
        Settings.graphURL.key, Settings.graphVersion.key,
        .appID, .appSecret, .appSecretFile, .keyFile, .caFile, .smtpURL, .smtpUser, .smtpPassword,
        .smtpPasswordFile, .mailFrom, .renewURL, Settings.requiredScopes.key, Settings.concurrency.key,
        Settings.batchSize.key, Settings.httpTimeout.key, Settings.runTimeout.key, .metricsFile,
        .templatesDirectory, Settings.expiryWarningDays.key, Settings.massInvalidPercent.key,
        Settings.massInvalidMin.key, Settings.mailMaxAttempts.key, Settings.smtpConnections.key,
        Settings.remindAfterDays.key,
        Settings.keepReportsDays.key, Settings.productName.key, .opsEmail, Settings.notifyRecovery.key, .actor,
        Settings.shards.key,
    ]

    /// The settings as a `--help` section: one line per key with its flag and default, e.g.
    /// `  TOKENWATCH_DB (--db)  SQLite database path [default: ./tokenwatch.sqlite3]`.
    public static var environmentHelp: String {
        knownKeys.map { key in
            var line = "  " + key.name
            if let flag = key.flag { line += " (\(flag))" }
            line += "  " + key.summary
            if let value = key.defaultValue { line += " [default: \(value)]" }
            return line
        }.joined(separator: "\n")
    }

    /// Secret files larger than this are refused (a secret is a line, not a document).
    static let secretFileLimit = 64 * 1024
    /// Config files larger than this are refused.
    static let configFileLimit = 1024 * 1024

    /// Resolves and validates the configuration.
    /// - Parameters:
    ///   - flags: values from the command line, keyed by environment name.
    ///   - environment: the process environment; only `TOKENWATCH_*` names are looked at.
    ///   - configFile: path of a `KEY=VALUE` file (`--config`), or nil.
    public static func load(
        flags: [String: String], environment: [String: String], configFile: String?
    ) throws(ConfigurationError) -> Configuration {
        try resolve(flags: flags, environment: environment, configFile: configFile).configuration
    }

    /// Like `load`, and also returns the warnings and where each value came from.
    public static func resolve(
        flags: [String: String], environment: [String: String], configFile: String?
    ) throws(ConfigurationError) -> LoadedConfiguration {
        var layers = Layers()
        var warnings: [ConfigurationWarning] = []

        for key in flags.keys.sorted() where !isKnown(key) {
            throw .unknownKey(key: key, source: .flag, suggestion: suggestion(for: key))
        }
        layers.flags = flags

        for (name, value) in environment where name.hasPrefix("TOKENWATCH_") {
            if isKnown(name) {
                layers.environment[name] = value
            } else {
                warnings.append(.unknownEnvironmentVariable(name: name, suggestion: suggestion(for: name)))
            }
        }
        warnings.sort { $0.description < $1.description }
        // Kubernetes sets it in an Indexed Job's pods: the shard, with TOKENWATCH_SHARDS.
        if let index = environment["JOB_COMPLETION_INDEX"] { layers.environment["JOB_COMPLETION_INDEX"] = index }

        if let configFile {
            let bytes: [UInt8]
            do {
                bytes = try readFile(configFile, limit: configFileLimit)
            } catch {
                throw .cannotReadConfigFile(path: configFile, reason: error.reason)
            }
            let parsed = try EnvironmentFile.parse(bytes, path: configFile)
            for entry in parsed.entries {
                guard isKnown(entry.key) else {
                    let hint = suggestion(for: entry.key)
                    let shown = entry.key.uppercased().contains("TOKENWATCH") || hint != nil
                    throw .unknownKey(
                        key: shown ? entry.key : nil, source: .file(path: configFile, line: entry.line),
                        suggestion: hint)
                }
                layers.file[entry.key] = (entry.value, entry.line)
            }
            layers.filePath = configFile
            warnings.append(contentsOf: parsed.warnings)
        }

        var resolver = Resolver(layers: layers)
        let configuration = try resolver.configuration()
        return LoadedConfiguration(configuration: configuration, warnings: warnings, sources: resolver.sources)
    }

    static func isKnown(_ name: String) -> Bool {
        knownKeys.contains { $0.name == name }
    }

    /// The known key closest to a misspelt one, when it is close enough to be a typo.
    static func suggestion(for name: String) -> String? {
        let upper = name.uppercased()
        var best: (name: String, distance: Int)? = nil
        for key in knownKeys {
            var distance = editDistance(upper, key.name)
            if !upper.hasPrefix("TOKENWATCH_") {
                distance = min(distance, editDistance("TOKENWATCH_" + upper, key.name))
            }
            if distance < (best?.distance ?? Int.max) { best = (key.name, distance) }
        }
        guard let best, best.distance <= max(2, best.name.count / 6) else { return nil }
        return best.name
    }

    /// Levenshtein distance over Unicode scalars.
    package static func editDistance(_ a: String, _ b: String) -> Int {
        let a = Array(a.unicodeScalars)
        let b = Array(b.unicodeScalars)
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        var previous = Array(0...b.count)
        var current = [Int](repeating: 0, count: b.count + 1)
        for i in 1...a.count {
            current[0] = i
            for j in 1...b.count {
                let substitution = previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)
                current[j] = min(previous[j] + 1, current[j - 1] + 1, substitution)
            }
            swap(&previous, &current)
        }
        return previous[b.count]
    }
}

/// The three levels a value can come from, highest first.
private struct Layers {
    var flags: [String: String] = [:]
    var environment: [String: String] = [:]
    var file: [String: (value: String, line: Int)] = [:]
    var filePath: String? = nil

    /// The value set at one level, nil when absent or empty.
    func value(_ key: String, at level: Int) -> (value: String, source: ConfigurationSource)? {
        switch level {
        case 0:
            if let v = flags[key], !v.isEmpty { return (v, .flag) }
        case 1:
            if let v = environment[key], !v.isEmpty { return (v, .environment) }
        default:
            if let entry = file[key], !entry.value.isEmpty, let filePath {
                return (entry.value, .file(path: filePath, line: entry.line))
            }
        }
        return nil
    }

    func lookup(_ key: String) -> (value: String, source: ConfigurationSource)? {
        for level in 0..<3 {
            if let found = value(key, at: level) { return found }
        }
        return nil
    }
}

/// Turns the layers into a validated `Configuration`, recording where each value came from.
private struct Resolver {
    let layers: Layers
    var sources: [String: ConfigurationSource] = [:]

    init(layers: Layers) { self.layers = layers }

    mutating func configuration() throws(ConfigurationError) -> Configuration {
        var c = Configuration(databasePath: try value(Settings.database))
        c.databasePassword = try secret(.databasePassword, file: .databasePasswordFile)
        c.keyFile = try keyFile(for: c.store)
        c.shards = try value(Settings.shards)
        c.jobShard = try jobShard(shards: c.shards)
        c.reportsDirectory = try value(Settings.reportsDirectory)
        c.graphURL = try value(Settings.graphURL)
        c.graphVersion = try value(Settings.graphVersion)
        c.appID = try appID()
        c.appSecret = try secret(.appSecret, file: .appSecretFile)
        c.caFile = try existingPath(.caFile, directory: false)
        c.smtpURL = try smtpURL()
        c.smtpUser = string(.smtpUser)
        c.smtpPassword = try secret(.smtpPassword, file: .smtpPasswordFile)
        c.mailFrom = try mailFrom()
        c.renewURL = try renewURL()
        c.requiredScopes = try value(Settings.requiredScopes)
        c.concurrency = try value(Settings.concurrency)
        c.batchSize = try value(Settings.batchSize)
        c.httpTimeout = try value(Settings.httpTimeout)
        c.runTimeout = try value(Settings.runTimeout)
        c.metricsFile = string(.metricsFile)
        c.templatesDirectory = try existingPath(.templatesDirectory, directory: true)
        c.expiryWarningDays = try value(Settings.expiryWarningDays)
        c.massInvalidPercent = try value(Settings.massInvalidPercent)
        c.massInvalidMin = try value(Settings.massInvalidMin)
        c.mailMaxAttempts = try value(Settings.mailMaxAttempts)
        c.smtpConnections = try value(Settings.smtpConnections)
        c.remindAfterDays = try value(Settings.remindAfterDays)
        c.keepReportsDays = try value(Settings.keepReportsDays)
        c.productName = try value(Settings.productName)
        c.actor = string(.actor)
        c.opsEmail = try opsEmail()
        c.notifyRecovery = try value(Settings.notifyRecovery)
        return c
    }

    /// A typed setting: the highest level that sets it, through the setting's own parser; its
    /// default when no level does.
    private mutating func value<Value>(_ setting: Setting<Value>) throws(ConfigurationError) -> Value {
        guard let (text, source) = raw(setting.key) else { return setting.defaultValue }
        switch setting.parse(text) {
        case .success(let value): return value
        case .failure(let problem):
            throw .invalidValue(key: setting.key.name, source: source, reason: problem.reason)
        }
    }

    /// A path that must exist when set: a directory (templates) or a regular file (CA bundle).
    private mutating func existingPath(_ key: ConfigurationKey, directory: Bool) throws(ConfigurationError)
        -> String?
    {
        guard let (path, source) = raw(key) else { return nil }
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw .invalidValue(key: key.name, source: source, reason: "\(quotedValue(path)) does not exist")
        }
        guard isDirectory.boolValue == directory else {
            throw .invalidValue(
                key: key.name, source: source,
                reason: "\(quotedValue(path)) is \(directory ? "not a directory" : "a directory, not a file")")
        }
        return path
    }

    // MARK: - Lookups

    private mutating func raw(_ key: ConfigurationKey) -> (value: String, source: ConfigurationSource)? {
        guard let found = layers.lookup(key.name) else { return nil }
        sources[key.name] = found.source
        return found
    }

    /// A free-form value such as a path: taken as given.
    private mutating func string(_ key: ConfigurationKey) -> String? {
        raw(key)?.value
    }

    // MARK: - Secrets

    private mutating func secret(_ key: ConfigurationKey, file fileKey: ConfigurationKey) throws(ConfigurationError)
        -> Secret?
    {
        for level in 0..<3 {
            let direct = layers.value(key.name, at: level)
            let viaFile = layers.value(fileKey.name, at: level)
            if let direct, viaFile != nil {
                throw .conflictingSecret(key: key.name, fileKey: fileKey.name, source: direct.source)
            }
            if let direct {
                sources[key.name] = direct.source
                return Secret(direct.value)
            }
            if let (path, source) = viaFile {
                sources[fileKey.name] = source
                let bytes: [UInt8]
                do {
                    bytes = try readFile(path, limit: ConfigurationLoader.secretFileLimit)
                } catch {
                    throw .cannotReadSecretFile(key: fileKey.name, path: path, source: source, reason: error.reason)
                }
                guard var text = String(validating: bytes, as: UTF8.self) else {
                    throw .cannotReadSecretFile(
                        key: fileKey.name, path: path, source: source, reason: "the file is not valid UTF-8")
                }
                if text.hasSuffix("\r\n") {
                    text.removeLast(1)  // "\r\n" is one Character
                } else if text.hasSuffix("\n") {
                    text.removeLast()
                }
                guard !text.isEmpty else {
                    throw .cannotReadSecretFile(
                        key: fileKey.name, path: path, source: source, reason: "the file is empty")
                }
                return Secret(text)
            }
        }
        return nil
    }

    // MARK: - Validated strings

    private mutating func appID() throws(ConfigurationError) -> String? {
        guard let (value, source) = raw(.appID) else { return nil }
        let text = value.trimmingCharacters(in: .whitespaces)
        // Not echoed: a secret pasted into the wrong setting must not end up in a log.
        guard !text.isEmpty, text.allSatisfy({ $0.isASCII && $0.isNumber }) else {
            throw .invalidValue(key: ConfigurationKey.appID.name, source: source, reason: "an app ID is all digits")
        }
        return text
    }

    /// The token key: TOKENWATCH_KEY_FILE, else beside an SQLite file. A PostgreSQL store has
    /// no file to sit beside, and the key must never live in the database it protects.
    private mutating func keyFile(for store: StoreLocation) throws(ConfigurationError) -> String {
        if let path = string(.keyFile) { return path }
        switch store {
        case .sqlite(let path): return path + ".key"
        case .postgres:
            throw .invalidValue(
                key: ConfigurationKey.keyFile.name, source: raw(Settings.database.key)?.source ?? .environment,
                reason:
                    "must be set when TOKENWATCH_DB is a PostgreSQL URL: the token key is a file kept apart from the database (a mounted Secret on Kubernetes)"
            )
        }
    }

    /// The shard of a Kubernetes Indexed Job's pod: `JOB_COMPLETION_INDEX` (which Kubernetes
    /// sets) of `TOKENWATCH_SHARDS`. Without TOKENWATCH_SHARDS the index is ignored: one Job
    /// that is not split checks everything.
    private func jobShard(shards: Int?) throws(ConfigurationError) -> Shard? {
        guard let shards, let text = layers.environment["JOB_COMPLETION_INDEX"], !text.isEmpty else { return nil }
        guard let index = Int(text), let shard = Shard(index: index, count: shards) else {
            throw .invalidValue(
                key: "JOB_COMPLETION_INDEX", source: .environment,
                reason:
                    "\(quotedValue(text)) is not a shard of TOKENWATCH_SHARDS=\(shards) (0 to \(shards - 1)): completions and TOKENWATCH_SHARDS must be equal"
            )
        }
        return shard
    }

    private mutating func smtpURL() throws(ConfigurationError) -> String? {
        guard let (value, source) = raw(.smtpURL) else { return nil }
        // The mail transport's own parser: what is accepted here is what it can use.
        do {
            _ = try MailTransportURL(parsing: value)
        } catch {
            throw .invalidValue(key: ConfigurationKey.smtpURL.name, source: source, reason: error.reason)
        }
        return value
    }

    private mutating func renewURL() throws(ConfigurationError) -> String? {
        guard let (value, source) = raw(.renewURL) else { return nil }
        let probe = value.replacingOccurrences(of: "{page_id}", with: "0")
        guard let url = URLComponents(string: probe), let scheme = url.scheme?.lowercased(),
            scheme == "http" || scheme == "https", let host = url.host, !host.isEmpty
        else {
            throw .invalidValue(
                key: ConfigurationKey.renewURL.name, source: source,
                reason: "not an http or https URL with a host, like https://example.com/renew?page={page_id}")
        }
        return value
    }

    private mutating func opsEmail() throws(ConfigurationError) -> String? {
        guard let (value, source) = raw(.opsEmail) else { return nil }
        if let problem = MailAddress.problem(with: value) {
            throw .invalidValue(
                key: ConfigurationKey.opsEmail.name, source: source,
                reason: "\(quotedValue(value)) is not a usable address: \(problem)")
        }
        return value
    }

    private mutating func mailFrom() throws(ConfigurationError) -> String? {
        guard let (value, source) = raw(.mailFrom) else { return nil }
        // The composer's own rules, so a sender accepted here can always be written.
        do {
            _ = try MailAddress(mailbox: value, role: ConfigurationKey.mailFrom.name)
        } catch {
            throw .invalidValue(
                key: ConfigurationKey.mailFrom.name, source: source,
                reason: "\(quotedValue(value)) is not a usable sender address: \(error.reason)")
        }
        return value
    }

}
