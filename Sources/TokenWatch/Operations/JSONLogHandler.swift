import Foundation
import Logging

/// A swift-log handler for log shippers: one JSON object per line on the console,
/// `{"ts":"2026-11-29T04:29:10.123Z","level":"info","label":"tokenwatch","message":"…","metadata":{"k":"v"}}`.
///
/// Keys always in that order, metadata keys sorted, every metadata value a string (arrays and
/// dictionaries flattened), the event's error as `metadata.error`. JSON escaping keeps each
/// event on one line. A `Secret` prints `<redacted>` wherever it is interpolated.
public typealias JSONLogHandler = ConsoleLogHandler<JSONLogLine>

/// The line format of `JSONLogHandler`.
public enum JSONLogLine: LogLineFormat {
    public static func render(
        _ event: LogEvent, label: String, metadata: [(key: String, value: String)], at date: Date
    ) -> String {
        var line = "{\"ts\":" + LogLine.jsonString(LogLine.timestamp(date, milliseconds: true))
        line += ",\"level\":" + LogLine.jsonString(event.level.rawValue)
        line += ",\"label\":" + LogLine.jsonString(label)
        line += ",\"message\":" + LogLine.jsonString(event.message.description)
        line += ",\"metadata\":{"
        line += metadata.map { LogLine.jsonString($0.key) + ":" + LogLine.jsonString($0.value) }.joined(separator: ",")
        line += "}}"
        return line
    }
}
