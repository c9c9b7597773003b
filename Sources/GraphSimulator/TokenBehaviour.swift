/// How the simulated Graph API answers `debug_token` for one input token.
///
/// Each case produces the JSON of GRAPH_API.md, including the ways live answers differ from
/// Meta's documentation. A token gets a behaviour either by `GraphSimulator.register(token:as:page:)`
/// or by its name (`simtok_<name>_<pageid>_<anything>`, see `conventionName`). Any other token
/// is answered like a token Graph cannot parse (`.garbage`).
public enum TokenBehaviour: Sendable, Hashable {
    /// A healthy Page token: type PAGE, `profile_id` the page, our `app_id`, scopes
    /// pages_show_list, pages_messaging, pages_manage_metadata, `expires_at` 0,
    /// `data_access_expires_at` about 90 days ahead.
    case valid
    /// `is_valid` false, `data.error` 190/460 — with `expires_at` 0 and the full scope list
    /// still present, as seen live.
    case passwordChanged
    /// `is_valid` false, 190/463, a non-zero `expires_at` in the past.
    case expired
    /// `is_valid` false, 190/458: the person removed the app.
    case appRemoved
    /// `is_valid` false, 190/459: security checkpoint.
    case checkpoint
    /// `is_valid` false, 190/464: unconfirmed account.
    case unconfirmedUser
    /// `is_valid` false, 190/466: session invalidated by an API call.
    case revoked
    /// `is_valid` false, 190/467: logged out.
    case loggedOut
    /// `is_valid` false, 190/492: the person lacks a role on the Page (deselected).
    case roleRemoved
    /// `is_valid` false, plain code 190 without a subcode (the message talks about a password
    /// change: a client must not guess the reason from it).
    case invalidWithoutSubcode
    /// `is_valid` false, plain 190 with the misleading "Cannot get application info due to a
    /// system error" message: permanently invalid, not transient.
    case systemErrorMessage
    /// HTTP 200 `{"data":{"error":{"code":190,…},"is_valid":false,"scopes":[]}}` with no
    /// `type`, `app_id` or `user_id`. Unknown tokens are answered this way too.
    case garbage
    /// The same unparsable token answered as a non-200 item carrying the error envelope
    /// (code 190, HTTP 400).
    case garbageAsItemError
    /// Valid, but `profile_id` is another Page.
    case otherPage
    /// Valid Page token of another app (`app_id` differs).
    case otherApp
    /// A valid USER token (no `profile_id`).
    case userToken
    /// A valid Page token without pages_messaging.
    case missingPermissions
    /// A valid Page token holding exactly these scopes.
    case scopes([String])
    /// Valid; `data_access_expires_at` a few days ahead.
    case dataAccessExpiringSoon
    /// Valid; `data_access_expires_at` already past (still `is_valid` true: a correct client
    /// reports it valid).
    case dataAccessExpired
    /// Valid; a non-zero `expires_at` a few days ahead (derived from a short-lived user token).
    /// Carries the undocumented `metadata` key.
    case expiringSoon
    /// The first `failures` debug attempts for this token answer the item with HTTP 500 and
    /// `{"error":{"code":2,"is_transient":true,…}}`; later attempts answer `.valid`.
    case flaky(failures: Int)
    /// A non-200 item (HTTP 403) with code 200 "(#200) The user hasn't authorized the
    /// application to perform this action".
    case permissionError
    /// A non-200 item carrying Graph's error envelope with this code and `error_subcode`.
    /// The HTTP status is the one Graph commonly pairs with the code (400 for 190, 403 for
    /// 4/10/200–299, 500 for 1/2, 400 otherwise).
    case itemError(code: Int, subcode: Int?)
}

