import Foundation
import Synchronization
import Testing

@testable import TokenWatchModel
@testable import TokenWatchStore

/// The SQLite store reads the report's pages one status at a time, and a large status a few
/// companies at a time; whatever the cut, the pages come in report order, all of them, and
/// `each` sees exactly what is returned.
@Suite("Report read order")
struct ReportReadOrderTests {
    let now = Date(timeIntervalSince1970: 1_790_000_000)

    /// 90 pages over 9 companies whose names differ in case and length, with every status:
    /// a third valid, some invalid, two disconnected, the rest never checked.
    func store() async throws -> TemporaryStore {
        let store = try await TemporaryStore()
        let companies = ["beta", "Acme", "acme two", "ACME", "Zeta", "delta", "Delta Co", "b", "Gamma"]
        let rows = (0..<90).map { index in
            PageUpsert(
                company: companies[index % companies.count],
                // IDs of different lengths, names that tie case-insensitively.
                pageID: String(index % 7 == 0 ? 9_000 + index : 104_000_000_000_000 + index),
                pageName: index % 4 == 0 ? "page \(index % 11)" : "Page \(index % 11)",
                token: Secret("EAAtoken\(index)"), source: "test")
        }
        _ = try await store.database.upsertPages(rows, cipher: store.cipher, actor: "test", now: now)
        let targets = try await store.database.checkTargets(pageIDs: nil, cipher: store.cipher)
        let results = targets.enumerated().compactMap { index, target -> PageCheckResult? in
            switch index % 3 {
            case 0: PageCheckResult(target: target, verdict: .valid(TokenFacts(scopes: ["pages_messaging"])))
            case 1 where index % 2 == 1:
                PageCheckResult(
                    target: target,
                    verdict: .invalid(.passwordChanged, facts: nil, error: GraphErrorCode(code: 190, subcode: 460)))
            default: nil
            }
        }
        let run = try await store.database.startRun(
            actor: "test", configuredVersion: "v25.0", pagesTotal: targets.count, now: now)
        _ = try await store.database.commit(
            results, requiredScopes: ["pages_messaging"], runID: run, actor: "test", now: now)
        for pageID in [targets[2].pageID, targets[5].pageID] {
            _ = try await store.database.disconnect(pageID: pageID, reason: "test", actor: "test", now: now)
        }
        return store
    }

    /// Report order as the reports define it, for ASCII names.
    static func inReportOrder(_ pages: [PageRecord]) -> [String] {
        let rank: [PageStatus: Int] = [.invalid: 0, .unknown: 1, .valid: 2, .disconnected: 3]
        return pages.sorted { a, b in
            let left = (rank[a.status] ?? 1, a.company.lowercased(), a.company, a.pageName.lowercased(), a.pageName)
            let right = (rank[b.status] ?? 1, b.company.lowercased(), b.company, b.pageName.lowercased(), b.pageName)
            if left != right { return left < right }
            return (a.pageID.count, a.pageID) < (b.pageID.count, b.pageID)
        }.map(\.pageID)
    }

    final class Seen: Sendable {
        let ids = Mutex<[String]>([])
    }

    @Test(
        "every cut of the read gives the pages in report order, and each sees what is returned",
        arguments: [1, 4, 9, 25, 8_192])
    func everyCutReadsInReportOrder(chunkPages: Int) async throws {
        let store = try await store()
        let seen = Seen()
        let pages = try await store.database.pagesInReportOrder(chunkPages: chunkPages) { page in
            seen.ids.withLock { $0.append(page.pageID) }
        }
        #expect(pages.count == 90)
        #expect(Set(pages.map(\.status)) == [.valid, .invalid, .unknown, .disconnected])
        #expect(pages.map(\.pageID) == Self.inReportOrder(pages))
        #expect(seen.ids.withLock { $0 } == pages.map(\.pageID))
    }
}
