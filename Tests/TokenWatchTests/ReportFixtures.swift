import Foundation

@testable import TokenWatchMail
@testable import TokenWatchModel
@testable import TokenWatchReports
@testable import TokenWatchStore

/// A fixed dataset for report tests: a page of each status, an expiring one, one whose data
/// access ends soon, a disconnected one and one missing a permission. Fixed dates, so the
/// golden files never change unless the output does.
enum ReportFixtures {
    /// 2026-11-29T04:29:10Z.
    static let generatedAt = Date(timeIntervalSince1970: 1_795_926_550)
    static let day: TimeInterval = 86_400

    static func at(_ offset: TimeInterval) -> Date { generatedAt.addingTimeInterval(offset) }

    static let scopes = ["pages_messaging", "pages_manage_metadata", "pages_show_list"]

    static var pages: [PageRecord] {
        [
            PageRecord(
                company: "Acme Recruiting", pageID: "100000000000001", pageName: "Acme Careers", status: .valid,
                statusSince: at(-59 * day), tokenUpdatedAt: at(-60 * day), lastCheckedAt: at(5),
                scopes: scopes, dataAccessExpiresAt: at(64 * day)),
            PageRecord(
                company: "Acme Recruiting", pageID: "100000000000002", pageName: "Acme Jobs PH", status: .invalid,
                reason: .passwordChanged, errorCode: 190, errorSubcode: 460, statusSince: at(30),
                tokenUpdatedAt: at(-120 * day), lastCheckedAt: at(30), scopes: scopes,
                dataAccessExpiresAt: at(20 * day)),
            PageRecord(
                company: "Brightside Staffing", pageID: "200000000000001", pageName: "Brightside Hiring",
                status: .invalid, reason: .missingPermissions(["pages_messaging"]), statusSince: at(-3 * day),
                tokenUpdatedAt: at(-3 * day - 3600), lastCheckedAt: at(12),
                scopes: ["pages_manage_metadata", "pages_show_list"], missingScopes: ["pages_messaging"]),
            PageRecord(
                company: "Brightside Staffing", pageID: "200000000000002", pageName: "Brightside Support",
                status: .unknown, statusSince: at(-10 * day), tokenUpdatedAt: at(-10 * day),
                lastCheckedAt: at(40), lastCheckError: "Graph did not answer within 30 s (timeout).",
                scopes: scopes),
            PageRecord(
                company: "Acme Recruiting", pageID: "100000000000003", pageName: "Acme Internships", status: .valid,
                statusSince: at(-55 * day), tokenUpdatedAt: at(-55 * day), lastCheckedAt: at(6), scopes: scopes,
                expiresAt: at(5 * day), dataAccessExpiresAt: at(10 * day)),
            PageRecord(
                company: "Cobalt Logistics", pageID: "300000000000001", pageName: "Cobalt Retail",
                status: .disconnected, statusSince: at(-9 * day), tokenUpdatedAt: at(-200 * day),
                lastCheckedAt: at(-9 * day - 7200), scopes: scopes),
            PageRecord(
                company: "Cobalt Logistics", pageID: "300000000000002", pageName: "Cobalt Warehouse", status: .valid,
                statusSince: at(20), tokenUpdatedAt: at(-2 * day), lastCheckedAt: at(20), scopes: scopes,
                dataAccessExpiresAt: at(3 * day)),
        ]
    }

    static var events: [String: [PageEvent]] {
        [
            "100000000000001": [
                PageEvent(at: at(-60 * day), kind: .connected, actor: "cli:maria", detail: "Imported from pages.csv")
            ],
            "100000000000002": [
                PageEvent(
                    at: at(30), kind: .becameInvalid, actor: "cron",
                    detail: InvalidReason.passwordChanged.sentence),
                PageEvent(at: at(-120 * day), kind: .connected, actor: "cli:maria"),
            ],
            "200000000000001": [
                PageEvent(
                    at: at(-3 * day), kind: .becameInvalid, actor: "cron",
                    detail: InvalidReason.missingPermissions(["pages_messaging"]).sentence),
                PageEvent(
                    at: at(-3 * day), kind: .permissionsChanged, actor: "cron", detail: "removed: pages_messaging"),
                PageEvent(
                    at: at(-3 * day + 60), kind: .ownerNotified, actor: "cron", detail: "owner@brightside.example"),
            ],
            "300000000000001": [
                PageEvent(
                    at: at(-9 * day), kind: .disconnected, actor: "cli:ops", detail: "Chatbot retired by the customer")
            ],
            "300000000000002": [
                PageEvent(at: at(20), kind: .becameValid, actor: "cron"),
                PageEvent(at: at(-2 * day), kind: .renewed, actor: "cli:ops", detail: "Generate New Token"),
            ],
        ]
    }

