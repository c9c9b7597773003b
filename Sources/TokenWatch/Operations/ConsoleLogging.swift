import Logging

/// How log events are written on the console (`--log-format`).
public enum LogFormat: String, Sendable, CaseIterable {
    /// `2026-11-29T04:29:10Z info tokenwatch: message key=value`, for people and cron mail.
    case text
    /// One JSON object per line, for journald forwarders and log shippers.
    case json
}

/// Sets up swift-log for the command line: text or JSON lines on standard error, at the level
/// `-v`/`-q` ask for.
public enum ConsoleLogging {
    /// The level for the verbosity flags: `-v` debug, `-q` warning and above, otherwise info.
    /// `-v` wins when both are given (asking to see more is the deliberate choice).
    public static func level(verbose: Bool, quiet: Bool) -> Logger.Level {
        if verbose { return .debug }
        if quiet { return .warning }
        return .info
    }

    /// A handler of the given format.
    public static func makeHandler(
        label: String, format: LogFormat, level: Logger.Level, output: ConsoleOutput = .standardError
    ) -> any LogHandler {
        switch format {
        case .text: TextLogHandler(label: label, level: level, output: output)
        case .json: JSONLogHandler(label: label, level: level, output: output)
        }
    }

    /// A logger to pass down explicitly (the library never reaches for a global one).
    public static func makeLogger(
        label: String = "tokenwatch", format: LogFormat, level: Logger.Level,
        output: ConsoleOutput = .standardError
    ) -> Logger {
        Logger(label: label) { label in makeHandler(label: label, format: format, level: level, output: output) }
    }

    /// Makes every `Logger(label:)` in the process (dependencies included) use these handlers.
    /// swift-log allows this once per process: call it first thing in `main`, never in tests.
    public static func bootstrap(format: LogFormat, level: Logger.Level, output: ConsoleOutput = .standardError) {
        LoggingSystem.bootstrap { label in makeHandler(label: label, format: format, level: level, output: output) }
    }
}
