import Foundation
import Logging
import PostgresNIO
import Synchronization
import TokenWatchModel
import TokenWatchStore
import TokenWatchSystem

extension PostgresStore {
    /// Upserts pages as `produce` hands them over, chunk by chunk, in one transaction: all or
    /// nothing, whatever the number of rows. `produce` runs on a Dispatch thread (never the
    /// cooperative pool) and may block there reading a file; each `write` waits until its chunk
    /// is in the transaction, so memory holds one chunk. When `produce` throws, nothing is
    /// written and its error is rethrown as is; rows that conflict with stored pages fail the
    /// whole upsert with `UpsertConflict` at the end, every one named.
    ///
    /// Each chunk costs a few statements, not one per row: its stored pages are read (and
    /// locked) in one query, new pages inserted and changed ones updated from arrays
    /// (`unnest`), and their log entries written in one insert.
    public func upsertPages(
        cipher: TokenCipher, actor: String, now: Date,
        from produce: @escaping @Sendable (_ write: ([PageUpsert]) throws -> Void) throws -> Void
    ) async throws -> UpsertSummary {
        try await writeRethrowing { connection in
            var upserter = PostgresPageUpserter(cipher: cipher, actor: actor, now: now, logger: logger)
            let (chunks, continuation) = AsyncStream.makeStream(of: [PageUpsert].self)
            let handoff = ChunkHandoff()
            let producer = Task {
                try await BlockingWork.run {
                    defer { continuation.finish() }
                    try produce { chunk in
                        try handoff.checkRunning()
                        continuation.yield(chunk)
                        // One chunk in flight: wait until the transaction has taken it.
                        handoff.waitUntilTaken()
                        try handoff.checkRunning()
                    }
                }
            }
            do {
                for await chunk in chunks {
                    try await upserter.upsert(chunk, connection: connection)
                    handoff.taken()
                }
                try await producer.value
            } catch {
                handoff.stop()
                _ = try? await producer.value
                throw error
            }
            if !upserter.conflicts.isEmpty { throw UpsertConflict(problems: upserter.conflicts) }
            return upserter.summary
        }
    }

    /// Pages ordered for a person: by company, then name. Filters are optional.
    public func pages(status: PageStatus?, company: String?) async throws(StoreError) -> [PageRecord] {
        var builder = QueryBuilder(
            "SELECT \(Self.pageColumns) FROM page JOIN company ON company.id = page.company_id WHERE true")
        if let status { builder.append(" AND page.status = \(builder.bind(status.rawValue))") }
        if let company { builder.append(" AND company.name = \(builder.bind(company))") }
        builder.append(" ORDER BY company.name, page.page_name, page.page_id")
        let query = builder.query
        return try await read { connection in
            var pages: [PageRecord] = []
            for try await row in try await connection.query(query, logger: logger) {
                pages.append(try Self.pageRecord(row))
            }
            return pages
        }
    }

    /// One page and its log, oldest movement first.
    public func pageLog(pageID: String) async throws(StoreError) -> (PageRecord, [PageEvent]) {
        try await read { connection in
            guard
                let row = try await connection.rows(
                    """
                    SELECT \(unescaped: Self.pageColumns) FROM page JOIN company ON company.id = page.company_id
                    WHERE page.page_id = \(pageID)
                    """, logger
                ).first
            else { throw StoreError.notFound("no page with ID \(pageID)") }
            let page = try Self.pageRecord(row)
            let rowID = try row.makeRandomAccess()[0].decode(Int64.self)
            var events: [PageEvent] = []
            for try await (at, kind, actor, detail) in try await connection.query(
                "SELECT at, kind, actor, detail FROM page_event WHERE page_ref = \(rowID) ORDER BY id", logger: logger
            ).decode((Date, String, String, String?).self) {
                events.append(PageEvent(at: at, kindName: kind, actor: actor, detail: detail))
            }
            return (page, events)
        }
    }

