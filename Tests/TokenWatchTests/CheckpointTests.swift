import Foundation
import Testing
import TokenWatchTestSupport

@testable import TokenWatchModel
@testable import TokenWatchStore

@Suite("Checkpoint beside the report")
struct CheckpointTests {
    let now = Date(timeIntervalSince1970: 1_790_000_000)

    func fileSize(_ path: String) throws -> Int {
        (try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0
    }

    @Test("a checkpoint copies the log's pages into the database file, and the database goes on as before")
    func copiesTheLogIntoTheFile() async throws {
        let store = try await TemporaryStore()
        let rows = (0..<500).map { index in
            PageUpsert(
                company: "Company \(index % 5)", pageID: String(105_000_000_000_000 + index),
                pageName: "Page \(index)", token: Secret("EAAtoken\(index)"), source: "test")
        }
        _ = try await store.database.upsertPages(rows, cipher: store.cipher, actor: "test", now: now)
        let path = store.database.path
        // The pages were committed to the write-ahead log; the file itself has not seen them.
        let before = try fileSize(path)
        #expect(try fileSize(path + "-wal") > 0)

        await store.database.checkpoint()
        let after = try fileSize(path)
        #expect(after > before + 500 * 100, "before \(before), after \(after)")

        // Readers and the writer carry on, and see the same pages.
        #expect(try await store.database.pages(status: nil, company: nil).count == 500)
        let again = try await store.database.upsertPages(
            [
                PageUpsert(
                    company: "Company 9", pageID: "105999", pageName: "One more", token: Secret("EAAmore"),
                    source: "test")
            ],
            cipher: store.cipher, actor: "test", now: now)
        #expect(again.added == ["105999"])
        #expect(try await store.database.pages(status: nil, company: nil).count == 501)
    }

    @Test("a read-only opening never checkpoints")
    func readOnlyDoesNothing() async throws {
        let store = try await TemporaryStore()
        _ = try await store.database.upsertPages(
            [
                PageUpsert(
                    company: "Acme", pageID: "106001", pageName: "Page", token: Secret("EAAtoken"), source: "test")
            ],
            cipher: store.cipher, actor: "test", now: now)
        let path = store.database.path
        let before = try fileSize(path)
        let reader = try AppDatabase.open(path: path, mode: .readOnly)
        await reader.checkpoint()
        reader.close()
        #expect(try fileSize(path) == before)
    }
}