extension TokenBehaviour {
    /// The `<name>` of the naming convention `simtok_<name>_<pageid>_<anything>`, or nil for
    /// `.scopes`, which has no name.
    ///
    /// valid, password-changed, expired, app-removed, checkpoint, unconfirmed, revoked,
    /// logged-out, role-removed, invalid, system-error, garbage, garbage-error, other-page,
    /// other-app, user, missing-messaging, data-access-soon, data-access-expired,
    /// expiring-soon, flaky-N (N failures first, `flaky` alone is 1), permission-error,
    /// item-CODE or item-CODE-SUBCODE.
    public var conventionName: String? {
        switch self {
        case .valid: "valid"
        case .passwordChanged: "password-changed"
        case .expired: "expired"
        case .appRemoved: "app-removed"
        case .checkpoint: "checkpoint"
        case .unconfirmedUser: "unconfirmed"
        case .revoked: "revoked"
        case .loggedOut: "logged-out"
        case .roleRemoved: "role-removed"
        case .invalidWithoutSubcode: "invalid"
        case .systemErrorMessage: "system-error"
        case .garbage: "garbage"
        case .garbageAsItemError: "garbage-error"
        case .otherPage: "other-page"
        case .otherApp: "other-app"
        case .userToken: "user"
        case .missingPermissions: "missing-messaging"
        case .scopes: nil
        case .dataAccessExpiringSoon: "data-access-soon"
        case .dataAccessExpired: "data-access-expired"
        case .expiringSoon: "expiring-soon"
        case .flaky(let failures): "flaky-\(failures)"
        case .permissionError: "permission-error"
        case .itemError(let code, let subcode): subcode.map { "item-\(code)-\($0)" } ?? "item-\(code)"
        }
    }

    /// The behaviour named `name` in the naming convention, or nil.
    public init?(conventionName name: some StringProtocol) {
        switch name {
        case "valid": self = .valid
        case "password-changed": self = .passwordChanged
        case "expired": self = .expired
        case "app-removed": self = .appRemoved
        case "checkpoint": self = .checkpoint
        case "unconfirmed": self = .unconfirmedUser
        case "revoked": self = .revoked
        case "logged-out": self = .loggedOut
        case "role-removed": self = .roleRemoved
        case "invalid": self = .invalidWithoutSubcode
        case "system-error": self = .systemErrorMessage
        case "garbage": self = .garbage
        case "garbage-error": self = .garbageAsItemError
        case "other-page": self = .otherPage
        case "other-app": self = .otherApp
        case "user": self = .userToken
        case "missing-messaging": self = .missingPermissions
        case "data-access-soon": self = .dataAccessExpiringSoon
        case "data-access-expired": self = .dataAccessExpired
        case "expiring-soon": self = .expiringSoon
        case "flaky": self = .flaky(failures: 1)
        case "permission-error": self = .permissionError
        default:
            let parts = name.split(separator: "-", omittingEmptySubsequences: false)
            if parts.count == 2, parts[0] == "flaky", let failures = Int(parts[1]), failures >= 0 {
                self = .flaky(failures: failures)
            } else if parts.count == 2, parts[0] == "item", let code = Int(parts[1]) {
                self = .itemError(code: code, subcode: nil)
            } else if parts.count == 3, parts[0] == "item", let code = Int(parts[1]),
                let subcode = Int(parts[2])
            {
                self = .itemError(code: code, subcode: subcode)
            } else {
                return nil
            }
        }
    }

    /// Every behaviour that has a convention name, once each (flaky with 2 failures,
    /// item errors 190/463 and 32): handy for table-driven tests and demos.
    public static let named: [TokenBehaviour] = [
        .valid, .passwordChanged, .expired, .appRemoved, .checkpoint, .unconfirmedUser, .revoked,
        .loggedOut, .roleRemoved, .invalidWithoutSubcode, .systemErrorMessage, .garbage,
        .garbageAsItemError, .otherPage, .otherApp, .userToken, .missingPermissions,
        .dataAccessExpiringSoon, .dataAccessExpired, .expiringSoon, .flaky(failures: 2),
        .permissionError, .itemError(code: 190, subcode: 463), .itemError(code: 32, subcode: nil),
    ]
}

/// The naming convention that spares registering 100,000 tokens.
enum TokenNamingConvention {
    static let prefix = "simtok_"

    /// `simtok_<behaviour>_<pageid>` or `simtok_<behaviour>_<pageid>_<anything>`; the page ID
    /// is digits. Nil when `token` does not follow the convention.
    static func parse(_ token: String) -> (behaviour: TokenBehaviour, pageID: String)? {
        guard token.hasPrefix(prefix) else { return nil }
        let parts = token.utf8.dropFirst(prefix.utf8.count)
            .split(separator: UInt8(ascii: "_"), maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count >= 2,
            let name = String(parts[0]),
            let behaviour = TokenBehaviour(conventionName: name),
            !parts[1].isEmpty,
            parts[1].allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }),
            let pageID = String(parts[1])
        else { return nil }
        return (behaviour, pageID)
    }
}