    /// The last `limit` log entries of every page, newest first, keyed by Page ID.
    public func recentEvents(limit: Int) async throws(StoreError) -> [String: [PageEvent]] {
        try await read { connection in
            var events: [String: [PageEvent]] = [:]
            for try await (pageID, at, kind, actor, detail) in try await connection.query(
                """
                SELECT page.page_id, e.at, e.kind, e.actor, e.detail FROM (
                    SELECT page_ref, at, kind, actor, detail,
                           ROW_NUMBER() OVER (PARTITION BY page_ref ORDER BY id DESC) AS n
                    FROM page_event) AS e
                JOIN page ON page.id = e.page_ref
                WHERE e.n <= \(limit) ORDER BY page.page_id, e.n
                """, logger: logger
            ).decode((String, Date, String, String, String?).self) {
                events[pageID, default: []].append(PageEvent(at: at, kindName: kind, actor: actor, detail: detail))
            }
            return events
        }
    }

    /// Stops watching a page: status disconnected, token erased, logged. Disconnecting a
    /// disconnected page changes nothing and returns false.
    public func disconnect(pageID: String, reason: String?, actor: String, now: Date) async throws(StoreError) -> Bool {
        try await write { connection in
            guard
                let row = try await connection.rows(
                    "SELECT id, status FROM page WHERE page_id = \(pageID) FOR UPDATE", logger
                ).first
            else { throw StoreError.notFound("no page with ID \(pageID)") }
            let (rowID, status) = try row.decode((Int64, String).self)
            if status == PageStatus.disconnected.rawValue { return false }
            try await connection.run(
                """
                UPDATE page SET status = 'disconnected', status_since = \(now), token_sealed = NULL,
                    reason_code = NULL, reason_detail = NULL, error_code = NULL, error_subcode = NULL,
                    last_check_error = NULL
                WHERE id = \(rowID)
                """, logger)
            try await Self.appendEvent(
                connection, pageRef: rowID, kind: .disconnected, actor: actor, detail: reason, at: now, logger: logger)
            return true
        }
    }

    /// Page IDs of a company that are still watched, with their names.
    public func watchedPageIDs(company: String) async throws(StoreError) -> [String: String] {
        try await read { connection in
            var result: [String: String] = [:]
            for try await (pageID, name) in try await connection.query(
                """
                SELECT page.page_id, page.page_name FROM page JOIN company ON company.id = page.company_id
                WHERE company.name = \(company) AND page.status != 'disconnected'
                """, logger: logger
            ).decode((String, String).self) {
                result[pageID] = name
            }
            return result
        }
    }

    /// Page ID → how many log entries the page has, for the report's "N older entries".
    public func logEntryCounts() async throws(StoreError) -> [String: Int] {
        try await read { connection in
            var counts: [String: Int] = [:]
            for try await (pageID, count) in try await connection.query(
                """
                SELECT page.page_id, COUNT(*) FROM page_event
                JOIN page ON page.id = page_event.page_ref GROUP BY page.page_id
                """, logger: logger
            ).decode((String, Int).self) {
                counts[pageID] = count
            }
            return counts
        }
    }

    /// The columns `pageRecord` reads, by position: keep the two in the same order.
    static let pageColumns = """
        page.id, company.name, page.page_id, page.page_name, page.status,
        page.reason_code, page.reason_detail, page.error_code, page.error_subcode, page.status_since,
        page.token_updated_at, page.last_checked_at, page.last_check_error, page.scopes,
        page.missing_scopes, page.expires_at, page.data_access_expires_at
        """

