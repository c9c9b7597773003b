import Foundation
import Logging

/// A swift-log handler for people and cron mail: one line per event on the console,
/// `2026-11-29T04:29:10Z info tokenwatch: message key=value key2="two words"`.
///
/// Metadata keys are sorted; values are quoted when they contain spaces, quotes or `=`.
/// Newlines and other control characters in the message or metadata are escaped (`\n`), so an
/// event never spans lines. A `Secret` prints `<redacted>` wherever it is interpolated.
public struct TextLogHandler: LogHandler {
    /// The logger's label, printed before the message.
    public let label: String
    public var metadata: Logger.Metadata = [:]
    public var metadataProvider: Logger.MetadataProvider?
    public var logLevel: Logger.Level
    private let output: ConsoleOutput
    private let now: @Sendable () -> Date

    /// A handler writing to `output`; `now` is injectable for tests.
    public init(
        label: String, level: Logger.Level = .info, output: ConsoleOutput = .standardError,
        metadataProvider: Logger.MetadataProvider? = nil, now: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.label = label
        self.logLevel = level
        self.output = output
        self.metadataProvider = metadataProvider
        self.now = now
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var line = LogLine.timestamp(now(), milliseconds: false) + " " + event.level.rawValue + " "
        line += LogLine.escapeControls(label) + ": " + LogLine.escapeControls(event.message.description)
        for (key, value) in LogLine.metadata(handler: metadata, provider: metadataProvider, event: event) {
            line += " " + LogLine.escapeControls(key) + "=" + LogLine.textValue(value)
        }
        output.writeLine(line)
    }
}
