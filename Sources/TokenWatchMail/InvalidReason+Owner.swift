import TokenWatchModel

extension InvalidReason {
    /// True for the causes only the platform can fix (its app, its stored token), not the
    /// Owner by logging in again: another app's token, not a Page token, a permission the
    /// app itself lacks.
    public var isPlatformSide: Bool {
        switch self {
        case .otherApp, .notAPageToken, .permissionError: true
        default: false
        }
    }

    /// One plain sentence for an Owner: what happened and what to do, in the dashboard's
    /// words (Generate New Token, Log in with Facebook, keep the Page selected).
    public func ownerAction(product: String) -> String {
        let login = "click Generate New Token and log in with Facebook again, keeping this Page selected."
        switch self {
        case .appRemoved:
            return "The Page admin removed \(product) from their Facebook account: \(login)"
        case .securityCheckpoint:
            return
                "Facebook locked the Page admin's account at a security checkpoint: the admin must log in on facebook.com and pass the check, then \(login)"
        case .passwordChanged:
            return "The Page admin changed their Facebook password (or Facebook reset their session): \(login)"
        case .expired:
            return "The connection expired: \(login)"
        case .unconfirmedAccount:
            return
                "The Page admin's Facebook account is not confirmed: the admin must confirm their account on facebook.com, then \(login)"
        case .revoked:
            return "The access was revoked on Facebook: \(login)"
        case .loggedOut:
            return "The Page admin logged out of Facebook, which ended the connection: \(login)"
        case .pageRoleRemoved:
            return
                "This Page was deselected in a newer Facebook login, or the admin lost their role on it: a Page admin must \(login)"
        case .sessionEnded, .tokenInvalid:
            return "Facebook no longer accepts the connection: \(login)"
        case .missingPermissions(let scopes):
            return
                "The connection lacks permissions the chatbot needs (\(scopes.joined(separator: ", "))): click Generate New Token, log in with Facebook again and accept every permission asked for."
        case .otherPage:
            return "The stored connection belongs to a different Page: \(login)"
        case .otherApp:
            return
                "The stored connection belongs to another Facebook app. Your platform's team is on it: nothing to do."
        case .notAPageToken:
            return "The stored connection is not a Page connection. Your platform's team is on it: nothing to do."
        case .permissionError:
            return "\(product) lacks a permission on Facebook's side. Your platform's team is on it: nothing to do."
        }
    }

    /// One sentence for the platform team (TOKENWATCH_OPS_EMAIL): the cause as stored.
    public var platformAction: String {
        switch self {
        case .otherApp(let appID):
            "The stored token belongs to another Facebook app (\(appID.isEmpty ? "unknown" : appID)): store a token of our app."
        case .notAPageToken(let type):
            "The stored token is not a Page token (type \(type.isEmpty ? "unknown" : type)): store the Page's own token."
        case .permissionError:
            "Graph refused a permission the app lacks (error 10 or 200–299): check the app's permissions and review."
        default:
            sentence
        }
    }
}