    /// A page from a row of `SELECT \(pageColumns) …`.
    static func pageRecord(_ row: PostgresRow) throws -> PageRecord {
        let columns = row.makeRandomAccess()
        let status = PageStatus(rawValue: try columns[4].decode(String.self)) ?? .unknown
        var reason: InvalidReason?
        if status == .invalid, let code = try columns[5].decode(String?.self) {
            reason = InvalidReason(code: code, detail: try columns[6].decode(String?.self))
        }
        return PageRecord(
            company: try columns[1].decode(String.self),
            pageID: try columns[2].decode(String.self),
            pageName: try columns[3].decode(String.self),
            status: status,
            reason: reason,
            errorCode: try columns[7].decode(Int?.self),
            errorSubcode: try columns[8].decode(Int?.self),
            statusSince: try columns[9].decode(Date?.self),
            tokenUpdatedAt: try columns[10].decode(Date.self),
            lastCheckedAt: try columns[11].decode(Date?.self),
            lastCheckError: try columns[12].decode(String?.self),
            scopes: splitScopes(try columns[13].decode(String.self)),
            missingScopes: splitScopes(try columns[14].decode(String.self)),
            expiresAt: try columns[15].decode(Date?.self),
            dataAccessExpiresAt: try columns[16].decode(Date?.self))
    }
}

/// The hand-over between an import's blocking producer and the transaction that writes its
/// chunks: the producer waits after each chunk until the transaction has taken it, and stops
/// at its next chunk once the transaction has failed.
final class ChunkHandoff: Sendable {
    private let takenSignal = DispatchSemaphore(value: 0)
    private let stopped = Mutex(false)

    /// The transaction took a chunk.
    func taken() { takenSignal.signal() }

    /// The transaction failed: the producer stops.
    func stop() {
        stopped.withLock { $0 = true }
        takenSignal.signal()
    }

    /// Blocks the producer's thread (a Dispatch thread, never the cooperative pool).
    func waitUntilTaken() { takenSignal.wait() }

    func checkRunning() throws {
        if stopped.withLock({ $0 }) { throw CancellationError() }
    }
}

/// The work of an upsert inside its transaction, chunk by chunk, with the company IDs looked
/// up once per company.
struct PostgresPageUpserter {
    let cipher: TokenCipher
    let actor: String
    let now: Date
    let logger: Logger
    var summary = UpsertSummary()
    var conflicts: [String] = []
    private var companies: [String: Int64] = [:]

    init(cipher: TokenCipher, actor: String, now: Date, logger: Logger) {
        self.cipher = cipher
        self.actor = actor
        self.now = now
        self.logger = logger
    }

    /// A stored page as the chunk found it.
    private struct Stored {
        var rowID: Int64
        var name: String
        var sealed: Data?
        var status: PageStatus
        var company: String
    }

    /// A log entry to write; `pageRef` nil for a page inserted by this chunk (looked up by ID).
    private struct Event {
        var pageRef: Int64?
        var pageID: String
        var kind: PageEventKind
        var detail: String?
    }

    mutating func upsert(_ pages: [PageUpsert], connection: PostgresConnection) async throws {
        // Rows are decided as if one by one: a page ID seen twice is decided the second time
        // against what the first did, so the chunk is cut before a repeated ID.
        var start = pages.startIndex
        var seen: Set<String> = []
        for index in pages.indices {
            if !seen.insert(pages[index].pageID).inserted {
                try await upsertDistinct(pages[start..<index], connection: connection)
                start = index
                seen = [pages[index].pageID]
            }
        }
        try await upsertDistinct(pages[start...], connection: connection)
    }

