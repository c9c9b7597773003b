import Foundation
import TokenWatchModel
import TokenWatchStore

/// The values the three digest templates receive (documented in docs/templates.md). All three
/// get the same context; the text and HTML ones also get the rendered `subject`.
///
/// Every name, company and ID in it has had its control characters turned into spaces, so a
/// hostile value cannot break a line of the subject or fake a heading in the text part.
enum DigestTemplateContext {
    /// The longest page name the subject quotes before cutting it with "…".
    static let subjectNameLimit = 60

    static func make(
        digest: Digest, now: Date, renewLink: RenewLink?, options: DigestOptions = DigestOptions()
    ) -> [String: Any] {
        let entries = digest.entries.sorted(by: Self.order)
        let reconnect = entries.filter { $0.kind.needsInvalidPage }
        let invalid = entries.filter { $0.kind == .invalid }
        let reminders = entries.filter { $0.kind == .reminder }
        let expiring = entries.filter { $0.kind == .expiring }

        var companies: [[String: Any]] = []
        var currentCompany: String?
        var currentPages: [[String: Any]] = []
        func flush() {
            if let currentCompany {
                companies.append(["company": currentCompany, "page_count": currentPages.count, "pages": currentPages])
            }
        }
        for entry in entries {
            let company = clean(entry.company)
            if company != currentCompany {
                flush()
                currentCompany = company
                currentPages = []
            }
            currentPages.append(page(entry, renewLink: renewLink, product: options.productName))
        }
        flush()

        var context: [String: Any] = [
            "recipient": clean(digest.recipient),
            "page_count": entries.count,
            "one_page": entries.count == 1,
            "many_pages": entries.count > 1,
            "company_count": companies.count,
            "one_company": companies.count == 1,
            "many_companies": companies.count > 1,
            "companies": companies,
            "pages": entries.map { page($0, renewLink: renewLink, product: options.productName) },
            "has_reconnect": !reconnect.isEmpty,
            "reconnect_count": reconnect.count,
            "reconnect_one": reconnect.count == 1,
            "reconnect_many": reconnect.count > 1,
            "reminders_only": !reminders.isEmpty && invalid.isEmpty,
            "has_invalid": !invalid.isEmpty,
            "invalid_count": invalid.count,
            "has_reminders": !reminders.isEmpty,
            "reminder_count": reminders.count,
            "has_expiring": !expiring.isEmpty,
            "expiring_count": expiring.count,
            "expiring_one": expiring.count == 1,
            "expiring_many": expiring.count > 1,
            "expiring_only": !expiring.isEmpty && reconnect.isEmpty,
            "renew_url_configured": renewLink != nil,
            "generated_at": UTCTime.readable(now),
            "generated_at_iso": UTCTime.iso8601(now),
            "version": TokenWatchVersion.current,
        ]
        for (key, value) in sections(entries, digest: digest, renewLink: renewLink, options: options) {
            context[key] = value
        }
        if reconnect.count == 1, let only = reconnect.first {
            context["reconnect_page_name"] = clean(only.pageName)
            context["reconnect_page_name_short"] = short(clean(only.pageName))
        }
        if expiring.count == 1, let only = expiring.first {
            context["expiring_page_name"] = clean(only.pageName)
            context["expiring_page_name_short"] = short(clean(only.pageName))
        }
        return context
    }

