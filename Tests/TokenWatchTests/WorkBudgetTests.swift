import Foundation
import GRDB
import Synchronization
import Testing
import TokenWatchTestSupport

@testable import TokenWatch
@testable import TokenWatchModel
@testable import TokenWatchReports
@testable import TokenWatchStore
@testable import TokenWatchTemplates

/// Guards on the amount of work, never on time: a count of SQL statements or of rows held
/// does not flake on a busy machine, and it grows the moment a per-row query or a
/// whole-file buffer creeps back in (issue #12).
@Suite("Work budgets")
struct WorkBudgetTests {
    let now = Date(timeIntervalSince1970: 1_790_000_000)

    /// Counts the statements SQLite runs on the database's writer connection.
    final class StatementCounter: Sendable {
        let count = Mutex(0)
        /// The statements' SQL, in order.
        let statements = Mutex<[String]>([])
        func reset() {
            count.withLock { $0 = 0 }
            statements.withLock { $0 = [] }
        }
        var value: Int { count.withLock { $0 } }
        var sql: [String] { statements.withLock { $0 } }
    }

    func tracing(_ database: AppDatabase) async throws -> StatementCounter {
        let counter = StatementCounter()
        try await database.writer.write { db in
            db.trace { event in
                counter.count.withLock { $0 += 1 }
                counter.statements.withLock { $0.append("\(event)") }
            }
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

    /// The batch commit is a fixed number of statements, whatever the size of the database: a
    /// read of the batch, a look for pages whose Owners were told they were invalid, and one
    /// UPDATE for the valid pages that store the same facts, each one statement per chunk of
    /// the list (`SQLPlaceholders.chunks`); the invalid page's UPDATE, Owner lookup and outbox
    /// row; and the log entries, one INSERT per chunk of each run of the same kind.
    @Test func aBatchCommitCostsTheSameStatementsWhateverTheDatabaseSize() async throws {
        let small = try await statementsForOneBatch(inDatabaseOf: 50)
        let large = try await statementsForOneBatch(inDatabaseOf: 3_000)
        #expect(small == large)
        // 50 pages: 32 + 16 + 2; the 49 valid ones: 32 + 16 + 1.
        let (all, valid) = (SQLPlaceholders.chunks(50).count, SQLPlaceholders.chunks(49).count)
        // BEGIN + read + "told invalid" look + valid UPDATE + invalid UPDATE + owners + outbox
        // + the invalid page's log entry + the valid ones' + COMMIT (it was 155 with a
        // statement or three per page).
        #expect(large == 1 + all + valid + valid + 3 + 1 + valid + 1)
        #expect(large <= 20)
    }

    /// Batches of every length up to two commits' worth run statements of a few lengths only:
    /// each is prepared once per run, where a statement with one placeholder per page was
    /// compiled again for every new batch length, in the one writer every batch waits for,
    /// and kept in GRDB's cache for the rest of the run.
    @Test func batchesOfEveryLengthShareAFewStatements() async throws {
        let store = try await store(pages: 1_200)
        let targets = try await store.database.checkTargets(pageIDs: nil, cipher: store.cipher)
        let runID = try await store.database.startRun(
            actor: "test", configuredVersion: "v25.0", pagesTotal: targets.count, now: now)
        let counter = try await tracing(store.database)
        var start = 0
        // 1, 2, … 47 pages: 47 lengths, 1,128 pages, every one a first verdict.
        for length in 1...47 {
            let batch = targets[start..<start + length].map {
                PageCheckResult(target: $0, verdict: .valid(TokenFacts(scopes: ["pages_messaging"])))
            }
            start += length
            _ = try await store.database.commit(
                batch, requiredScopes: ["pages_messaging"], runID: runID, actor: "test", now: now)
        }
        let distinct = Set(counter.sql)
        // Per kind of statement, one per chunk length met (1 to 32: six), not one per batch length.
        for kind in [
            "SELECT id, status", "SELECT DISTINCT page_ref", "UPDATE page SET status", "INSERT INTO page_event",
        ] {
            let shapes = distinct.filter { $0.contains(kind) }
            #expect(shapes.count == 6, "\(kind): \(shapes.count) statements")
        }
        #expect(try await store.database.logEntryCounts().values.reduce(0, +) == 1_200 + 1_128)
    }

    /// A batch's statement journal stays in memory on the writer: spilled, it was a new
    /// temporary file per commit (some 200 in a 100,000-page first run) in the one writer.
    /// Readers keep SQLite's default, so a large sort for the report can spill to disk instead
    /// of growing the process.
    @Test func statementJournalsNeverBecomeTemporaryFiles() async throws {
        let store = try await TemporaryStore()
        let (byDefault, memory) = (0, 2)
        let writer = try await store.database.writer.write { db in try Int.fetchOne(db, sql: "PRAGMA temp_store") }
        let reader = try await store.database.writer.read { db in try Int.fetchOne(db, sql: "PRAGMA temp_store") }
        #expect(writer == memory)
        #expect(reader == byDefault)
    }

    /// The hourly run's common batch: 50 pages stored valid get a valid verdict with the same
    /// facts. Only their check time changes, in one UPDATE for the batch (a statement per
    /// chunk of its list): BEGIN, the batch's read, the UPDATE, COMMIT; and no log entry.
    @Test func aBatchOfUnchangedValidPagesIsOneUpdate() async throws {
        let facts = TokenFacts(
            scopes: ["pages_messaging", "pages_manage_metadata"], expiresAt: nil,
            dataAccessExpiresAt: Date(timeIntervalSince1970: 1_800_000_000))
        try await checkValidPagesTwice(first: facts, then: facts)
    }

    /// Graph moves a valid token's `data_access_expires_at` as the Page's admins use the app, so
    /// the hourly batch often differs from the stored one only there. That is still one UPDATE
    /// for the batch (a statement per chunk), which stores the new time and leaves the status (and its index entry),
    /// the "since" time and the log alone.
    @Test func aBatchWhoseExpiryMovedIsStillOneUpdateThatLeavesTheStatusAlone() async throws {
        let facts = TokenFacts(
            scopes: ["pages_messaging", "pages_manage_metadata"], expiresAt: nil,
            dataAccessExpiresAt: Date(timeIntervalSince1970: 1_800_000_000))
        var moved = facts
        moved.dataAccessExpiresAt = Date(timeIntervalSince1970: 1_800_003_600)
        try await checkValidPagesTwice(first: facts, then: moved)
    }

    /// Commits a valid verdict with `first` for 50 of 200 pages, then, an hour later, one with
    /// `then`, and checks that the second batch was BEGIN, the batch's read, one UPDATE (per
    /// chunk) that does not write the status, COMMIT, with no log entry, and stored `then`.
    func checkValidPagesTwice(first facts: TokenFacts, then later: TokenFacts) async throws {
        let store = try await store(pages: 200)
        let targets = Array(try await store.database.checkTargets(pageIDs: nil, cipher: store.cipher).prefix(50))
        let valid = targets.map { PageCheckResult(target: $0, verdict: .valid(facts)) }
        let first = try await store.database.startRun(
            actor: "test", configuredVersion: "v25.0", pagesTotal: 50, now: now)
        _ = try await store.database.commit(
            valid, requiredScopes: ["pages_messaging"], runID: first, actor: "test", now: now)
        let eventsBefore = try await store.database.logEntryCounts()

        let laterTime = now.addingTimeInterval(3_600)
        let again = try await store.database.checkTargets(pageIDs: targets.map(\.pageID), cipher: store.cipher)
        let second = try await store.database.startRun(
            actor: "test", configuredVersion: "v25.0", pagesTotal: 50, now: laterTime)
        let counter = try await tracing(store.database)
        counter.reset()
        let commit = try await store.database.commit(
            again.map { PageCheckResult(target: $0, verdict: .valid(later)) }, requiredScopes: ["pages_messaging"],
            runID: second, actor: "test", now: laterTime)
        // BEGIN, the read and the UPDATE a statement per chunk of the 50 pages, COMMIT.
        let chunks = SQLPlaceholders.chunks(50).count
        #expect(counter.value == 2 + 2 * chunks)
        let updates = counter.sql.filter { $0.hasPrefix("UPDATE") }
        #expect(updates.count == chunks)
        #expect(updates.allSatisfy { !$0.contains("status") }, "\(updates)")
        #expect(commit == BatchCommit())
        #expect(try await store.database.logEntryCounts() == eventsBefore)
        let checked = try await store.database.pages().filter { page in targets.contains { $0.pageID == page.pageID } }
        #expect(checked.count == 50)
        #expect(checked.allSatisfy { $0.lastCheckedAt == laterTime && $0.status == .valid })
        #expect(checked.allSatisfy { $0.statusSince == now && $0.scopes == facts.scopes })
        #expect(checked.allSatisfy { $0.dataAccessExpiresAt == later.dataAccessExpiresAt })
        #expect(checked.allSatisfy { $0.expiresAt == later.expiresAt })
    }

    /// Each digest's claim finds its Owner where the outbox index starts, whatever the options:
    /// a sort of every pending row once per digest made sending digests quadratic in the
    /// number of Owners told.
    @Test func theNextDigestsOwnerComesFromTheOutboxIndexNotASort() async throws {
        let store = try await TemporaryStore()
        for ignoreBackoff in [false, true] {
            for recoveryAlone in [false, true] {
                let (sql, arguments) = AppDatabase.nextOwnerQuery(
                    now: now, ignoreBackoff: ignoreBackoff, recoveryAlone: recoveryAlone)
                let plan = try await store.database.writer.read { db in
                    try Row.fetchAll(db, sql: "EXPLAIN QUERY PLAN " + sql, arguments: arguments)
                        .map { $0["detail"] as String }
                }
                #expect(plan.contains { $0.contains("USING INDEX outbox_by_state") }, "\(plan)")
                #expect(!plan.contains { $0.contains("TEMP B-TREE") }, "\(plan)")
            }
        }
    }

    /// The placeholder lists made once per size are exactly the ones built per call, below,
    /// at and beyond the sizes kept.
    @Test func placeholderListsMadeOnceAreTheOnesBuiltPerCall() {
        for count in [0, 1, 2, 49, 50, 100, SQLPlaceholders.cachedCount, SQLPlaceholders.cachedCount + 1, 300] {
            #expect(SQLPlaceholders.list(count) == databaseQuestionMarks(count: count))
            #expect(SQLPlaceholders.rows(count) == Array(repeating: "(?)", count: count).joined(separator: ","))
        }
    }

    /// The chunks of a list cover it exactly, in order, with lengths the statements are
    /// prepared for, the largest first.
    @Test func chunksCoverAListWithTheFixedLengths() {
        for count in 0...1_100 {
            let chunks = SQLPlaceholders.chunks(count)
            #expect(chunks.first?.lowerBound ?? 0 == 0)
            #expect(chunks.last?.upperBound ?? 0 == count)
            #expect(zip(chunks, chunks.dropFirst()).allSatisfy { $0.upperBound == $1.lowerBound })
            #expect(chunks.allSatisfy { SQLPlaceholders.chunkSizes.contains($0.count) })
            #expect(zip(chunks, chunks.dropFirst()).allSatisfy { $0.count >= $1.count })
            #expect(chunks.count <= count / 256 + 8)
        }
        #expect(SQLPlaceholders.chunks(500).map(\.count) == [256, 128, 64, 32, 16, 4])
    }

    /// A page that changed in any way still takes the full path: other scopes are logged.
    @Test func aValidPageWithOtherScopesIsStillLogged() async throws {
        let store = try await store(pages: 10)
        let targets = try await store.database.checkTargets(pageIDs: nil, cipher: store.cipher)
        let run = try await store.database.startRun(actor: "test", configuredVersion: "v25.0", pagesTotal: 10, now: now)
        _ = try await store.database.commit(
            targets.map { PageCheckResult(target: $0, verdict: .valid(TokenFacts(scopes: ["a", "b"]))) },
            requiredScopes: [], runID: run, actor: "test", now: now)
        let again = try await store.database.checkTargets(pageIDs: nil, cipher: store.cipher)
        let commit = try await store.database.commit(
            again.enumerated().map { index, target in
                PageCheckResult(target: target, verdict: .valid(TokenFacts(scopes: index == 0 ? ["a"] : ["a", "b"])))
            }, requiredScopes: [], runID: run, actor: "test", now: now.addingTimeInterval(60))
        #expect(commit.permissionsChanged.count == 1)
    }

    /// The report is streamed: the HTML and the CSV reach their files in chunks of a bounded
    /// size, and the largest chunk of 50,000 pages is no larger than that of 5,000.
    @Test func theReportIsStreamedInBoundedChunks() throws {
        func largestChunks(pages count: Int) throws -> (html: Int, csv: Int, htmlTotal: Int) {
            var input = ReportInput(generatedAt: now)
            input.pages = (0..<count).map { index in
                PageRecord(
                    company: "Company \(index % 50)", pageID: String(107_000_000_000_000 + index),
                    pageName: "Page \(index)", status: index % 100 == 0 ? .invalid : .valid,
                    reason: index % 100 == 0 ? .passwordChanged : nil, statusSince: now,
                    tokenUpdatedAt: now, lastCheckedAt: now, scopes: ["pages_messaging"])
            }
            input.putInReportOrder()
            var html = 0
            var htmlTotal = 0
            try HTMLReport.render(input, templates: try TemplateSet()) { (chunk: String) throws(ReportError) in
                html = max(html, chunk.utf8.count)
                htmlTotal += chunk.utf8.count
            }
            var csv = 0
            CSVReport.write(input.pages) { bytes in csv = max(csv, bytes.count) }
            return (html, csv, htmlTotal)
        }
        let small = try largestChunks(pages: 5_000)
        let large = try largestChunks(pages: 50_000)
        #expect(large.htmlTotal > 5 * small.htmlTotal)
        #expect(large.html <= HTMLReport.chunkSize + 64 * 1_024)
        #expect(large.csv <= CSVReport.chunkSize + 4 * 1_024)
        #expect(large.html <= max(small.html, HTMLReport.chunkSize + 64 * 1_024))
    }

    /// Sorting into report order happens in place: the pages' buffer is the same one after,
    /// not a sorted copy beside the original.
    @Test func reportOrderSortsInPlace() {
        var input = ReportInput(generatedAt: now)
        input.pages = (0..<1_000).reversed().map { index in
            PageRecord(
                company: "Company \(index % 7)", pageID: String(108_000_000_000_000 + index),
                pageName: index % 5 == 0 ? "page \(index % 11)" : "Page \(index % 13)",
                status: index % 3 == 0 ? .invalid : .valid, tokenUpdatedAt: now)
        }
        // The order as a plain comparator states it, lower-casing on every comparison.
        let expected = input.pages.sorted { a, b in
            if a.status != b.status { return a.status.reportRank < b.status.reportRank }
            for (x, y) in [(a.company, b.company), (a.pageName, b.pageName)] {
                let (lx, ly) = (x.lowercased(), y.lowercased())
                if lx != ly { return lx < ly }
                if x != y { return x < y }
            }
            if a.pageID.count != b.pageID.count { return a.pageID.count < b.pageID.count }
            return a.pageID < b.pageID
        }.map(\.pageID)
        let before = input.pages.withUnsafeBufferPointer { UInt(bitPattern: $0.baseAddress) }
        input.putInReportOrder()
        let after = input.pages.withUnsafeBufferPointer { UInt(bitPattern: $0.baseAddress) }
        #expect(before == after)
        #expect(input.pages.map(\.pageID) == expected)
        #expect(input.orderedPages.map(\.pageID) == expected)
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
