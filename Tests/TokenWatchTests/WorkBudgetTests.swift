import Foundation
import Synchronization
import Testing
import TokenWatchTestSupport

@testable import TokenWatch
@testable import TokenWatchModel
@testable import TokenWatchStore

/// Guards on the amount of work, never on time: a count of SQL statements or of rows held
/// does not flake on a busy machine, and it grows the moment a per-row query or a
/// whole-file buffer creeps back in (issue #12).
@Suite("Work budgets")
struct WorkBudgetTests {
    let now = Date(timeIntervalSince1970: 1_790_000_000)

    /// Counts the statements SQLite runs on the database's writer connection.
    final class StatementCounter: Sendable {
        let count = Mutex(0)
        func reset() { count.withLock { $0 = 0 } }
        var value: Int { count.withLock { $0 } }
    }

    func tracing(_ database: AppDatabase) async throws -> StatementCounter {
        let counter = StatementCounter()
        try await database.writer.write { db in
            db.trace { _ in counter.count.withLock { $0 += 1 } }
        }
        return counter
    }

    /// A store with `pages` pages over 10 companies, each with one Owner.
    func store(pages: Int) async throws -> TemporaryStore {
        let store = try await TemporaryStore()
        let rows = (0..<pages).map { index in
            PageUpsert(
                company: "Company \(index % 10)", pageID: String(104_000_000_000_000 + index),
                pageName: "Page \(index)",
                token: Secret("EAAtoken\(index)"), source: "test")
        }
        _ = try await store.database.upsertPages(rows, cipher: store.cipher, actor: "test", now: now)
        for company in 0..<10 {
            _ = try await store.database.addOwners(
                company: "Company \(company)", emails: ["owner\(company)@example.com"], now: now)
        }
        return store
    }

    /// Statements one committed batch of 50 verdicts costs (49 valid, 1 invalid, all pages
    /// `unknown` before), on a database of `pages` pages.
    func statementsForOneBatch(inDatabaseOf pages: Int) async throws -> Int {
        let store = try await store(pages: pages)
        let targets = Array(try await store.database.checkTargets(pageIDs: nil, cipher: store.cipher).prefix(50))
        let results = targets.enumerated().map { index, target in
            PageCheckResult(
                target: target,
                verdict: index == 0
                    ? .invalid(.passwordChanged, facts: nil, error: GraphErrorCode(code: 190, subcode: 460))
                    : .valid(TokenFacts(scopes: ["pages_messaging", "pages_manage_metadata"])))
        }
        let runID = try await store.database.startRun(
            actor: "test", configuredVersion: "v25.0", pagesTotal: targets.count, now: now)
        let counter = try await tracing(store.database)
        counter.reset()
        let commit = try await store.database.commit(
            results, requiredScopes: ["pages_messaging"], runID: runID, actor: "test", now: now)
        #expect(commit.newlyInvalid.count == 1)
        #expect(commit.becameValid.count == 49)
        return counter.value
    }

    /// The batch commit is a fixed number of statements per page, whatever the size of the
    /// database: one read for the batch, an update and a log entry per page, a "Back to Valid"
    /// lookup per page that became valid, and the Owner lookup and outbox row for the page that
    /// turned invalid.
    @Test func aBatchCommitCostsTheSameStatementsWhateverTheDatabaseSize() async throws {
        let small = try await statementsForOneBatch(inDatabaseOf: 50)
        let large = try await statementsForOneBatch(inDatabaseOf: 3_000)
        #expect(small == large)
        // BEGIN + the batch's read + 50 × (UPDATE + event) + 49 "Back to Valid" lookups (one
        // indexed INSERT … SELECT per page that became valid) + owners + outbox + COMMIT.
        #expect(large <= 2 + 1 + 50 * 2 + 49 + 2 + 2)
    }

    /// Statements a streamed upsert of `rows` new pages costs.
    func statementsToImport(_ rows: Int) async throws -> Int {
        let store = try await TemporaryStore()
        let counter = try await tracing(store.database)
        counter.reset()
        let summary = try await store.database.upsertPages(cipher: store.cipher, actor: "test", now: now) { write in
            for start in stride(from: 0, to: rows, by: 100) {
                try write(
                    (start..<min(start + 100, rows)).map { index in
                        PageUpsert(
                            company: "Company \(index % 10)", pageID: String(105_000_000_000_000 + index),
                            pageName: "Page \(index)", token: Secret("EAAtoken\(index)"), source: "test")
                    })
            }
        }
        #expect(summary.added.count == rows)
        return counter.value
    }

    /// An import costs three statements per new page (look up, insert, log) and one per new
    /// company: doubling the rows adds exactly three statements per added row.
    @Test func anImportCostsAFixedNumberOfStatementsPerRow() async throws {
        let thousand = try await statementsToImport(1_000)
        let twoThousand = try await statementsToImport(2_000)
        #expect(twoThousand - thousand == 3 * 1_000)
    }

    /// The import's fast trim gives what Foundation's trimming gives, ASCII ends or not.
    @Test func theFastTrimMatchesFoundation() {
        for text in [
            "", " ", "a", " a ", "\tAcme\r\n", "Acme", "\u{A0}Acme\u{3000}", "Café", " Café", "é", "x\u{2028}",
            "\u{85}y", "a b",
        ] {
            #expect(PageImportParser.trimmed(text) == text.trimmingCharacters(in: .whitespacesAndNewlines), "\(text)")
        }
    }

    /// The streaming import never holds more rows than the last chunk of the file completed:
    /// a 20,000-row file read in 64 KiB chunks hands over at most a chunk's worth at a time.
    @Test func theImportStreamHoldsOneChunkOfRows() throws {
        var text = "company,page_id,page_name,access_token\n"
        for index in 0..<20_000 {
            text +=
                "Company \(index % 10),\(106_000_000_000_000 + index),\"Page \(index), the shop\",EAAtoken\(index)\n"
        }
        let bytes = Array(text.utf8)
        var stream = PageImportStream(source: "pages.csv")
        var total = 0
        var largest = 0
        for start in stride(from: 0, to: bytes.count, by: ImportSource.chunkSize) {
            bytes[start..<min(start + ImportSource.chunkSize, bytes.count)].withUnsafeBufferPointer {
                stream.feed($0)
            }
            let rows = stream.takeRows()
            total += rows.count
            largest = max(largest, rows.count)
        }
        stream.finish()
        total += stream.takeRows().count
        #expect(!stream.hasProblems)
        #expect(total == 20_000)
        // A row here is at least 50 bytes: one 64 KiB chunk completes at most ~1,300 of them.
        #expect(largest <= ImportSource.chunkSize / 50 + 1)
    }
}
