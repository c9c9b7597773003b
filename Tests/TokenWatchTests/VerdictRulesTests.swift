import Foundation
import Testing

@testable import TokenWatchCheck
@testable import TokenWatchGraph
@testable import TokenWatchModel

@Suite("Verdict rules")
struct VerdictRulesTests {
    let rules = VerdictRules(appID: "1234567890", requiredScopes: ["pages_messaging", "pages_manage_metadata"])
    let now = Date(timeIntervalSince1970: 1_790_000_000)
    let page = "104000000000001"

    func healthy() -> TokenInfo {
        TokenInfo(
            isValid: true, type: "PAGE", appID: "1234567890", profileID: page, userID: "5550001",
            scopes: ["pages_show_list", "pages_messaging", "pages_manage_metadata"])
    }

    func invalid(code: Int, subcode: Int?) -> TokenInfo {
        TokenInfo(
            isValid: false, type: "PAGE", appID: "1234567890", scopes: [],
            error: GraphError(code: code, subcode: subcode, message: "whatever the text says"))
    }

    @Test func healthyPageTokenIsValid() {
        #expect(rules.decide(.info(healthy()), pageID: page, now: now) == .decided(.valid(healthy().facts)))
    }

    @Test(arguments: [
        (458, InvalidReason.appRemoved), (459, .securityCheckpoint), (460, .passwordChanged), (463, .expired),
        (464, .unconfirmedAccount), (466, .revoked), (467, .loggedOut), (492, .pageRoleRemoved),
    ])
    func subcodesInsideDebugTokenNameTheReason(subcode: Int, reason: InvalidReason) {
        let info = invalid(code: 190, subcode: subcode)
        #expect(
            rules.decide(.info(info), pageID: page, now: now)
                == .decided(.invalid(reason, facts: info.facts, error: info.error?.reference)))
    }

    @Test func missingSubcodeIsTheGenericReasonWhateverTheMessage() {
        var info = invalid(code: 190, subcode: nil)
        info.error?.message = "Error validating access token: The user has changed their password"
        #expect(
            rules.decide(.info(info), pageID: page, now: now)
                == .decided(.invalid(.tokenInvalid, facts: info.facts, error: info.error?.reference)))
    }

    @Test func garbageTokenWithoutTypeIsInvalid() {
        let info = TokenInfo(isValid: false, error: GraphError(code: 190, message: "Cannot parse access token"))
        guard case .decided(.invalid(.tokenInvalid, _, _)) = rules.decide(.info(info), pageID: page, now: now) else {
            Issue.record("garbage token not invalid")
            return
        }
    }

    @Test func userTokenStoredAsPageTokenIsNotAPageToken() {
        var info = healthy()
        info.type = "USER"
        info.profileID = nil
        #expect(
            rules.decide(.info(info), pageID: page, now: now)
                == .decided(.invalid(.notAPageToken(type: "USER"), facts: info.facts, error: nil)))
    }

    @Test func tokenOfAnotherPageOrAppIsInvalid() {
        var other = healthy()
        other.profileID = "999"
        #expect(
            rules.decide(.info(other), pageID: page, now: now)
                == .decided(.invalid(.otherPage(profileID: "999"), facts: other.facts, error: nil)))
        var app = healthy()
        app.appID = "42"
        #expect(
            rules.decide(.info(app), pageID: page, now: now)
                == .decided(.invalid(.otherApp(appID: "42"), facts: app.facts, error: nil)))
    }

    @Test func missingRequiredPermissionsAreNamed() {
        var info = healthy()
        info.scopes = ["pages_show_list", "pages_manage_metadata"]
        #expect(
            rules.decide(.info(info), pageID: page, now: now)
                == .decided(.invalid(.missingPermissions(["pages_messaging"]), facts: info.facts, error: nil)))
    }

    @Test func permissionGrantedOnlyForOtherPagesIsMissingForThisOne() {
        var info = healthy()
        info.granularScopes = [GranularScope(scope: "pages_messaging", targetIDs: ["555"])]
        #expect(rules.missingScopes(info, pageID: page) == ["pages_messaging"])
        info.granularScopes = [GranularScope(scope: "pages_messaging", targetIDs: ["555", page])]
        #expect(rules.missingScopes(info, pageID: page).isEmpty)
    }

    @Test func pastDataAccessExpiryAloneDoesNotInvalidate() {
        var info = healthy()
        info.dataAccessExpiresAt = now.addingTimeInterval(-86_400)
        #expect(rules.decide(.info(info), pageID: page, now: now) == .decided(.valid(info.facts)))
    }

    @Test func pastHardExpiryIsExpired() {
        var info = healthy()
        info.expiresAt = now.addingTimeInterval(-1)
        #expect(
            rules.decide(.info(info), pageID: page, now: now)
                == .decided(.invalid(.expired, facts: info.facts, error: nil)))
    }

    @Test func transientAndUndecidedAnswersAreRetriedNotInvalid() {
        let transient = GraphError(code: 2, message: "temporary", isTransient: true)
        #expect(
            rules.decide(.graphError(transient, httpStatus: 401), pageID: page, now: now)
                == .retry("transient Graph error code 2", error: transient.reference))
        let one = GraphError(code: 1, message: "unknown")
        guard case .retry = rules.decide(.graphError(one, httpStatus: 500), pageID: page, now: now) else {
            Issue.record("code 1 not retried")
            return
        }
        guard case .retry = rules.decide(.undecided("null item"), pageID: page, now: now) else {
            Issue.record("null item not retried")
            return
        }
    }

    @Test(arguments: [4, 17, 32, 613, 80_000, 80_001, 80_006, 80_014, 341, 368])
    func rateLimitCodesStopSending(code: Int) {
        let error = GraphError(code: code, message: "limit")
        #expect(rules.decide(.graphError(error, httpStatus: 400), pageID: page, now: now) == .stop(error))
    }

    @Test func itemErrorsAboutTheTokenAreInvalidOthersUnknown() {
        let permission = GraphError(code: 200, message: "(#200) The user hasn't authorized the application")
        #expect(
            rules.decide(.graphError(permission, httpStatus: 403), pageID: page, now: now)
                == .decided(.invalid(.permissionError, facts: nil, error: permission.reference)))
        let session = GraphError(code: 102, message: "Session key invalid")
        #expect(
            rules.decide(.graphError(session, httpStatus: 400), pageID: page, now: now)
                == .decided(.invalid(.sessionEnded, facts: nil, error: session.reference)))
        let odd = GraphError(code: 803, message: "Some of the aliases you requested do not exist")
        guard
            case .decided(.unknown(_, let error)) = rules.decide(
                .graphError(odd, httpStatus: 404), pageID: page, now: now)
        else {
            Issue.record("unexpected code not unknown")
            return
        }
        #expect(error == odd.reference)
    }

    @Test func ownCredentialErrorsAreConfiguration() {
        for code in [190, 101, 104, 100] { #expect(VerdictRules.isOwnConfigurationError(GraphError(code: code))) }
        #expect(!VerdictRules.isOwnConfigurationError(GraphError(code: 1)))
    }

    @Test func backoffGrowsIsCappedAndJittered() {
        let policy = RetryPolicy(maxAttempts: 5, baseDelay: .seconds(1), maxDelay: .seconds(4))
        #expect(policy.delay(beforeAttempt: 1) == .zero)
        #expect(policy.delay(beforeAttempt: 2, random: 1) == .seconds(1))
        #expect(policy.delay(beforeAttempt: 3, random: 1) == .seconds(2))
        #expect(policy.delay(beforeAttempt: 5, random: 1) == .seconds(4))
        #expect(policy.delay(beforeAttempt: 3, random: 0) == .seconds(1))
    }
}