    static var run: RunOutcome {
        var run = RunOutcome(
            runID: 7, actor: "cron", startedAt: generatedAt, endedAt: at(72), status: .completed,
            configuredVersion: "v25.0")
        run.valid = 5
        run.invalid = 1
        run.newlyInvalid = ["100000000000002"]
        run.servedVersion = "v25.0"
        run.digests.sent = 1
        return run
    }

    static var input: ReportInput {
        ReportInput(
            generatedAt: generatedAt, run: run,
            notifications: ["100000000000002": PageNotification(notified: ["owner@acme.example"])], pages: pages,
            recentEvents: events, changedPageIDs: ["100000000000002", "300000000000002"], expiryWarningDays: 14,
            notices: ["Company Cobalt Logistics has no Owners: nobody would be emailed about its pages."],
            logEntryCounts: ["200000000000001": 12],
            owners: [
                "Acme Recruiting": ["owner@acme.example"],
                "Brightside Staffing": ["hr@brightside.example", "owner@brightside.example"],
            ],
            origin: ReportOrigin(
                host: "tokenwatch-1", appID: "1234567890", database: "/var/lib/tokenwatch/tokenwatch.sqlite",
                configuredVersion: "v25.0"))
    }

    /// Values that break naive HTML, CSV and spreadsheets.
    static let hostileNames = [
        "<script>alert(1)</script>", "Say \"hi\"", "Fish & Chips", "=HYPERLINK(\"http://x\")", "+1", "-2",
        "@SUM(A1:A2)", "\tTabbed", "Line one\r\nLine two", "\rCarriage", "Café 😀 Pages", "עמוד הבית",
        "comma, inside", "it's",
    ]

    static var hostileInput: ReportInput {
        var pages: [PageRecord] = []
        var events: [String: [PageEvent]] = [:]
        for (index, name) in hostileNames.enumerated() {
            let id = String(900_000_000_000_000 + index)
            pages.append(
                PageRecord(
                    company: name, pageID: id, pageName: name, status: .unknown, tokenUpdatedAt: at(-day),
                    lastCheckedAt: at(1), lastCheckError: name, scopes: [name], missingScopes: [name]))
            events[id] = [PageEvent(at: at(1), kind: .permissionsChanged, actor: name, detail: name)]
        }
        return ReportInput(
            generatedAt: generatedAt,
            run: {
                var run = RunOutcome(
                    runID: 8, actor: "<b>cli:eve</b>", startedAt: generatedAt, endedAt: at(3), status: .partial,
                    reasons: hostileNames, configuredVersion: "v25.0")
                run.servedVersion = "<i>v26.0</i>"
                return run
            }(),
            notifications: Dictionary(
                uniqueKeysWithValues: hostileNames.indices.map {
                    (String(900_000_000_000_000 + $0), PageNotification(notified: [hostileNames[$0]]))
                }),
            pages: pages, recentEvents: events, changedPageIDs: [],
            notices: hostileNames,
            owners: Dictionary(uniqueKeysWithValues: hostileNames.map { ($0, [$0]) }),
            origin: ReportOrigin(
                host: hostileNames[0], appID: hostileNames[1], database: hostileNames[2],
                configuredVersion: hostileNames[3]))
    }
}

/// Golden files, found from this source file's path: Package.swift declares no test resources,
/// and inside the test target's folder SwiftPM would warn about them as unhandled files, so
/// they live in `Tests/Golden/`, beside the target.
enum Golden {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Golden")

    /// Compares `actual` with the golden file `name`; with `UPDATE_GOLDEN=1` rewrites it instead.
    /// Returns a description of the first difference, or nil when they match.
    static func compare(_ actual: String, to name: String) throws -> String? {
        let url = directory.appendingPathComponent(name)
        if ProcessInfo.processInfo.environment["UPDATE_GOLDEN"] == "1" {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            try Data(actual.utf8).write(to: url)
            return nil
        }
        let expected = String(decoding: try Data(contentsOf: url), as: UTF8.self)
        guard expected != actual else { return nil }
        let a = actual.split(separator: "\n", omittingEmptySubsequences: false)
        let e = expected.split(separator: "\n", omittingEmptySubsequences: false)
        let line = (0..<min(a.count, e.count)).first { a[$0] != e[$0] } ?? min(a.count, e.count)
        let got = line < a.count ? String(a[line]) : "<end of output>"
        let want = line < e.count ? String(e[line]) : "<end of file>"
        return "\(name) differs at line \(line + 1):\n  expected: \(want)\n  actual:   \(got)\n"
            + "(run with UPDATE_GOLDEN=1 to accept the new output)"
    }
}

/// A fresh temporary directory, removed by `cleanup()`.
struct TemporaryDirectory {
    let path: String

    init() throws {
        path =
            FileManager.default.temporaryDirectory
            .appendingPathComponent("tokenwatch-tests-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    func file(_ name: String) -> String { path + "/" + name }

    func cleanup() { try? FileManager.default.removeItem(atPath: path) }
}
