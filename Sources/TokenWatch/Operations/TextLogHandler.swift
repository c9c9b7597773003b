import Foundation
import Logging

/// A swift-log handler for people and cron mail: one line per event on the console,
/// `2026-11-29T04:29:10Z info tokenwatch: message key=value key2="two words"`.
///
/// Metadata keys are sorted; values are quoted when they contain spaces, quotes or `=`.
/// Newlines and other control characters in the message or metadata are escaped (`\n`), so an
/// event never spans lines. A `Secret` prints `<redacted>` wherever it is interpolated.
public typealias TextLogHandler = ConsoleLogHandler<TextLogLine>

/// The line format of `TextLogHandler`.
public enum TextLogLine: LogLineFormat {
    public static func render(
        _ event: LogEvent, label: String, metadata: [(key: String, value: String)], at date: Date
    ) -> String {
        var line = LogLine.timestamp(date, milliseconds: false) + " " + event.level.rawValue + " "
        line += LogLine.escapeControls(label) + ": " + LogLine.escapeControls(event.message.description)
        for (key, value) in metadata {
            line += " " + LogLine.escapeControls(key) + "=" + LogLine.textValue(value)
        }
        return line
    }
}
