import Foundation
import TokenWatchModel
import TokenWatchSystem

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// What `reports/index.html` needs to know of one report, written beside it as
/// `token-report-<ts>.json` so the index never re-reads old HTML: when, how the run ended, the
/// counts per status, and the pages that changed. Pruned with its report.
struct ReportSummary: Codable, Sendable, Equatable {
    /// A page whose status changed in the run.
    struct ChangedPage: Codable, Sendable, Equatable {
        var id: String
        var name: String
        var company: String
        var status: String
    }

    /// The format of this file; a reader skips versions it does not know.
    var format = 1
    var stem: String
    var generatedAt: Date
    /// True for `tokenwatch report` (stored state, no check ran).
    var regenerated: Bool
    var outcome: String?
    var exitCode: Int?
    var actor: String?
    var pages: Int
    var valid: Int
    var invalid: Int
    var unknown: Int
    var disconnected: Int
    /// Pages the run could not confirm (outage, malformed answer).
    var undecided: Int
    /// Pages the run did not reach.
    var unchecked: Int
    var newlyInvalid: Int
    /// How many pages changed; `changed` lists at most `changedListed` of them.
    var changedCount: Int
    var changed: [ChangedPage]

    /// A mass invalidation can change every page: the summary stays small.
    static let changedListed = 1_000

    init(_ input: ReportInput, stem: String) {
        var counts: [PageStatus: Int] = [:]
        var undecided = 0
        var changed: [ChangedPage] = []
        var changedCount = 0
        for page in input.pages {
            counts[page.status, default: 0] += 1
            if page.isUnconfirmed { undecided += 1 }
            if input.changedPageIDs.contains(page.pageID) {
                changedCount += 1
                if changed.count < Self.changedListed {
                    changed.append(
                        ChangedPage(
                            id: page.pageID, name: page.pageName, company: page.company, status: page.status.rawValue))
                }
            }
        }
        self.stem = stem
        generatedAt = input.generatedAt
        regenerated = input.run == nil
        outcome = input.run?.status.phrase
        exitCode = input.run.map { Int($0.exitCode) }
        actor = input.run?.actor
        pages = input.pages.count
        valid = counts[.valid] ?? 0
        invalid = counts[.invalid] ?? 0
        unknown = counts[.unknown] ?? 0
        disconnected = counts[.disconnected] ?? 0
        self.undecided = undecided
        unchecked = input.run?.unchecked ?? 0
        newlyInvalid = input.run?.newlyInvalid.count ?? 0
        self.changedCount = changedCount
        self.changed = changed
    }

    static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        encoder.outputFormatting = [.sortedKeys]
        return encoder
    }()

    static let decoder: JSONDecoder = {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return decoder
    }()

    /// Writes `<stem>.json` into `directory`, atomically and never over an existing file. Best
    /// effort: the report pair is what auditors keep; without its summary a report is still
    /// listed in the index, only without counts.
    func write(in directory: String) {
        guard let data = try? Self.encoder.encode(self) else { return }
        guard
            let temporary = try? AtomicFile.writeTemporary(
                Array(data), in: directory, hint: "token-report", mode: ReportWriter.mode)
        else { return }
        defer { _ = unlink(temporary) }
        _ = try? AtomicFile.publishWithoutOverwriting(temporary, at: AtomicFile.path(directory, stem + ".json"))
    }

    /// Reads a summary; nil for a file that is not one this version understands.
    static func read(_ path: String) -> ReportSummary? {
        guard let data = FileManager.default.contents(atPath: path),
            let summary = try? decoder.decode(ReportSummary.self, from: data), summary.format == 1
        else { return nil }
        return summary
    }
}