    private mutating func upsertDistinct(_ pages: ArraySlice<PageUpsert>, connection: PostgresConnection) async throws {
        guard !pages.isEmpty else { return }
        let ids = pages.map(\.pageID)
        var stored: [String: Stored] = [:]
        for try await (rowID, pageID, name, sealed, status, company) in try await connection.query(
            """
            SELECT page.id, page.page_id, page.page_name, page.token_sealed, page.status, company.name
            FROM page JOIN company ON company.id = page.company_id
            WHERE page.page_id = ANY(\(ids)::text[]) ORDER BY page.id FOR UPDATE OF page
            """, logger: logger
        ).decode((Int64, String, String, Data?, String, String).self) {
            stored[pageID] = Stored(
                rowID: rowID, name: name, sealed: sealed, status: PageStatus(rawValue: status) ?? .unknown,
                company: company)
        }

        var newCompanies: [Int64] = []
        var newIDs: [String] = []
        var newNames: [String] = []
        var newSealed: [ByteBuffer] = []
        var newHashes: [Int64] = []
        var renames: (ids: [Int64], names: [String]) = ([], [])
        var tokens: (ids: [Int64], sealed: [ByteBuffer]) = ([], [])
        var events: [Event] = []

        for page in pages {
            let sealed = try cipher.seal(page.token, pageID: page.pageID)
            guard let existing = stored[page.pageID] else {
                newCompanies.append(try await companyID(page.company, connection: connection))
                newIDs.append(page.pageID)
                newNames.append(page.pageName)
                newSealed.append(ByteBuffer(bytes: sealed))
                newHashes.append(PostgresStore.shardHash(page.pageID))
                events.append(Event(pageRef: nil, pageID: page.pageID, kind: .connected, detail: nil))
                summary.added.append(page.pageID)
                continue
            }
            if existing.company != page.company {
                conflicts.append(
                    "\(page.source): page ID \(page.pageID) already belongs to company \"\(existing.company)\", not \"\(page.company)\""
                )
                continue
            }
            let sameToken =
                try existing.sealed.map { try cipher.unseal($0, pageID: page.pageID) == page.token } ?? false
            if existing.name != page.pageName {
                renames.ids.append(existing.rowID)
                renames.names.append(page.pageName)
                events.append(
                    Event(
                        pageRef: existing.rowID, pageID: page.pageID, kind: .renamed,
                        detail: "renamed from \"\(existing.name)\" to \"\(page.pageName)\""))
                summary.renamed.append(page.pageID)
            }
            if existing.status == .disconnected || !sameToken {
                tokens.ids.append(existing.rowID)
                tokens.sealed.append(ByteBuffer(bytes: sealed))
                if existing.status == .disconnected {
                    events.append(
                        Event(
                            pageRef: existing.rowID, pageID: page.pageID, kind: .connected,
                            detail: "reconnected with a new token"))
                    summary.reconnected.append(page.pageID)
                } else {
                    events.append(
                        Event(
                            pageRef: existing.rowID, pageID: page.pageID, kind: .renewed,
                            detail: existing.status == .invalid ? "new token for an invalid page" : nil))
                    summary.renewed.append(page.pageID)
                }
            } else if existing.name == page.pageName {
                summary.unchanged.append(page.pageID)
            }
        }

        var inserted: [String: Int64] = [:]
        if !newIDs.isEmpty {
            for try await (rowID, pageID) in try await connection.query(
                """
                INSERT INTO page (company_id, page_id, page_name, token_sealed, token_updated_at, status,
                                  status_since, created_at, shard_hash)
                SELECT u.company_id, u.page_id, u.page_name, u.sealed, \(now), 'unknown', \(now), \(now), u.hash
                FROM unnest(\(newCompanies)::bigint[], \(newIDs)::text[], \(newNames)::text[], \(newSealed)::bytea[],
                            \(newHashes)::bigint[]) WITH ORDINALITY AS u(company_id, page_id, page_name, sealed, hash, n)
                ORDER BY u.n
                RETURNING id, page_id
                """, logger: logger
            ).decode((Int64, String).self) {
                inserted[pageID] = rowID
            }
        }
        if !renames.ids.isEmpty {
            try await connection.run(
                """
                UPDATE page SET page_name = u.name
                FROM unnest(\(renames.ids)::bigint[], \(renames.names)::text[]) AS u(id, name) WHERE page.id = u.id
                """, logger)
        }
        if !tokens.ids.isEmpty {
            try await connection.run(
                """
                UPDATE page SET token_sealed = u.sealed, token_updated_at = \(now), status = 'unknown',
                    status_since = \(now), reason_code = NULL, reason_detail = NULL, error_code = NULL,
                    error_subcode = NULL, last_check_error = NULL, expiry_warned_for = NULL
                FROM unnest(\(tokens.ids)::bigint[], \(tokens.sealed)::bytea[]) AS u(id, sealed) WHERE page.id = u.id
                """, logger)
        }
        guard !events.isEmpty else { return }
        var refs: [Int64] = []
        var kinds: [String] = []
        // postgres-nio encodes no NULL inside an array: no detail is written as '' and read
        // back as NULL (a log detail is never empty).
        var details: [String] = []
        for event in events {
            guard let ref = event.pageRef ?? inserted[event.pageID] else {
                throw StoreError.database("page \(event.pageID) was inserted but not returned")
            }
            refs.append(ref)
            kinds.append(event.kind.rawValue)
            details.append(event.detail ?? "")
        }
        try await connection.run(
            """
            INSERT INTO page_event (page_ref, at, kind, actor, detail)
            SELECT u.ref, \(now), u.kind, \(actor), NULLIF(u.detail, '')
            FROM unnest(\(refs)::bigint[], \(kinds)::text[], \(details)::text[]) WITH ORDINALITY AS u(ref, kind, detail, n)
            ORDER BY u.n
            """, logger)
    }

