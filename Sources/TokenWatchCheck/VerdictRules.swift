import Foundation
import TokenWatchGraph
import TokenWatchModel

/// What to do with one token's answer: a verdict, another try, or stop sending.
public enum ItemDecision: Sendable, Equatable {
    case decided(Verdict)
    /// Worth another try later (transient, null item, malformed body).
    case retry(String, error: GraphErrorCode?)
    /// Graph asked us to stop sending (rate limit, app blocked).
    case stop(GraphError)
}

/// The verdict rules, in one place (SPEC.md "What check does", step 4). Decided by code,
/// subcode and `debug_token` fields — never by the text of a message: Meta rewords messages,
/// and a client keyed on text misses revoked permissions or raises false alarms.
public struct VerdictRules: Sendable {
    /// Our app's ID: a token of another app is never valid for us.
    public var appID: String
    /// Permissions a page needs to count as valid.
    public var requiredScopes: [String]

    public init(appID: String, requiredScopes: [String]) {
        self.appID = appID
        self.requiredScopes = requiredScopes
    }

    /// Decides one page from its `debug_token` outcome.
    public func decide(_ outcome: DebugTokenOutcome, pageID: String, now: Date) -> ItemDecision {
        switch outcome {
        case .undecided(let what):
            return .retry(what, error: nil)
        case .graphError(let error, let status):
            return decide(itemError: error, httpStatus: status)
        case .info(let info):
            return decide(info, pageID: pageID, now: now)
        }
    }

    func decide(_ info: TokenInfo, pageID: String, now: Date) -> ItemDecision {
        guard info.isValid else {
            if let error = info.error {
                if error.isRateLimit || Self.blocksApp(error.code) { return .stop(error) }
                if Self.isTransient(error) {
                    return .retry("transient Graph error \(error.codeText)", error: error.reference)
                }
                return .decided(
                    .invalid(Self.reason(for: error) ?? .tokenInvalid, facts: info.facts, error: error.reference))
            }
            if let expiresAt = info.expiresAt, expiresAt <= now {
                return .decided(.invalid(.expired, facts: info.facts, error: nil))
            }
            return .decided(.invalid(.tokenInvalid, facts: info.facts, error: nil))
        }
        if info.type != "PAGE" {
            return .decided(.invalid(.notAPageToken(type: info.type ?? ""), facts: info.facts, error: nil))
        }
        if info.profileID != pageID {
            return .decided(.invalid(.otherPage(profileID: info.profileID ?? ""), facts: info.facts, error: nil))
        }
        if info.appID != appID {
            return .decided(.invalid(.otherApp(appID: info.appID ?? ""), facts: info.facts, error: nil))
        }
        if let expiresAt = info.expiresAt, expiresAt <= now {
            return .decided(.invalid(.expired, facts: info.facts, error: nil))
        }
        let missing = missingScopes(info, pageID: pageID)
        if !missing.isEmpty {
            return .decided(.invalid(.missingPermissions(missing), facts: info.facts, error: nil))
        }
        // A past data_access_expires_at alone never makes a Page token invalid (GRAPH_API.md).
        return .decided(.valid(info.facts))
    }

    /// Required scopes the token lacks for this page: not granted at all, or granted only
    /// for other Pages (`granular_scopes[].target_ids`).
    public func missingScopes(_ info: TokenInfo, pageID: String) -> [String] {
        requiredScopes.filter { scope in
            guard info.scopes.contains(scope) else { return true }
            guard let granular = info.granularScopes.first(where: { $0.scope == scope }),
                let targets = granular.targetIDs
            else { return false }
            return !targets.contains(pageID)
        }
    }

    func decide(itemError error: GraphError, httpStatus: Int) -> ItemDecision {
        // The body's code decides, never the HTTP status: code 2 has come with HTTP 401.
        if error.isRateLimit || Self.blocksApp(error.code) { return .stop(error) }
        if Self.isTransient(error) { return .retry("transient Graph error \(error.codeText)", error: error.reference) }
        if let reason = Self.reason(for: error) {
            return .decided(.invalid(reason, facts: nil, error: error.reference))
        }
        return .decided(.unknown("Graph error \(error.codeText) (HTTP \(httpStatus))", error: error.reference))
    }

    /// The invalid reason for an error about the inspected token, or nil when the error
    /// says nothing about the token.
    static func reason(for error: GraphError) -> InvalidReason? {
        switch error.code {
        case 190:
            switch error.subcode {
            case 458: return .appRemoved
            case 459: return .securityCheckpoint
            case 460: return .passwordChanged
            case 463: return .expired
            case 464: return .unconfirmedAccount
            case 466: return .revoked
            case 467: return .loggedOut
            case 492: return .pageRoleRemoved
            // Subcodes are often missing: then the generic reason, never a guess from the text.
            default: return .tokenInvalid
            }
        case 102: return .sessionEnded
        case 10, 200...299: return .permissionError
        default: return nil
        }
    }

    static func isTransient(_ error: GraphError) -> Bool {
        error.isTransient || error.code == 1 || error.code == 2
    }

    /// 341 (application limit reached) and 368 (temporarily blocked): stop sending.
    static func blocksApp(_ code: Int) -> Bool { code == 341 || code == 368 }

    /// Whole-request errors that mean our own credentials or request were rejected:
    /// a configuration error, not the pages' fault.
    public static func isOwnConfigurationError(_ error: GraphError) -> Bool {
        [190, 101, 104, 100].contains(error.code)
    }
}
