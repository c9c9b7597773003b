import Foundation

/// How reports write times: ISO 8601 UTC for machines, a shorter UTC form for people, and the
/// compact stamp that names report files. Always UTC, so a report reads the same anywhere.
package enum ReportTime {
    private static let calendar: Calendar = {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = .gmt
        return calendar
    }()

    private struct Parts {
        package var year, month, day, hour, minute, second: Int
    }

    private static func parts(_ date: Date) -> Parts {
        let c = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second], from: date)
        return Parts(
            year: c.year ?? 1970, month: c.month ?? 1, day: c.day ?? 1, hour: c.hour ?? 0,
            minute: c.minute ?? 0, second: c.second ?? 0)
    }

    private static func pad(_ value: Int, _ width: Int) -> String {
        let digits = String(value)
        return digits.count >= width ? digits : String(repeating: "0", count: width - digits.count) + digits
    }

    /// True for a time that never comes: Graph's `expires_at` 0 may reach us as the epoch.
    package static func isNever(_ date: Date) -> Bool { date.timeIntervalSince1970 == 0 }

    /// `2026-11-29T04:29:10Z`; empty for nil or a time that never comes.
    package static func iso(_ date: Date?) -> String {
        guard let date, !isNever(date) else { return "" }
        let p = parts(date)
        return
            "\(pad(p.year, 4))-\(pad(p.month, 2))-\(pad(p.day, 2))T\(pad(p.hour, 2)):\(pad(p.minute, 2)):\(pad(p.second, 2))Z"
    }

    /// `2026-11-29 04:29 UTC` (with `:10` seconds when asked, without ` UTC` where the page
    /// already says all times are UTC); empty for nil or never.
    package static func display(_ date: Date?, seconds: Bool = false, zone: Bool = true) -> String {
        guard let date, !isNever(date) else { return "" }
        let p = parts(date)
        let time = "\(pad(p.hour, 2)):\(pad(p.minute, 2))" + (seconds ? ":\(pad(p.second, 2))" : "")
        return "\(pad(p.year, 4))-\(pad(p.month, 2))-\(pad(p.day, 2)) \(time)" + (zone ? " UTC" : "")
    }

    /// `20261129T042910Z`, the stamp in report file names.
    package static func compact(_ date: Date) -> String {
        let p = parts(date)
        return
            "\(pad(p.year, 4))\(pad(p.month, 2))\(pad(p.day, 2))T\(pad(p.hour, 2))\(pad(p.minute, 2))\(pad(p.second, 2))Z"
    }

    /// Parses `20261129T042910Z` back; nil for anything else.
    package static func parseCompact(_ stamp: Substring) -> Date? {
        let bytes = Array(stamp.utf8)
        guard bytes.count == 16, bytes[8] == UInt8(ascii: "T"), bytes[15] == UInt8(ascii: "Z") else { return nil }
        func number(_ range: Range<Int>) -> Int? {
            var value = 0
            for byte in bytes[range] {
                guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { return nil }
                value = value * 10 + Int(byte - UInt8(ascii: "0"))
            }
            return value
        }
        guard let year = number(0..<4), let month = number(4..<6), let day = number(6..<8),
            let hour = number(9..<11), let minute = number(11..<13), let second = number(13..<15),
            (1...12).contains(month), (1...31).contains(day), hour < 24, minute < 60, second < 61
        else { return nil }
        let components = DateComponents(
            calendar: calendar, timeZone: .gmt, year: year, month: month, day: day, hour: hour,
            minute: minute, second: second)
        return calendar.date(from: components)
    }

    /// A run's wall time in words: `42 s`, `3 min 05 s`, `1 h 02 min`.
    package static func duration(_ interval: TimeInterval) -> String {
        let total = max(0, Int(interval.rounded()))
        if total < 60 { return "\(total) s" }
        if total < 3600 { return "\(total / 60) min \(pad(total % 60, 2)) s" }
        return "\(total / 3600) h \(pad(total % 3600 / 60, 2)) min"
    }
}
