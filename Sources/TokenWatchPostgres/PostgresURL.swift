import Foundation

/// A `postgres://user[:password]@host[:port]/database[?sslmode=…]` URL taken apart, as
/// `TOKENWATCH_DB` names the PostgreSQL store (`postgresql://` too).
///
/// The password, when the URL carries one, is kept apart from `location`, which is what every
/// message shows: the URL without it.
public struct PostgresURL: Sendable, Equatable {
    /// How the connection is secured, as libpq's `sslmode` names it.
    public enum SSLMode: String, Sendable, Equatable, CaseIterable {
        /// Never TLS.
        case disable
        /// TLS when the server offers it, plain otherwise (libpq's default, and ours).
        case prefer
        /// TLS or nothing, without verifying the server's certificate.
        case require
        /// TLS with the server's certificate verified and its name matched.
        case verifyFull = "verify-full"
    }

    public var user: String
    /// The password written in the URL, if any (`TOKENWATCH_DB_PASSWORD` takes precedence).
    public var password: String?
    public var host: String
    public var port: Int
    public var database: String
    public var sslMode: SSLMode

    /// The URL without its password: what messages show.
    public var location: String {
        let hostPart = host.contains(":") ? "[\(host)]" : host
        let userPart = user.addingPercentEncoding(withAllowedCharacters: .urlUserAllowed) ?? user
        let databasePart = database.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed) ?? database
        return "postgres://\(userPart)@\(hostPart):\(port)/\(databasePart)?sslmode=\(sslMode.rawValue)"
    }

    /// Whether `text` names a PostgreSQL store (rather than an SQLite file).
    public static func isPostgres(_ text: String) -> Bool {
        let lowered = text.lowercased()
        return lowered.hasPrefix("postgres://") || lowered.hasPrefix("postgresql://")
    }

    /// Why a URL was refused. Never contains the password.
    public struct Problem: Error, Sendable, Equatable, CustomStringConvertible {
        public var description: String
    }

    /// Parses `text`. The messages it throws show the URL without its password.
    public init(_ text: String) throws(Problem) {
        guard Self.isPostgres(text) else {
            throw Problem(description: "not a postgres:// or postgresql:// URL")
        }
        guard let components = URLComponents(string: text) else {
            throw Problem(description: "not a valid URL (percent-encode reserved characters in the user and password)")
        }
        guard let host = components.host, !host.isEmpty else { throw Problem(description: "the URL names no host") }
        guard let user = components.user, !user.isEmpty else {
            throw Problem(description: "the URL names no user (postgres://USER@HOST:PORT/DATABASE)")
        }
        let database = String(components.path.drop(while: { $0 == "/" }))
        guard !database.isEmpty, !database.contains("/") else {
            throw Problem(description: "the URL names no database (postgres://USER@HOST:PORT/DATABASE)")
        }
        var sslMode = SSLMode.prefer
        for item in components.queryItems ?? [] {
            switch item.name {
            case "sslmode":
                guard let value = item.value, let mode = SSLMode(rawValue: value) else {
                    throw Problem(
                        description:
                            "sslmode must be one of \(SSLMode.allCases.map(\.rawValue).joined(separator: ", "))"
                    )
                }
                sslMode = mode
            default:
                throw Problem(description: "unknown URL parameter \(item.name) (only sslmode is read)")
            }
        }
        self.user = user
        self.password = components.password
        self.host = host.hasPrefix("[") && host.hasSuffix("]") ? String(host.dropFirst().dropLast()) : host
        self.port = components.port ?? 5432
        self.database = database
        self.sslMode = sslMode
    }
}
