import Foundation
import TokenWatchModel

/// How a command uses the store.
public enum StoreAccessMode: Sendable, Equatable {
    /// `init`: the store is created when missing; an existing one is migrated.
    case create
    /// Commands that write: the store must exist and be writable; known migrations it lacks
    /// are applied.
    case readWrite
    /// Commands that only read (`pages list`, `pages log`, `report`, `check --dry-run`):
    /// nothing is ever written, so they work on a read-only file, directory or role too.
    case readOnly
}

/// Everything TokenWatch keeps — companies, Owners, pages with their sealed tokens and log,
/// check runs, the outbox with its claims — behind one seam, so the app layer does not know
/// which database holds it: the embedded SQLite file (`AppDatabase`, the default) or the
/// platform's PostgreSQL (`PostgresStore`).
///
/// Every implementation gives the same guarantees, which one shared test suite checks:
/// - a batch's verdicts, page log entries and staged notifications commit in one transaction;
/// - a claimed outbox row is sent by its claimant only (`claimNextDigest` claims in the
///   transaction that selects; `markSent` marks only rows the sender still holds);
/// - tokens are stored sealed with the installation's key, never in plain text;
/// - a store opened `.readOnly` refuses every write with `StoreError.notWritable`.
public protocol PageStore: Sendable {
    /// Where the store is, for messages: a file path, or a PostgreSQL URL without password.
    var location: String { get }
    /// How it was opened.
    var mode: StoreAccessMode { get }

    /// Migration identifiers applied to the store, oldest first.
    func appliedMigrations() async throws(StoreError) -> [String]
    /// Releases the connections now, before the process exits.
    func close()
    /// Moves the run's writes to where they finally live, beside other work, so that `close`
    /// has little left to do (SQLite: a checkpoint on a connection of its own). Optional: a
    /// store with nothing to move does nothing.
    func checkpoint() async

    // MARK: The key

    /// Checks that `cipher` opens what the store holds (records a probe in a new store).
    func verifyKey(_ cipher: TokenCipher) async throws(StoreError)
    /// Whether any sealed data (a token or the key probe) is stored.
    func hasSealedData() async throws(StoreError) -> Bool

    // MARK: Check runs

    /// The pages to check (optionally only `pageIDs`, optionally one shard's), least recently
    /// checked first, tokens still sealed.
    func checkTargets(pageIDs: [String]?, shard: Shard?) async throws(StoreError) -> [CheckTarget]
    /// Commits one batch's verdicts in one transaction: status, log, staged notices.
    func commit(_ results: [PageCheckResult], requiredScopes: [String], runID: Int64, actor: String, now: Date)
        async throws(StoreError) -> BatchCommit
    /// Records that these pages were not checked in this run, and why.
    func markUnchecked(rowIDs: [Int64], note: String) async throws(StoreError)
    /// Records the start of a run and returns its id.
    func startRun(actor: String, configuredVersion: String, pagesTotal: Int, shard: Shard?, now: Date)
        async throws(StoreError) -> Int64
    /// Records how a run ended.
    func finishRun(_ run: CheckRunRecord) async throws(StoreError)
    /// When the last run that completed ended.
    func lastSuccessfulRunEnd() async throws(StoreError) -> Date?
    /// The most recent run.
    func lastRun() async throws(StoreError) -> CheckRunRecord?
    /// The most recent run of every shard of a run split `count` ways, by index.
    func lastShardRuns(count: Int) async throws(StoreError) -> [Int: CheckRunRecord]
    /// The pages that turned invalid, and those that turned valid again (not a first successful
    /// check), in these runs: what the shards of one wave changed, for `finish`'s report.
    func changes(inRuns runIDs: [Int64]) async throws(StoreError) -> RunChanges
    /// Graph's rate limit as every shard sees it: the time before which no shard should send,
    /// when one was told to back off.
    func graphThrottledUntil() async throws(StoreError) -> Date?
    /// Records that Graph asked to back off until `until` (a later time wins).
    func throttleGraph(until: Date) async throws(StoreError)
    /// The run lock of one shard (or of the whole store): at most one run holds it; it is
    /// released by `release()`, and by the system when the process dies.
    func acquireRunLock(shard: Shard?) async throws -> any RunLease

