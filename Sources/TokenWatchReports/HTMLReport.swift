import Foundation
import TokenWatchModel
import TokenWatchTemplates

/// The HTML half of a report: turns a `ReportInput` into the context of
/// `report.html.mustache`. Every decision (order, wording, which badge) is made here so the
/// template — which operators may replace — stays logic-less. docs/templates.md lists the
/// variables.
public enum HTMLReport {
    /// The report's heading and `<title>`.
    public static let title = "TokenWatch report"

    /// Renders the report with `templates` (the built-in template or the operator's).
    public static func render(
        _ input: ReportInput, templates: TemplateSet, version: String = TokenWatchVersion.current
    ) -> String {
        templates.render(.report, context(for: input, version: version))
    }

    /// The template context: dictionaries, arrays, strings, numbers and Bools only. A value that
    /// does not exist is a missing key (never an empty string), and each optional part has a
    /// `has…` Bool, because Mustache treats an empty string as true.
    public static func context(for input: ReportInput, version: String = TokenWatchVersion.current) -> [String: Any] {
        let now = input.generatedAt
        let days = input.expiryWarningDays
        let ordered = input.orderedPages
        var perStatus: [PageStatus: Int] = [:]
        for page in ordered { perStatus[page.status, default: 0] += 1 }
        let expiringCount = ordered.filter { $0.isExpiring(now: now, warningDays: days) }.count

        var summary: [[String: Any]] = [
            count("invalid", "Invalid", perStatus[.invalid] ?? 0),
            count("unknown", "Unknown", perStatus[.unknown] ?? 0),
            count("valid", "Valid", perStatus[.valid] ?? 0),
            count("disconnected", "Disconnected", perStatus[.disconnected] ?? 0),
            count("expiring", "Expiring", expiringCount),
        ]
        let unconfirmed = ordered.count { $0.isUnconfirmed }
        summary.append(count("undecided", "Not confirmed", unconfirmed))
        if let run = input.run {
            summary.append(count("not-checked", "Not checked", run.unchecked))
        }

        var context: [String: Any] = [
            "title": title,
            "tokenWatchVersion": version,
            "generatedAt": time(now, header: true),
            "expiryWarningDays": days,
            "hasRun": input.run != nil,
            "regenerated": input.run == nil,
            "notices": input.notices.map { ["text": $0] },
            "hasNotices": !input.notices.isEmpty,
            "summary": summary,
            "pageCount": ordered.count,
            "changedCount": ordered.filter { input.changedPageIDs.contains($0.pageID) }.count,
            "expiringCount": expiringCount,
            "unconfirmedCount": unconfirmed,
            "pages": ordered.map { page(for: $0, in: input) },
            "hasPages": !ordered.isEmpty,
        ]
        if let run = input.run {
            context["run"] = runContext(run)
        }
        return context
    }

    private static func count(_ key: String, _ label: String, _ value: Int) -> [String: Any] {
        ["key": key, "label": label, "count": value, "isZero": value == 0]
    }

    /// A time as `{iso, text}`: `iso` for `<time datetime>`, `text` for people. The header's
    /// times carry seconds and "UTC"; the table's are shorter, its caption saying they are UTC.
    private static func time(_ date: Date, header: Bool = false) -> [String: Any] {
        ["iso": ReportTime.iso(date), "text": ReportTime.display(date, seconds: header, zone: header)]
    }

    /// Sets `key` to a time, or leaves it out for nil and for a time that never comes.
    private static func setTime(_ date: Date?, _ key: String, in dictionary: inout [String: Any]) {
        guard let date, !ReportTime.isNever(date) else { return }
        dictionary[key] = time(date)
    }

    private static func runContext(_ run: RunOutcome) -> [String: Any] {
        [
            "startedAt": time(run.startedAt, header: true),
            "endedAt": time(run.endedAt, header: true),
            "duration": ReportTime.duration(run.endedAt.timeIntervalSince(run.startedAt)),
            "outcome": run.status.phrase,
            "exitCode": Int(run.exitCode),
            "completed": run.status == .completed,
            "reasonsText": run.reasons.joined(separator: "; "),
            "hasReasons": !run.reasons.isEmpty,
            "actor": run.actor,
            "checked": run.checked,
            "undecided": run.undecided,
            "unchecked": run.unchecked,
            "newlyInvalid": run.newlyInvalid.count,
            "digestsSent": run.digests.sent,
            "digestsFailed": run.digests.failed,
            "notificationsPending": run.digests.pending,
            "notificationsHeld": run.digests.held,
            "configuredVersion": run.configuredVersion,
            "servedVersion": run.servedVersion ?? "",
            "hasServedVersion": run.servedVersion != nil,
            "versionMismatch": run.versionMismatch,
        ]
    }

