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

    /// Companies list at most this many pages that need someone (invalid, unknown) by name.
    static let attentionShown = 20

    /// Stands where `report.html.mustache` says `{{rows}}`: the rows are streamed in its place.
    /// Control characters pass Mustache's HTML escaping untouched and never occur in a
    /// template's own text, so the marker cannot be forged by a value or mistaken for one.
    static let rowsMarker = "\u{1}tokenwatch-rows\u{1}"

    /// Compact rows per `<tbody class="group">`.
    static let groupSize = 200

    /// Rows are handed to the sink in chunks of about this many UTF-8 bytes.
    static let chunkSize = 1 << 18

    /// Renders the report with `templates` (the built-in templates or the operator's) into one
    /// string. Tests and small reports; `render(_:templates:version:into:)` streams.
    public static func render(
        _ input: ReportInput, templates: TemplateSet, version: String = TokenWatchVersion.current
    ) -> String {
        var html = ""
        render(input, templates: templates, version: version) { html += $0 }
        return html
    }

    /// Renders the report in pieces, in order, to `sink`: the frame up to `{{rows}}`, each
    /// page's rows (`report-page.html.mustache`, one render per page, batched into chunks),
    /// then the rest of the frame. A report of 100,000 pages is never one string.
    ///
    /// An operator's `report.html.mustache` written for the single-template report (a
    /// `{{#pages}}` section, no `{{rows}}`) still works: it is rendered whole with `pages`.
    public static func render<Failure: Error>(
        _ input: ReportInput, templates: TemplateSet, version: String = TokenWatchVersion.current,
        into sink: (String) throws(Failure) -> Void
    ) throws(Failure) {
        let ordered = input.orderedPages
        let slugs = companySlugs(ordered.map(\.company) + input.owners.keys)
        var frame = frameContext(for: input, ordered: ordered, slugs: slugs, version: version)
        frame["rows"] = rowsMarker
        let rendered = templates.render(.report, frame)
        guard let marker = rendered.range(of: rowsMarker) else {
            // A single-template report: it needs every page in its context.
            frame["pages"] = ordered.map { page(for: $0, in: input, slugs: slugs) }
            frame["rows"] = nil
            try sink(templates.render(.report, frame))
            return
        }
        try sink(String(rendered[..<marker.lowerBound]))
        var chunk = ""
        chunk.reserveCapacity(chunkSize + 4096)
        // The built-in row template's rows are written directly (the same bytes).
        let builtInRows = templates.origins[.reportPage] == "built-in"
        // Runs of compact rows (one `<tr>` each) share a `<tbody class="group">` of at most
        // `groupSize`: a browser skips a whole group off screen, not 100,000 single rows.
        var grouped = 0
        var times = CompactRow.Times()
        for record in ordered {
            if isCompact(record, in: input) {
                if grouped == 0 { chunk += "<tbody class=\"group\">\n" }
                if builtInRows {
                    CompactRow.append(record, note: unconfirmedNote(record, in: input), to: &chunk, times: &times)
                } else {
                    chunk += templates.render(.reportPage, page(for: record, in: input, slugs: slugs))
                }
                grouped += 1
                if grouped == groupSize {
                    chunk += "</tbody>\n"
                    grouped = 0
                }
            } else {
                if grouped > 0 {
                    chunk += "</tbody>\n"
                    grouped = 0
                }
                if builtInRows {
                    FullRow.append(record, facts: fullRowFacts(record, in: input), to: &chunk, times: &times)
                } else {
                    chunk += templates.render(.reportPage, page(for: record, in: input, slugs: slugs))
                }
            }
            if chunk.utf8.count >= chunkSize {
                try sink(chunk)
                chunk.removeAll(keepingCapacity: true)
            }
        }
        if grouped > 0 { chunk += "</tbody>\n" }
        if !chunk.isEmpty { try sink(chunk) }
        try sink(String(rendered[marker.upperBound...]))
    }

    /// The whole template context, every page included: what a single-template
    /// `report.html.mustache` receives, and what docs/templates.md documents. Dictionaries,
    /// arrays, strings, numbers and Bools only. A value that does not exist is a missing key
    /// (never an empty string), and each optional part has a `has…` Bool, because Mustache
    /// treats an empty string as true.
    public static func context(for input: ReportInput, version: String = TokenWatchVersion.current) -> [String: Any] {
        let ordered = input.orderedPages
        let slugs = companySlugs(ordered.map(\.company) + input.owners.keys)
        var context = frameContext(for: input, ordered: ordered, slugs: slugs, version: version)
        context["rows"] = ""
        context["pages"] = ordered.map { page(for: $0, in: input, slugs: slugs) }
        return context
    }

    /// Everything but the pages' rows.
    static func frameContext(
        for input: ReportInput, ordered: [PageRecord], slugs: [String: String], version: String
    ) -> [String: Any] {
        let now = input.generatedAt
        let days = input.expiryWarningDays
        var perStatus: [PageStatus: Int] = [:]
        var expiringCount = 0
        var unconfirmed = 0
        var compactCount = 0
        for page in ordered {
            perStatus[page.status, default: 0] += 1
            if page.isExpiring(now: now, warningDays: days) { expiringCount += 1 }
            if page.isUnconfirmed { unconfirmed += 1 }
            if isCompact(page, in: input) { compactCount += 1 }
        }

        var summary: [[String: Any]] = [
            count("invalid", "Invalid", perStatus[.invalid] ?? 0),
            count("unknown", "Unknown", perStatus[.unknown] ?? 0),
            count("valid", "Valid", perStatus[.valid] ?? 0),
            count("disconnected", "Disconnected", perStatus[.disconnected] ?? 0),
            count("expiring", "Expiring", expiringCount),
        ]
        summary.append(count("undecided", "Not confirmed", unconfirmed))
        if let run = input.run {
            summary.append(count("not-checked", "Not checked", run.unchecked))
        }
        let companies = companyContexts(ordered, input: input, slugs: slugs)

        var origin: [String: Any] = [
            "host": input.origin.host,
            "database": input.origin.database,
            "configuredGraphVersion": input.run?.configuredVersion ?? input.origin.configuredVersion,
            "hasAppID": !(input.origin.appID ?? "").isEmpty,
        ]
        if let appID = input.origin.appID, !appID.isEmpty { origin["appID"] = appID }

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
            "changedCount": ordered.count { input.changedPageIDs.contains($0.pageID) },
            "expiringCount": expiringCount,
            "unconfirmedCount": unconfirmed,
            "compactCount": compactCount,
            "hasCompact": compactCount > 0,
            "hasPages": !ordered.isEmpty,
            "origin": origin,
            "companies": companies,
            "companyCount": companies.count,
            "hasCompanies": !companies.isEmpty,
            "hasLastRun": input.run == nil && input.lastRun != nil,
        ]
        if let run = input.run {
            context["run"] = runContext(run)
        }
        if input.run == nil, let last = input.lastRun {
            var dictionary: [String: Any] = [
                "startedAt": time(last.startedAt, header: true),
                "lastOutcome": last.outcome,
                "lastActor": last.actor,
                "hasExitCode": last.exitCode != nil,
                "hasReportFile": last.reportFile != nil,
            ]
            if let code = last.exitCode { dictionary["lastExitCode"] = Int(code) }
            if let file = last.reportFile { dictionary["reportFile"] = file }
            context["lastRun"] = dictionary
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

    // MARK: - Companies

    /// Company name → a slug for `#company-<slug>`: lower-case ASCII letters, digits and
    /// hyphens, unique in the report (`acme`, `acme-2`…); a name with no such character gets
    /// `c<n>`. Assigned in alphabetical order, so a company keeps its anchor while others come
    /// and go beside it.
    static func companySlugs<S: Sequence>(_ names: S) -> [String: String] where S.Element == String {
        var slugs: [String: String] = [:]
        var taken: Set<String> = []
        for (index, name) in Set(names).sorted().enumerated() {
            var base = ""
            var pendingHyphen = false
            for byte in name.utf8 {
                let lower = (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte) ? byte + 32 : byte
                if (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(lower)
                    || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(lower)
                {
                    if pendingHyphen && !base.isEmpty { base += "-" }
                    pendingHyphen = false
                    base.unicodeScalars.append(Unicode.Scalar(lower))
                } else {
                    pendingHyphen = true
                }
                if base.utf8.count >= 60 { break }
            }
            if base.isEmpty { base = "c\(index + 1)" }
            var slug = base
            var sequence = 2
            while taken.contains(slug) {
                slug = "\(base)-\(sequence)"
                sequence += 1
            }
            taken.insert(slug)
            slugs[name] = slug
        }
        return slugs
    }

    private static func companyContexts(
        _ ordered: [PageRecord], input: ReportInput, slugs: [String: String]
    ) -> [[String: Any]] {
        struct Tally {
            var counts: [PageStatus: Int] = [:]
            var attention: [PageRecord] = []
            var attentionTotal = 0
        }
        var tallies: [String: Tally] = [:]
        for page in ordered {
            // Changed in place: a copy taken out and put back copied its dictionary every page.
            tallies[page.company, default: Tally()].counts[page.status, default: 0] += 1
            if page.status == .invalid || page.status == .unknown || page.isUnconfirmed {
                tallies[page.company, default: Tally()].attentionTotal += 1
                if (tallies[page.company]?.attention.count ?? 0) < attentionShown {
                    tallies[page.company, default: Tally()].attention.append(page)
                }
            }
        }
        let names = Set(tallies.keys).union(input.owners.keys).sorted {
            let (a, b) = ($0.lowercased(), $1.lowercased())
            return a != b ? a < b : $0 < $1
        }
        return names.map { name in
            let tally = tallies[name] ?? Tally()
            let owners = input.owners[name] ?? []
            let slug = slugs[name] ?? "c0"
            return [
                "companyName": name,
                "slug": slug,
                "companyAnchor": "company-" + slug,
                "total": tally.counts.values.reduce(0, +),
                "invalid": tally.counts[.invalid] ?? 0,
                "unknown": tally.counts[.unknown] ?? 0,
                "valid": tally.counts[.valid] ?? 0,
                "disconnected": tally.counts[.disconnected] ?? 0,
                "hasInvalid": (tally.counts[.invalid] ?? 0) > 0,
                "owners": owners,
                "hasOwners": !owners.isEmpty,
                "attention": tally.attention.map { page -> [String: Any] in
                    [
                        "linkName": page.pageName, "linkAnchor": "page-" + page.pageID,
                        "linkStatus": page.status.label, "linkStatusKey": page.status.rawValue,
                    ]
                },
                "hasAttention": !tally.attention.isEmpty,
                "moreAttention": tally.attentionTotal - tally.attention.count,
                "hasMoreAttention": tally.attentionTotal > tally.attention.count,
            ]
        }
    }

    // MARK: - Pages

    /// A page that did not change in this run and has nothing to note gets a compact row: no
    /// permissions or log block (the CSV and `tokenwatch pages log` have them). That is a valid
    /// page, or a valid or unknown page whose only note is that this run did not confirm it
    /// (`unconfirmedNote`, which the row then carries): without them a night Graph could not
    /// be reached wrote every page's permissions and log, 215 MB at 100,000 pages, which
    /// headless Chromium took two minutes to open.
    static func isCompact(_ page: PageRecord, in input: ReportInput) -> Bool {
        (page.status == .valid || (page.status == .unknown && page.isUnconfirmed))
            && !input.changedPageIDs.contains(page.pageID) && page.missingScopes.isEmpty
            && input.notifications[page.pageID] == nil
            && !page.isExpiring(now: input.generatedAt, warningDays: input.expiryWarningDays)
            && !page.dataAccessEndingSoon(now: input.generatedAt, warningDays: input.expiryWarningDays)
    }

    /// "Not confirmed in this run: <error>" for a page the run asked about without an answer
    /// it could use, "Not checked in this run: <why>" for one it did not reach: either way the
    /// status shown is the last one confirmed. (The stored error of a page not reached already
    /// says "not checked in the last run", which read "Not confirmed in this run: not checked
    /// in the last run: …" here.)
    static func unconfirmedNote(_ page: PageRecord, in input: ReportInput) -> String? {
        guard page.isUnconfirmed, let error = page.lastCheckError else { return nil }
        if error.hasPrefix(PageRecord.notCheckedPrefix) {
            let why = error.dropFirst(PageRecord.notCheckedPrefix.count)
            return (input.run == nil ? "Not checked in the last run: " : "Not checked in this run: ") + why
        }
        return (input.run == nil ? "Not confirmed by the last check: " : "Not confirmed in this run: ") + error
    }

    /// The context of one page: `pages[]` in the single-template report, the whole context of
    /// `report-page.html.mustache`.
    static func page(for page: PageRecord, in input: ReportInput, slugs: [String: String]) -> [String: Any] {
        let common: [String: Any] = [
            "pageName": page.pageName,
            "pageID": page.pageID,
            "anchor": "page-" + page.pageID,
            "company": page.company,
            "companySlug": slugs[page.company] ?? "c0",
            "statusKey": page.status.rawValue,
            "statusLabel": page.status.label,
            "statusRank": page.status.reportRank,
            "tokenUpdatedAt": time(page.tokenUpdatedAt),
        ]
        if isCompact(page, in: input) {
            var dictionary = common
            dictionary["compact"] = true
            setTime(page.statusSince, "statusSince", in: &dictionary)
            setTime(page.lastCheckedAt, "lastCheckedAt", in: &dictionary)
            let note = unconfirmedNote(page, in: input)
            dictionary["hasCompactNote"] = note != nil
            dictionary["compactNote"] = note ?? ""
            return dictionary
        }
        return fullPage(page, in: input, common: common)
    }

    /// What a page's full row shows besides its record: badges, notes, its recent log.
    struct FullRowFacts {
        var changed: Bool
        var expiring: Bool
        var dataAccessEnding: Bool
        var rowClass: String
        var notes: [(kind: String, text: String)]
        /// The most recent log entries shown, newest first.
        var events: [PageEvent]
        var logEntryCount: Int
        var olderEntries: Int
    }

    static func fullRowFacts(_ page: PageRecord, in input: ReportInput) -> FullRowFacts {
        let now = input.generatedAt
        let changed = input.changedPageIDs.contains(page.pageID)
        let expiring = page.isExpiring(now: now, warningDays: input.expiryWarningDays)
        let dataAccessEnding = page.dataAccessEndingSoon(now: now, warningDays: input.expiryWarningDays)
        let recent = input.recentEvents[page.pageID] ?? []
        let logEntryCount = max(input.logEntryCounts[page.pageID] ?? recent.count, recent.count)

        var notes: [(kind: String, text: String)] = []
        func note(_ kind: String, _ text: String) { notes.append((kind, text)) }
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
        if let unconfirmed = unconfirmedNote(page, in: input) { note("error", unconfirmed) }
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
        return FullRowFacts(
            changed: changed, expiring: expiring, dataAccessEnding: dataAccessEnding,
            rowClass: rowClasses.joined(separator: " "), notes: notes, events: recent, logEntryCount: logEntryCount,
            olderEntries: logEntryCount - recent.count)
    }

    private static func fullPage(_ page: PageRecord, in input: ReportInput, common: [String: Any]) -> [String: Any] {
        let facts = fullRowFacts(page, in: input)
        let events = facts.events.map { event -> [String: Any] in
            [
                "at": time(event.at),
                "what": event.phrase,
                "kind": event.kindName,
                "actor": event.actor,
                "detail": event.detail ?? "",
                "hasDetail": !(event.detail ?? "").isEmpty,
            ]
        }
        let notes = facts.notes.map { ["kind": $0.kind, "text": $0.text] }
        var dictionary = common
        let details: [String: Any] = [
            "compact": false,
            "rowClass": facts.rowClass,
            "changed": facts.changed,
            "expiring": facts.expiring,
            "dataAccessEnding": facts.dataAccessEnding,
            "isInvalid": page.status == .invalid,
            "isUnknown": page.status == .unknown,
            "isDisconnected": page.status == .disconnected,
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
            "logEntryCount": facts.logEntryCount,
            "olderEntries": facts.olderEntries,
            "hasOlderEntries": facts.olderEntries > 0,
        ]
        dictionary.merge(details) { _, new in new }
        setTime(page.statusSince, "statusSince", in: &dictionary)
        setTime(page.lastCheckedAt, "lastCheckedAt", in: &dictionary)
        setTime(page.expiresAt, "expiresAt", in: &dictionary)
        setTime(page.dataAccessExpiresAt, "dataAccessExpiresAt", in: &dictionary)
        return dictionary
    }
}
