import Foundation
import Logging
import TokenWatchMail
import TokenWatchModel

/// How a console log handler turns one event into one line (`TextLogLine`, `JSONLogLine`).
public protocol LogLineFormat: Sendable {
    /// The line for `event`, without the newline. `metadata` is already merged (handler,
    /// provider, event, the event's error as `error`), flattened to strings and sorted by key.
    static func render(_ event: LogEvent, label: String, metadata: [(key: String, value: String)], at date: Date)
        -> String
}

/// A swift-log handler that writes one line per event on the console, in the line format
/// `Format`; `TextLogHandler` and `JSONLogHandler` are its two instances. The handler keeps
/// the level and metadata swift-log asks of every handler; the format only draws the line.
public struct ConsoleLogHandler<Format: LogLineFormat>: LogHandler {
    /// The logger's label.
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
        let pairs = LogLine.metadata(handler: metadata, provider: metadataProvider, event: event)
        output.writeLine(Format.render(event, label: label, metadata: pairs, at: now()))
    }
}
