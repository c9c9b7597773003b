import Foundation
import TokenWatchModel

/// The two ways TokenWatch writes times outside reports, through the same formatting the
/// reports use: ISO 8601 UTC for machines and a readable UTC form for people. Never local
/// time: cron, servers and auditors disagree on time zones.
public enum Timestamp {
    /// `2026-11-29T04:29:10Z`, or nil.
    public static func iso(_ date: Date?) -> String? {
        guard let date, !ReportTime.isNever(date) else { return nil }
        return ReportTime.iso(date)
    }

    /// `2026-11-29 04:29 UTC`, or "—" for a time that never comes.
    public static func readable(_ date: Date?) -> String {
        guard let date, !ReportTime.isNever(date) else { return "—" }
        return ReportTime.display(date)
    }
}