    // MARK: Pages

    /// Streaming upsert: `produce` calls `write` with chunks; all chunks commit or none.
    func upsertPages(
        cipher: TokenCipher, actor: String, now: Date,
        from produce: @escaping @Sendable (_ write: ([PageUpsert]) throws -> Void) throws -> Void
    ) async throws -> UpsertSummary
    func pages(status: PageStatus?, company: String?) async throws(StoreError) -> [PageRecord]
    func pageLog(pageID: String) async throws(StoreError) -> (PageRecord, [PageEvent])
    func recentEvents(limit: Int) async throws(StoreError) -> [String: [PageEvent]]
    func disconnect(pageID: String, reason: String?, actor: String, now: Date) async throws(StoreError) -> Bool
    func watchedPageIDs(company: String) async throws(StoreError) -> [String: String]
    func logEntryCounts() async throws(StoreError) -> [String: Int]
    /// Page ID → how many log entries the page has, for these pages only: a report of
    /// 1,000,000 pages asks for the few it shows in full.
    func logEntryCounts(pageIDs: [String]) async throws(StoreError) -> [String: Int]
    /// The last `limit` log entries of these pages only, newest first, keyed by Page ID.
    func recentEvents(limit: Int, pageIDs: [String]) async throws(StoreError) -> [String: [PageEvent]]
    /// Every page, disconnected ones included, in the report's order as far as the database
    /// can tell (status, then company and page name case-insensitively, then page ID); the
    /// report checks the order and sorts only when it differs.
    func pagesInReportOrder() async throws(StoreError) -> [PageRecord]
    /// The same pages, each also handed to `each` as soon as it is read, in the same order,
    /// on the thread reading them (never the cooperative pool: `each` may wait for its reader):
    /// a report's spreadsheet is written while the rest are still being read. A store may
    /// hand over none of them instead (the default).
    func pagesInReportOrder(each: @escaping @Sendable (PageRecord) -> Void) async throws(StoreError)
        -> [PageRecord]
    func expiringCount(now: Date, warningDays: Int) async throws(StoreError) -> Int
    func statusCounts() async throws(StoreError) -> [PageStatus: Int]
    /// The store's own consistency check: "ok" or what is wrong.
    func integrityCheck() async throws(StoreError) -> String

    // MARK: Companies and Owners

    func companyNames() async throws(StoreError) -> [String]
    func addOwners(company: String, emails: [String], now: Date) async throws(StoreError) -> [String]
    func removeOwners(company: String, emails: [String]) async throws(StoreError) -> [String]
    func owners(company: String?) async throws(StoreError) -> [OwnerRecord]
    func companiesWithoutOwners() async throws(StoreError) -> [String]
    func ownersByCompany() async throws(StoreError) -> [String: [String]]

    // MARK: The outbox

    func stagedWave() async throws(StoreError) -> StagedWave
    func promoteStaged(hold: Bool, actor: String, now: Date) async throws(StoreError) -> Int
    func dropStaleNotices(actor: String, now: Date) async throws(StoreError) -> Int
    func claimNextDigest(
        sender: String, now: Date, leaseUntil: Date, ignoreBackoff: Bool, skipping: Set<String>,
        recoveryAlone: Bool
    ) async throws(StoreError) -> [OutboxItem]?
    @discardableResult
    func markSent(
        _ items: [OutboxItem], sender: String, messageID: String, actor: String, now: Date, forwardedTo: String?
    ) async throws(StoreError) -> Int
    func markAttemptFailed(
        _ items: [OutboxItem], sender: String, error: String, permanent: Bool, nextAttemptAt: Date, maxAttempts: Int,
        actor: String, now: Date
    ) async throws(StoreError) -> Bool
    func releaseClaims(_ items: [OutboxItem], sender: String) async throws(StoreError)
    func releaseHeld(actor: String, now: Date) async throws(StoreError) -> Int
    func dropHeld(reason: String, actor: String, now: Date) async throws(StoreError) -> Int
    func outboxCounts() async throws(StoreError) -> OutboxCounts
    func waitingNotifications() async throws(StoreError) -> [String: [String: [String]]]
    func nextAutomaticAttempt() async throws(StoreError) -> Date?
    func lastOutboxError() async throws(StoreError) -> String?
    func scheduleNotices(expiryWarningDays: Int, remindAfterDays: Int?, actor: String, now: Date)
        async throws(StoreError) -> ScheduledNotices
}

