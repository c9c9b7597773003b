import TokenWatchMail
import TokenWatchModel

/// Where a setting's value came from, for error messages and `config` diagnostics.
public enum ConfigurationSource: Sendable, Hashable, CustomStringConvertible {
    /// A command-line flag.
    case flag
    /// The process environment.
    case environment
    /// A line of a config file.
    case file(path: String, line: Int)
    /// The built-in default.
    case defaultValue

    public var description: String {
        switch self {
        case .flag: "the command line"
        case .environment: "the environment"
        case .file(let path, let line): "\(path):\(line)"
        case .defaultValue: "the default"
        }
    }
}

/// The configuration cannot be used. Every description says where (flag, environment, file and
/// line) and what is wrong, and never contains a secret value (the app secret, the SMTP
/// password, or the contents of a `*_FILE` secret).
public enum ConfigurationError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The config file given with `--config` cannot be read.
    case cannotReadConfigFile(path: String, reason: String)
    /// A config file line is not `KEY=VALUE` (or a quote is never closed).
    case syntax(path: String, line: Int, reason: String)
    /// A key nobody knows, with the closest known key when one is near. `key` is nil when the
    /// name is withheld: it neither mentions TOKENWATCH nor resembles a known key, so it might be
    /// a pasted secret.
    case unknownKey(key: String?, source: ConfigurationSource, suggestion: String?)
    /// A value that does not parse or is out of range.
    case invalidValue(key: String, source: ConfigurationSource, reason: String)
    /// A secret given both directly and through its `*_FILE` variant at the same level.
    case conflictingSecret(key: String, fileKey: String, source: ConfigurationSource)
    /// A `*_FILE` secret that cannot be read (missing, a directory, no permission, empty).
    case cannotReadSecretFile(key: String, path: String, source: ConfigurationSource, reason: String)
    /// A setting the command needs is not set; the words say which and what for.
    case missingSetting(String)

    /// True when the command line itself is wrong (a flag's value): a usage error, not the
    /// configuration's.
    public var isUsage: Bool {
        switch self {
        case .invalidValue(_, .flag, _), .unknownKey(_, .flag, _): true
        default: false
        }
    }

    public var description: String {
        switch self {
        case .cannotReadConfigFile(let path, let reason):
            return "cannot read config file \(path): \(reason)"
        case .syntax(let path, let line, let reason):
            return "\(path):\(line): \(reason)"
        case .unknownKey(let key, let source, let suggestion):
            let hint = suggestion.map { " (did you mean \($0)?)" } ?? ""
            let name =
                key
                ?? "(name not shown: it is not a TOKENWATCH_ setting and might be a secret; settings look like TOKENWATCH_DB=...)"
            switch source {
            case .file(let path, let line):
                return "\(path):\(line): unknown setting \(name)\(hint)"
            default:
                return "unknown setting \(name) in \(source)\(hint)"
            }
        case .invalidValue(let key, let source, let reason):
            if source == .flag, let flag = ConfigurationLoader.knownKeys.first(where: { $0.name == key })?.flag {
                return "\(flag): \(reason)"
            }
            return "\(key) from \(source): \(reason)"
        case .conflictingSecret(let key, let fileKey, let source):
            return "\(key) and \(fileKey) are both set in \(source); set only one of them"
        case .cannotReadSecretFile(let key, let path, let source, let reason):
            return "\(key) from \(source): cannot read secret file \(path): \(reason)"
        case .missingSetting(let what):
            return what
        }
    }
}

/// Something in the configuration that is ignored but probably a mistake; the CLI logs these.
public enum ConfigurationWarning: Sendable, Hashable, CustomStringConvertible {
    /// A `TOKENWATCH_*` variable in the environment that is not a known setting.
    case unknownEnvironmentVariable(name: String, suggestion: String?)
    /// A config file line with an `export ` prefix: TokenWatch accepts it, but systemd's
    /// `EnvironmentFile=` ignores such lines.
    case exportPrefix(path: String, line: Int, key: String)

    public var description: String {
        switch self {
        case .unknownEnvironmentVariable(let name, let suggestion):
            let hint = suggestion.map { " (did you mean \($0)?)" } ?? ""
            return "ignoring unknown environment variable \(name)\(hint)"
        case .exportPrefix(let path, let line, let key):
            return
                "\(path):\(line): 'export \(key)=' works here, but systemd's EnvironmentFile= ignores lines with 'export'; drop the prefix"
        }
    }
}
