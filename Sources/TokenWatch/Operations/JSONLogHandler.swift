import Foundation
import Logging

/// A swift-log handler for log shippers: one JSON object per line on the console,
/// `{"ts":"2026-11-29T04:29:10.123Z","level":"info","label":"tokenwatch","message":"…","metadata":{"k":"v"}}`.
///
/// Keys always in that order, metadata keys sorted, every metadata value a string (arrays and
/// dictionaries flattened), the event's error as `metadata.error`. JSON escaping keeps each
/// event on one line. A `Secret` prints `<redacted>` wherever it is interpolated.
public struct JSONLogHandler: LogHandler {
    /// The logger's label, the `label` field.
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
        var line = "{\"ts\":" + LogLine.jsonString(LogLine.timestamp(now(), milliseconds: true))
        line += ",\"level\":" + LogLine.jsonString(event.level.rawValue)
        line += ",\"label\":" + LogLine.jsonString(label)
        line += ",\"message\":" + LogLine.jsonString(event.message.description)
        line += ",\"metadata\":{"
        let pairs = LogLine.metadata(handler: metadata, provider: metadataProvider, event: event)
        line += pairs.map { LogLine.jsonString($0.key) + ":" + LogLine.jsonString($0.value) }.joined(separator: ",")
        line += "}}"
        output.writeLine(line)
    }
}