extension PageStore {
    /// Nothing to move.
    public func checkpoint() async {}

    /// A store that cannot hand pages over while it reads them hands none over: the caller
    /// uses the pages returned (a report's spreadsheet is then written after they are read).
    /// Handing them over afterwards could only block: `each` may wait for its reader.
    public func pagesInReportOrder(each: @escaping @Sendable (PageRecord) -> Void) async throws(StoreError)
        -> [PageRecord]
    {
        try await pagesInReportOrder()
    }

    /// Upserts `pages` in one transaction: all or nothing (the streaming upsert with one chunk).
    public func upsertPages(_ pages: [PageUpsert], cipher: TokenCipher, actor: String, now: Date)
        async throws -> UpsertSummary
    {
        try await upsertPages(cipher: cipher, actor: actor, now: now) { write in try write(pages) }
    }

    /// Every watched page (or only `pageIDs`), least recently checked first.
    public func checkTargets(pageIDs: [String]?) async throws(StoreError) -> [CheckTarget] {
        try await checkTargets(pageIDs: pageIDs, shard: nil)
    }

    /// Every watched page (or only `pageIDs`), least recently checked first, tokens opened.
    /// Unknown or disconnected IDs in `pageIDs` are `StoreError.notFound`, naming them.
    public func checkTargets(pageIDs: [String]?, cipher: TokenCipher) async throws(StoreError) -> [CheckTarget] {
        var targets = try await checkTargets(pageIDs: pageIDs, shard: nil)
        for index in targets.indices {
            targets[index].token = try targets[index].openedToken(with: cipher)
            targets[index].sealedToken = nil
        }
        return targets
    }

    public func pages(status: PageStatus? = nil, company: String? = nil) async throws(StoreError) -> [PageRecord] {
        try await pages(status: status, company: company)
    }

    public func startRun(actor: String, configuredVersion: String, pagesTotal: Int, now: Date)
        async throws(StoreError) -> Int64
    {
        try await startRun(
            actor: actor, configuredVersion: configuredVersion, pagesTotal: pagesTotal, shard: nil, now: now)
    }

    public func claimNextDigest(
        sender: String, now: Date, leaseUntil: Date, ignoreBackoff: Bool, skipping: Set<String>
    ) async throws(StoreError) -> [OutboxItem]? {
        try await claimNextDigest(
            sender: sender, now: now, leaseUntil: leaseUntil, ignoreBackoff: ignoreBackoff, skipping: skipping,
            recoveryAlone: true)
    }

    @discardableResult
    public func markSent(_ items: [OutboxItem], sender: String, messageID: String, actor: String, now: Date)
        async throws(StoreError) -> Int
    {
        try await markSent(items, sender: sender, messageID: messageID, actor: actor, now: now, forwardedTo: nil)
    }
}

/// A held run lock.
public protocol RunLease: Sendable, CustomStringConvertible {
    /// Releases it now (the system releases it anyway when the process dies); a second call
    /// does nothing.
    func release()
}

/// What the runs of one wave changed.
public struct RunChanges: Sendable, Equatable {
    /// Page IDs that became invalid.
    public var newlyInvalid: [String] = []
    /// Page IDs that became valid again (a first successful check is not a change).
    public var becameValid: [String] = []

    public init(newlyInvalid: [String] = [], becameValid: [String] = []) {
        self.newlyInvalid = newlyInvalid
        self.becameValid = becameValid
    }
}

extension CheckTarget {
    /// Throws `StoreError.notFound` naming every ID in `pageIDs` that `targets` lacks (unknown
    /// or disconnected): what both stores' `checkTargets` answer for a page asked by ID.
    public static func requireAll(_ pageIDs: [String]?, in targets: [CheckTarget]) throws(StoreError) {
        guard let pageIDs else { return }
        let found = Set(targets.map(\.pageID))
        let missing = pageIDs.filter { !found.contains($0) }
        guard missing.isEmpty else {
            throw StoreError.notFound("not watched (unknown or disconnected): page \(missing.joined(separator: ", "))")
        }
    }
}
