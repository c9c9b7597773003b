/// Why a page's token is invalid. Decided from Graph's error code and subcode and from the
/// `debug_token` fields — never from the text of a message (see GRAPH_API.md).
public enum InvalidReason: Sendable, Hashable {
    /// 190/458: the person removed the app.
    case appRemoved
    /// 190/459: the account hit a security checkpoint.
    case securityCheckpoint
    /// 190/460: the admin changed their password (or Meta reset the session for security).
    case passwordChanged
    /// 190/463, or a non-zero `expires_at` in the past.
    case expired
    /// 190/464: the person has not confirmed their account.
    case unconfirmedAccount
    /// 190/466: the session was revoked explicitly.
    case revoked
    /// 190/467: the admin logged out or the session ended.
    case loggedOut
    /// 190/492: the admin lost their role on the Page, or deselected it in a new login.
    case pageRoleRemoved
    /// 102: the session key is no longer valid.
    case sessionEnded
    /// 190 (or `is_valid` false) without a subcode we can name.
    case tokenInvalid
    /// Item error 10 or 200–299: a permission was not granted or was removed.
    case permissionError
    /// The token is valid but lacks these required permissions.
    case missingPermissions([String])
    /// The stored token is not a Page token (`type` is USER, APP, …).
    case notAPageToken(type: String)
    /// The token acts for another Page.
    case otherPage(profileID: String)
    /// The token belongs to another app.
    case otherApp(appID: String)

    /// Stable identifier stored in the database and written to JSON.
    public var code: String {
        switch self {
        case .appRemoved: "app_removed"
        case .securityCheckpoint: "security_checkpoint"
        case .passwordChanged: "password_changed"
        case .expired: "expired"
        case .unconfirmedAccount: "unconfirmed_account"
        case .revoked: "revoked"
        case .loggedOut: "logged_out"
        case .pageRoleRemoved: "page_role_removed"
        case .sessionEnded: "session_ended"
        case .tokenInvalid: "token_invalid"
        case .permissionError: "permission_error"
        case .missingPermissions: "missing_permissions"
        case .notAPageToken: "not_a_page_token"
        case .otherPage: "other_page"
        case .otherApp: "other_app"
        }
    }

    /// The value that goes with `code` in storage (permissions, type or ID), if any.
    public var detail: String? {
        switch self {
        case .missingPermissions(let scopes): scopes.joined(separator: ",")
        case .notAPageToken(let type): type
        case .otherPage(let id): id
        case .otherApp(let id): id
        default: nil
        }
    }

    /// Rebuilds a reason from its stored `code` and `detail`; nil for a code this version
    /// does not know.
    public init?(code: String, detail: String?) {
        switch code {
        case "app_removed": self = .appRemoved
        case "security_checkpoint": self = .securityCheckpoint
        case "password_changed": self = .passwordChanged
        case "expired": self = .expired
        case "unconfirmed_account": self = .unconfirmedAccount
        case "revoked": self = .revoked
        case "logged_out": self = .loggedOut
        case "page_role_removed": self = .pageRoleRemoved
        case "session_ended": self = .sessionEnded
        case "token_invalid": self = .tokenInvalid
        case "permission_error": self = .permissionError
        case "missing_permissions":
            self = .missingPermissions((detail ?? "").split(separator: ",").map(String.init))
        case "not_a_page_token": self = .notAPageToken(type: detail ?? "")
        case "other_page": self = .otherPage(profileID: detail ?? "")
        case "other_app": self = .otherApp(appID: detail ?? "")
        default: return nil
        }
    }

    /// One plain-language sentence for reports and Owner emails.
    public var sentence: String {
        switch self {
        case .appRemoved:
            "The page admin removed the app from their Facebook account."
        case .securityCheckpoint:
            "Facebook locked the page admin's account at a security checkpoint; they must log in on facebook.com."
        case .passwordChanged:
            "The page admin changed their Facebook password, or Facebook reset their session for security."
        case .expired:
            "The access token expired."
        case .unconfirmedAccount:
            "The page admin's Facebook account is not confirmed."
        case .revoked:
            "The access was revoked."
        case .loggedOut:
            "The page admin logged out of Facebook, which ended the session."
        case .pageRoleRemoved:
            "The page was deselected in a new Facebook login, or the admin lost their role on the page."
        case .sessionEnded:
            "The Facebook session behind the token ended."
        case .tokenInvalid:
            "Facebook no longer accepts the token."
        case .permissionError:
            "A permission the page needs was not granted or was removed."
        case .missingPermissions(let scopes):
            "The token lacks required permissions: \(scopes.joined(separator: ", "))."
        case .notAPageToken(let type):
            "The stored token is not a Page token (it is a \(type.isEmpty ? "different kind of" : type) token)."
        case .otherPage:
            "The stored token belongs to a different Facebook Page."
        case .otherApp:
            "The stored token belongs to a different Facebook app."
        }
    }
}