    private static func page(for page: PageRecord, in input: ReportInput) -> [String: Any] {
        let now = input.generatedAt
        let changed = input.changedPageIDs.contains(page.pageID)
        let expiring = page.isExpiring(now: now, warningDays: input.expiryWarningDays)
        let dataAccessEnding = page.dataAccessEndingSoon(now: now, warningDays: input.expiryWarningDays)
        let events = (input.recentEvents[page.pageID] ?? []).map { event -> [String: Any] in
            [
                "at": time(event.at),
                "what": event.phrase,
                "kind": event.kindName,
                "actor": event.actor,
                "detail": event.detail ?? "",
                "hasDetail": !(event.detail ?? "").isEmpty,
            ]
        }

        var notes: [[String: Any]] = []
        func note(_ kind: String, _ text: String) { notes.append(["kind": kind, "text": text]) }
        switch page.status {
        case .invalid:
            note("reason", page.reason?.sentence ?? "Facebook no longer accepts the token.")
            note("hint", "To renew: an Owner uses Generate New Token and logs in with Facebook again.")
        case .unknown:
            if page.lastCheckedAt == nil && !page.isUnconfirmed { note("error", "Not checked yet.") }
        case .disconnected:
            note("muted", "Disconnected: no longer checked.")
        case .valid:
            break
        }
        if page.isUnconfirmed, let error = page.lastCheckError {
            // The status shown is the last one confirmed; say plainly that this run did not.
            note(
                "error",
                (input.run == nil ? "Not confirmed by the last check: " : "Not confirmed in this run: ") + error)
        }
        if let notification = input.notifications[page.pageID] {
            if !notification.notified.isEmpty {
                note("notified", "Owners notified: \(notification.notified.joined(separator: ", ")).")
            }
            if !notification.held.isEmpty {
                note(
                    "held",
                    "Digest held by the mass-invalidation guard for: \(notification.held.joined(separator: ", ")).")
            }
            if !notification.pending.isEmpty {
                note("pending", "Digest not sent yet to: \(notification.pending.joined(separator: ", ")).")
            }
        }
        if expiring, let expiresAt = page.expiresAt {
            let verb = expiresAt <= now ? "expired" : "expires"
            note("expiring", "Token \(verb) \(ReportTime.display(expiresAt)).")
        }
        if dataAccessEnding, let ends = page.dataAccessExpiresAt {
            let verb = ends <= now ? "ended" : "ends"
            note(
                "data-access",
                "Data access \(verb) \(ReportTime.display(ends)); it renews when a page admin uses the app.")
        }

        var rowClasses = ["status-\(page.status.rawValue)"]
        if changed { rowClasses.append("changed") }
        if expiring { rowClasses.append("expiring") }

        var dictionary: [String: Any] = [
            "pageName": page.pageName,
            "pageID": page.pageID,
            "company": page.company,
            "statusKey": page.status.rawValue,
            "statusLabel": page.status.label,
            "rowClass": rowClasses.joined(separator: " "),
            "changed": changed,
            "expiring": expiring,
            "dataAccessEnding": dataAccessEnding,
            "isInvalid": page.status == .invalid,
            "isUnknown": page.status == .unknown,
            "isDisconnected": page.status == .disconnected,
            "tokenUpdatedAt": time(page.tokenUpdatedAt),
            "hasReason": page.status == .invalid && page.reason != nil,
            "reason": page.status == .invalid ? (page.reason?.sentence ?? "") : "",
            "reasonCode": page.status == .invalid ? (page.reason?.code ?? "") : "",
            "hasLastCheckError": !(page.lastCheckError ?? "").isEmpty,
            "isUnconfirmed": page.isUnconfirmed,
            "lastCheckError": page.lastCheckError ?? "",
            "notes": notes,
            "hasNotes": !notes.isEmpty,
            "scopes": page.scopes,
            "hasScopes": !page.scopes.isEmpty,
            "missingScopes": page.missingScopes,
            "hasMissingScopes": !page.missingScopes.isEmpty,
            "events": events,
            "hasEvents": !events.isEmpty,
        ]
        setTime(page.statusSince, "statusSince", in: &dictionary)
        setTime(page.lastCheckedAt, "lastCheckedAt", in: &dictionary)
        setTime(page.expiresAt, "expiresAt", in: &dictionary)
        setTime(page.dataAccessExpiresAt, "dataAccessExpiresAt", in: &dictionary)
        return dictionary
    }
}
