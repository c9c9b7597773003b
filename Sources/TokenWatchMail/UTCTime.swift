import Foundation
import TokenWatchModel

/// Fixed-format UTC times for mail: RFC 5322 `Date` headers and the readable times of
/// digests. English and locale-free on purpose, so a message renders the same everywhere.
enum UTCTime {
    private static let weekdays = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
    private static let shortMonths = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ]
    private static let months = [
        "January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
        "November", "December",
    ]

    private struct Parts {
        var year, month, day, weekday, hour, minute, second: Int
    }

    private static func parts(_ date: Date) -> Parts {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(secondsFromGMT: 0) ?? calendar.timeZone
        let c = calendar.dateComponents([.year, .month, .day, .weekday, .hour, .minute, .second], from: date)
        return Parts(
            year: c.year ?? 1970, month: min(max(c.month ?? 1, 1), 12), day: c.day ?? 1,
            weekday: min(max(c.weekday ?? 1, 1), 7), hour: c.hour ?? 0, minute: c.minute ?? 0, second: c.second ?? 0)
    }

    private static func two(_ value: Int) -> String { value < 10 ? "0\(value)" : "\(value)" }

    private static func four(_ value: Int) -> String {
        let digits = String(value)
        return String(repeating: "0", count: max(0, 4 - digits.count)) + digits
    }

    /// `Sat, 29 Nov 2025 04:33:00 +0000` (RFC 5322 3.3).
    static func rfc5322(_ date: Date) -> String {
        let p = parts(date)
        return "\(weekdays[p.weekday - 1]), \(two(p.day)) \(shortMonths[p.month - 1]) \(four(p.year)) "
            + "\(two(p.hour)):\(two(p.minute)):\(two(p.second)) +0000"
    }

    /// `29 November 2025, 04:33 UTC`.
    static func readable(_ date: Date) -> String {
        let p = parts(date)
        return "\(p.day) \(months[p.month - 1]) \(four(p.year)), \(two(p.hour)):\(two(p.minute)) UTC"
    }

    /// `2025-11-29T04:33:00Z`.
    static func iso8601(_ date: Date) -> String {
        let p = parts(date)
        return "\(four(p.year))-\(two(p.month))-\(two(p.day))T\(two(p.hour)):\(two(p.minute)):\(two(p.second))Z"
    }

    /// `20251129T043300Z`, for file names.
    static func compact(_ date: Date) -> String {
        let p = parts(date)
        return "\(four(p.year))\(two(p.month))\(two(p.day))T\(two(p.hour))\(two(p.minute))\(two(p.second))Z"
    }
}
