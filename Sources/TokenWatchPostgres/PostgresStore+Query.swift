import Foundation
import Logging
import PostgresNIO
import TokenWatchModel

/// A statement whose SQL is assembled from fixed fragments and whose every value is a bind
/// (`$1`, `$2`, …): for the few queries with optional conditions. Values never enter the SQL.
struct QueryBuilder {
    private(set) var sql: String
    private(set) var binds = PostgresBindings()

    init(_ sql: String) { self.sql = sql }

    /// Appends a fixed fragment of SQL.
    mutating func append(_ fragment: String) { sql += fragment }

    /// Binds `value` and returns its placeholder.
    mutating func bind<Value: PostgresDynamicTypeEncodable>(_ value: Value) -> String {
        binds.append(value)
        return "$\(binds.count)"
    }

    var query: PostgresQuery { PostgresQuery(unsafeSQL: sql, binds: binds) }
}

extension PostgresConnection {
    /// Runs `query` and returns every row.
    func rows(_ query: PostgresQuery, _ logger: Logger) async throws -> [PostgresRow] {
        try await self.query(query, logger: logger).collect()
    }

    /// Runs a statement to its end.
    func run(_ query: PostgresQuery, _ logger: Logger) async throws {
        _ = try await self.query(query, logger: logger).collect()
    }

    /// The first column of the first row, or nil when there is no row (or it is NULL).
    func value<T: PostgresDecodable>(_ type: T.Type, _ query: PostgresQuery, _ logger: Logger) async throws -> T?
    where T == T._DecodableType {
        guard let row = try await rows(query, logger).first else { return nil }
        return try row.decode(T?.self)
    }
}

extension PostgresStore {
    static func splitScopes(_ text: String?) -> [String] {
        (text ?? "").split(separator: " ").map(String.init)
    }

    static func joinScopes(_ scopes: [String]) -> String {
        scopes.joined(separator: " ")
    }

    /// `Shard.hash(pageID)` as the bit pattern a BIGINT column holds.
    static func shardHash(_ pageID: String) -> Int64 {
        Int64(bitPattern: Shard.hash(pageID))
    }

    /// The SQL condition "`page` belongs to `shard`": the stored bit pattern read back as the
    /// unsigned 64-bit hash (adding 2^64 to a negative one), then `hash % count == index`,
    /// exactly `Shard.contains`.
    static func shardCondition(_ shard: Shard, into builder: inout QueryBuilder) {
        let count = builder.bind(shard.count)
        let index = builder.bind(shard.index)
        builder.append(
            """
             AND ((page.shard_hash::numeric + 18446744073709551616) % 18446744073709551616) % \(count)::numeric
                 = \(index)::numeric
            """)
    }

    /// Appends one page log entry.
    static func appendEvent(
        _ connection: PostgresConnection, pageRef: Int64, kind: PageEventKind, actor: String, detail: String?,
        at: Date, runID: Int64? = nil, logger: Logger
    ) async throws {
        try await connection.run(
            """
            INSERT INTO page_event (page_ref, at, kind, actor, detail, run_id)
            VALUES (\(pageRef), \(at), \(kind.rawValue), \(actor), \(detail), \(runID))
            """, logger)
    }

    /// A company's Owner addresses, in SQLite's `NOCASE` order.
    static func ownerEmails(_ connection: PostgresConnection, companyID: Int64, logger: Logger) async throws
        -> [String]
    {
        var emails: [String] = []
        for try await email in try await connection.query(
            "SELECT email FROM owner WHERE company_id = \(companyID) ORDER BY lower(email), email", logger: logger
        ).decode(String.self) {
            emails.append(email)
        }
        return emails
    }

    /// The company's ID, created when `create` and missing.
    static func companyID(
        _ connection: PostgresConnection, name: String, create: Bool, now: Date, logger: Logger
    ) async throws -> Int64? {
        if let id = try await connection.value(Int64.self, "SELECT id FROM company WHERE name = \(name)", logger) {
            return id
        }
        guard create else { return nil }
        return try await connection.value(
            Int64.self,
            """
            INSERT INTO company (name, created_at) VALUES (\(name), \(now))
            ON CONFLICT (name) DO UPDATE SET name = excluded.name RETURNING id
            """, logger)
    }
}
