import Foundation

/// How reports write times: ISO 8601 UTC for machines, a shorter UTC form for people, and the
/// compact stamp that names report files. Always UTC, so a report reads the same anywhere.
package enum ReportTime {
    private static let calendar: Calendar = {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = .gmt
        return calendar
    }()

    package struct Parts {
        package var year, month, day, hour, minute, second: Int
    }

    /// Seconds since 1970 of 1601-01-01 and of 10000-01-01: between them the calendar's fields
    /// come from arithmetic; outside, from `Calendar` (whose Gregorian calendar turns Julian
    /// before 1582).
    private static let arithmeticRange: ClosedRange<Double> = -11_644_473_600...253_402_300_799

    private static func parts(_ date: Date) -> Parts {
        let interval = date.timeIntervalSince1970
        if arithmeticRange.contains(interval) { return civilParts(Int64(interval.rounded(.down))) }
        let c = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second], from: date)
        return Parts(
            year: c.year ?? 1970, month: c.month ?? 1, day: c.day ?? 1, hour: c.hour ?? 0,
            minute: c.minute ?? 0, second: c.second ?? 0)
    }

    /// The UTC fields of `total` seconds since 1970 on the proleptic Gregorian calendar (days
    /// from civil, H. Hinnant): `Calendar.dateComponents` was a fifth of a 100,000-page
    /// report's CPU, five times a row.
    package static func civilParts(_ total: Int64) -> Parts {
        var days = total / 86_400
        var seconds = total % 86_400
        if seconds < 0 {
            seconds += 86_400
            days -= 1
        }
        let shifted = days + 719_468
        let era = (shifted >= 0 ? shifted : shifted - 146_096) / 146_097
        let dayOfEra = shifted - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1_460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let monthIndex = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * monthIndex + 2) / 5 + 1
        let month = monthIndex < 10 ? monthIndex + 3 : monthIndex - 9
        let year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
        return Parts(
            year: Int(year), month: Int(month), day: Int(day), hour: Int(seconds / 3_600),
            minute: Int(seconds % 3_600 / 60), second: Int(seconds % 60))
    }

    private static func pad(_ value: Int, _ width: Int) -> String {
        if width == 2, value >= 0, value < 100 { return twoDigits[value] }
        let digits = String(value)
        return digits.count >= width ? digits : String(repeating: "0", count: width - digits.count) + digits
    }

    /// "00" to "99": every field but the year.
    private static let twoDigits: [String] = (0..<100).map { $0 < 10 ? "0\($0)" : "\($0)" }

    /// True for a time that never comes: Graph's `expires_at` 0 may reach us as the epoch.
    package static func isNever(_ date: Date) -> Bool { date.timeIntervalSince1970 == 0 }

    /// `2026-11-29T04:29:10Z`; empty for nil or a time that never comes.
    package static func iso(_ date: Date?) -> String {
        guard let date, !isNever(date) else { return "" }
        let p = parts(date)
        return
            "\(pad(p.year, 4))-\(pad(p.month, 2))-\(pad(p.day, 2))T\(pad(p.hour, 2)):\(pad(p.minute, 2)):\(pad(p.second, 2))Z"
    }

    /// Appends `iso(date)` as UTF-8 to `out`, without a `String` in between.
    package static func appendISO(_ date: Date?, to out: inout [UInt8]) {
        guard let date, !isNever(date) else { return }
        let p = parts(date)
        guard p.year >= 0, p.year <= 9_999 else {
            out.append(contentsOf: iso(date).utf8)
            return
        }
        let zero = UInt8(ascii: "0")
        func two(_ value: Int) {
            out.append(zero + UInt8(value / 10))
            out.append(zero + UInt8(value % 10))
        }
        two(p.year / 100)
        two(p.year % 100)
        out.append(UInt8(ascii: "-"))
        two(p.month)
        out.append(UInt8(ascii: "-"))
        two(p.day)
        out.append(UInt8(ascii: "T"))
        two(p.hour)
        out.append(UInt8(ascii: ":"))
        two(p.minute)
        out.append(UInt8(ascii: ":"))
        two(p.second)
        out.append(UInt8(ascii: "Z"))
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
