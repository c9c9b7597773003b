import Foundation
import TokenWatchModel

/// The `data` of a `debug_token` answer, decoded. Unknown keys are ignored; every field Graph
/// may leave out is optional (a garbage token comes back with only `is_valid`, `scopes` and
/// `error`).
public struct TokenInfo: Sendable, Equatable, Hashable {
    public var isValid: Bool
    /// PAGE, USER, APP, SYSTEM_USER — nil when Graph left it out.
    public var type: String?
    public var appID: String?
    /// The Page the token acts for.
    public var profileID: String?
    public var userID: String?
    public var scopes: [String]
    public var granularScopes: [GranularScope]
    /// nil when `expires_at` is 0 or absent: the token never expires.
    public var expiresAt: Date?
    public var dataAccessExpiresAt: Date?
    public var issuedAt: Date?
    /// The error inside `data` for an invalid token (note: `subcode`, not `error_subcode`).
    public var error: GraphError?

    public init(
        isValid: Bool, type: String? = nil, appID: String? = nil, profileID: String? = nil,
        userID: String? = nil, scopes: [String] = [], granularScopes: [GranularScope] = [],
        expiresAt: Date? = nil, dataAccessExpiresAt: Date? = nil, issuedAt: Date? = nil,
        error: GraphError? = nil
    ) {
        self.isValid = isValid
        self.type = type
        self.appID = appID
        self.profileID = profileID
        self.userID = userID
        self.scopes = scopes
        self.granularScopes = granularScopes
        self.expiresAt = expiresAt
        self.dataAccessExpiresAt = dataAccessExpiresAt
        self.issuedAt = issuedAt
        self.error = error
    }
}

/// One entry of `granular_scopes`: a permission and, where listed, the Pages it covers.
public struct GranularScope: Sendable, Equatable, Hashable {
    public var scope: String
    public var targetIDs: [String]?

    public init(scope: String, targetIDs: [String]? = nil) {
        self.scope = scope
        self.targetIDs = targetIDs
    }
}

extension TokenInfo {
    /// The facts a verdict keeps: permissions and expiry times.
    public var facts: TokenFacts {
        TokenFacts(scopes: scopes, expiresAt: expiresAt, dataAccessExpiresAt: dataAccessExpiresAt)
    }
}