    private mutating func companyID(_ name: String, connection: PostgresConnection) async throws -> Int64 {
        if let id = companies[name] { return id }
        guard
            let id = try await PostgresStore.companyID(
                connection, name: name, create: true, now: now, logger: logger)
        else { throw StoreError.database("company \"\(name)\" was not created") }
        companies[name] = id
        return id
    }
}

extension PostgresStore {
    /// Page ID → how many log entries the page has, for these pages only.
    public func logEntryCounts(pageIDs: [String]) async throws(StoreError) -> [String: Int] {
        guard !pageIDs.isEmpty else { return [:] }
        return try await read { connection in
            var counts: [String: Int] = [:]
            for try await (pageID, count) in try await connection.query(
                """
                SELECT page.page_id, COUNT(*) FROM page_event
                JOIN page ON page.id = page_event.page_ref
                WHERE page.page_id = ANY(\(pageIDs)) GROUP BY page.page_id
                """, logger: logger
            ).decode((String, Int).self) {
                counts[pageID] = count
            }
            return counts
        }
    }

    /// The last `limit` log entries of these pages only, newest first, keyed by Page ID.
    public func recentEvents(limit: Int, pageIDs: [String]) async throws(StoreError) -> [String: [PageEvent]] {
        guard !pageIDs.isEmpty else { return [:] }
        return try await read { connection in
            var events: [String: [PageEvent]] = [:]
            for try await (pageID, at, kind, actor, detail) in try await connection.query(
                """
                SELECT page.page_id, e.at, e.kind, e.actor, e.detail FROM (
                    SELECT page_ref, at, kind, actor, detail,
                           ROW_NUMBER() OVER (PARTITION BY page_ref ORDER BY id DESC) AS n
                    FROM page_event
                    WHERE page_ref IN (SELECT id FROM page WHERE page_id = ANY(\(pageIDs)))) AS e
                JOIN page ON page.id = e.page_ref
                WHERE e.n <= \(limit) ORDER BY page.page_id, e.n
                """, logger: logger
            ).decode((String, Date, String, String, String?).self) {
                events[pageID, default: []].append(PageEvent(at: at, kindName: kind, actor: actor, detail: detail))
            }
            return events
        }
    }

    /// Every page in the report's order as far as PostgreSQL can tell: status, then company
    /// and page name case-insensitively and as written, then page ID by length and digits.
    public func pagesInReportOrder() async throws(StoreError) -> [PageRecord] {
        try await read { connection in
            var pages: [PageRecord] = []
            for try await row in try await connection.query(
                """
                SELECT \(unescaped: Self.pageColumns) FROM page JOIN company ON company.id = page.company_id
                ORDER BY CASE page.status WHEN 'invalid' THEN 0 WHEN 'valid' THEN 2
                                          WHEN 'disconnected' THEN 3 ELSE 1 END,
                         lower(company.name), company.name, lower(page.page_name), page.page_name,
                         length(page.page_id), page.page_id
                """, logger: logger
            ) {
                pages.append(try Self.pageRecord(row))
            }
            return pages
        }
    }
}