    /// The sections Owners act on — "Reconnect now", "Your platform's team is on it",
    /// "Expiring soon", "Back to Valid" — and the pieces of the subject.
    private static func sections(
        _ entries: [DigestEntry], digest: Digest, renewLink: RenewLink?, options: DigestOptions
    ) -> [String: Any] {
        let product = options.productName
        let platformTeam = digest.forPlatformTeam
        let invalid = entries.filter { $0.kind.needsInvalidPage }
        let platform = invalid.filter { platformTeam || ($0.reason?.isPlatformSide ?? false) }
        let reconnect = invalid.filter { !platformTeam && !($0.reason?.isPlatformSide ?? false) }
        let expiring = entries.filter { $0.kind == .expiring }
        let recovered = entries.filter { $0.kind == .recovered }
        func pages(_ list: [DigestEntry]) -> [[String: Any]] {
            list.map { page($0, renewLink: renewLink, product: product, forPlatformTeam: platformTeam) }
        }
        var companyNames: [String] = []
        for entry in entries where !companyNames.contains(clean(entry.company)) {
            companyNames.append(clean(entry.company))
        }
        let subjectCompanies: String
        switch companyNames.count {
        case 0: subjectCompanies = product
        case 1: subjectCompanies = short(companyNames[0])
        case 2: subjectCompanies = short(companyNames[0]) + " and " + short(companyNames[1])
        default: subjectCompanies = short(companyNames[0]) + " and \(companyNames.count - 1) more companies"
        }
        func named(_ list: [DigestEntry], one: String, many: String) -> String {
            list.count == 1
                ? one.replacingOccurrences(of: "NAME", with: "\"" + short(clean(list[0].pageName)) + "\"")
                : many.replacingOccurrences(of: "COUNT", with: String(list.count))
        }
        return [
            "product_name": clean(product),
            "for_platform_team": platformTeam,
            "for_owner": !platformTeam,
            "company_names": companyNames.joined(separator: ", "),
            "subject_companies": subjectCompanies,
            "has_disconnected": !invalid.isEmpty,
            "disconnected_count": invalid.count,
            "one_disconnected": invalid.count == 1,
            "disconnected_phrase": named(invalid, one: "Facebook Page NAME", many: "COUNT Facebook Pages"),
            "has_reconnect_section": !reconnect.isEmpty,
            "reconnect_pages": pages(reconnect),
            "reconnect_section_count": reconnect.count,
            "has_platform_section": !platform.isEmpty,
            "platform_pages": pages(platform),
            "platform_count": platform.count,
            "ops_email_configured": options.opsEmail != nil,
            "has_expiring_section": !expiring.isEmpty,
            "expiring_pages": pages(expiring),
            "expiring_phrase": named(
                expiring, one: "Facebook Page NAME connection", many: "COUNT Facebook Page connections"),
            "has_recovered": !recovered.isEmpty,
            "has_recovered_section": !recovered.isEmpty,
            "recovered_pages": pages(recovered),
            "recovered_count": recovered.count,
            "recovered_phrase": named(recovered, one: "Facebook Page NAME is", many: "COUNT Facebook Pages are"),
            "recovered_only": !recovered.isEmpty && invalid.isEmpty && expiring.isEmpty,
        ]
    }

    private static func page(
        _ entry: DigestEntry, renewLink: RenewLink?, product: String, forPlatformTeam: Bool = false
    ) -> [String: Any] {
        var page: [String: Any] = [
            "kind": entry.kind.rawValue,
            "is_invalid": entry.kind == .invalid,
            "is_reminder": entry.kind == .reminder,
            "is_expiring": entry.kind == .expiring,
            "is_recovered": entry.kind == .recovered,
            "action": action(entry, product: product, forPlatformTeam: forPlatformTeam),
            "company": clean(entry.company),
            "page_id": clean(entry.pageID),
            "page_name": clean(entry.pageName),
            "since": UTCTime.readable(entry.since),
            "since_iso": UTCTime.iso8601(entry.since),
            "has_reason": entry.reason != nil,
            "has_expires_at": entry.expiresAt != nil,
            "has_renew_url": renewLink != nil,
        ]
        if let reason = entry.reason {
            page["reason"] = reason.sentence
            page["reason_code"] = reason.code
        }
        if let expiresAt = entry.expiresAt {
            page["expires_at"] = UTCTime.readable(expiresAt)
            page["expires_at_iso"] = UTCTime.iso8601(expiresAt)
        }
        if let renewLink {
            page["renew_url"] = renewLink.url(pageID: entry.pageID)
        }
        return page
    }

    /// The page's one plain sentence: what happened and what to do.
    static func action(_ entry: DigestEntry, product: String, forPlatformTeam: Bool) -> String {
        switch entry.kind {
        case .invalid, .reminder:
            guard let reason = entry.reason else {
                return
                    "Facebook no longer accepts the connection: click Generate New Token and log in with Facebook again, keeping this Page selected."
            }
            return forPlatformTeam ? reason.platformAction : reason.ownerAction(product: product)
        case .expiring:
            return
                "The connection is Valid but expires \(UTCTime.readable(entry.since)): before then, click Generate New Token and log in with Facebook again, keeping this Page selected."
        case .recovered:
            return
                "Valid again since \(UTCTime.readable(entry.since)): its Messenger chatbot receives messages again. Nothing to do."
        }
    }

    /// Company, then page name, then Page ID; case-insensitive first so "acme" sits by "Acme".
    static func order(_ a: DigestEntry, _ b: DigestEntry) -> Bool {
        for (x, y) in [(a.company, b.company), (a.pageName, b.pageName), (a.pageID, b.pageID)] {
            let (lx, ly) = (x.lowercased(), y.lowercased())
            if lx != ly { return lx < ly }
            if x != y { return x < y }
        }
        return a.kind.rawValue < b.kind.rawValue
    }

    /// A single-line value: control characters become spaces, whitespace runs collapse.
    static func clean(_ value: String) -> String { HeaderText.neutralised(value) }

    private static func short(_ value: String) -> String {
        value.count > subjectNameLimit ? String(value.prefix(subjectNameLimit - 1)) + "…" : value
    }
}
