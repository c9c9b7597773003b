/// One item's answer: its HTTP status, its body, and — for an invalid token — the message
/// that goes into a `WWW-Authenticate` item header.
struct ItemAnswer {
    var status: Int
    var body: String
    var invalidTokenMessage: String?
}

/// What every answer of one request shares.
struct AnswerContext {
    var appID: String
    var appName: String
    /// The simulated tokens' issue time (fixed per simulator): every time in an answer derives
    /// from it, so the same token always reports the same `expires_at`.
    var now: Int
    var traceID: String
}

/// Builds `debug_token` answers and Graph's error envelopes, byte for byte in the formats of
/// GRAPH_API.md.
enum DebugTokenAnswers {
    static let userID = "5550001"
    static let otherAppID = "9990000000001"
    static let pageScopes = ["pages_show_list", "pages_messaging", "pages_manage_metadata"]
    static let day = 86_400

    /// The answer for `behaviour`, inspected as the token of `pageID`. `failNow` is true while
    /// a flaky token still has failures to serve.
    static func answer(
        for behaviour: TokenBehaviour, pageID: String, failNow: Bool, context: AnswerContext
    ) -> ItemAnswer {
        answer(
            for: behaviour, profilePage: profilePage(for: behaviour, pageID: pageID), failNow: failNow, context: context
        )
    }

    /// The Page ID that appears in the answer (as `profile_id` and in `target_ids`) for a token
    /// of `pageID`: the answer mentions no other Page ID, which lets `ItemTemplates` build it
    /// once around a placeholder.
    static func profilePage(for behaviour: TokenBehaviour, pageID: String) -> String {
        if case .otherPage = behaviour { return otherPageID(pageID) }
        return pageID
    }

    /// The answer for `behaviour`, with `pageID` already as `profilePage(for:pageID:)` gives it.
    static func answer(
        for behaviour: TokenBehaviour, profilePage pageID: String, failNow: Bool, context c: AnswerContext
    ) -> ItemAnswer {
        switch behaviour {
        case .valid:
            return ok(page(c, pageID: pageID))
        case .passwordChanged:
            // As seen live: expires_at 0, full scopes, is_valid false.
            return invalid(
                page(c, pageID: pageID, isValid: false, error: (190, 460, passwordChangedMessage)),
                passwordChangedMessage)
        case .expired:
            let message =
                "Error validating access token: Session has expired on \(graphDate(c.now - 2 * day)). The current time is \(graphDate(c.now))."
            return invalid(invalidated(c, expiresAt: c.now - 2 * day, error: (190, 463, message)), message)
        case .appRemoved:
            let message = "Error validating access token: The user has not authorized application \(c.appID)."
            return invalid(invalidated(c, error: (190, 458, message)), message)
        case .checkpoint:
            let message =
                "Error validating access token: You cannot access the app till you log in to www.facebook.com and follow the instructions given."
            return invalid(invalidated(c, error: (190, 459, message)), message)
        case .unconfirmedUser:
            let message =
                "Error validating access token: Sessions for the user are not allowed because the user is not a confirmed user."
            return invalid(invalidated(c, error: (190, 464, message)), message)
        case .revoked:
            let message = "Error validating access token: The session was invalidated explicitly using an API call."
            return invalid(invalidated(c, error: (190, 466, message)), message)
        case .loggedOut:
            let message = "Error validating access token: The session is invalid because the user logged out."
            return invalid(invalidated(c, error: (190, 467, message)), message)
        case .roleRemoved:
            let message =
                "Error validating access token: The session is invalid because the user no longer has a role on the Page."
            return invalid(invalidated(c, error: (190, 492, message)), message)
        case .invalidWithoutSubcode:
            // The text names a password change, but there is no subcode: the reason is generic.
            return invalid(invalidated(c, error: (190, nil, passwordChangedMessage)), passwordChangedMessage)
        case .systemErrorMessage:
            let message = "Cannot get application info due to a system error"
            return invalid(bare(code: 190, message: message), message)
        case .garbage:
            return invalid(bare(code: 190, message: cannotParseMessage), cannotParseMessage)
        case .garbageAsItemError:
            return ItemAnswer(
                status: 400, body: envelope(message: cannotParseMessage, code: 190, traceID: c.traceID),
                invalidTokenMessage: cannotParseMessage)
        case .otherPage:
            return ok(page(c, pageID: pageID))
        case .otherApp:
            var foreign = c
            foreign.appID = otherAppID
            foreign.appName = "Someone Else's App"
            return ok(page(foreign, pageID: pageID))
        case .userToken:
            return ok(user(c, pageID: pageID))
        case .missingPermissions:
            return ok(page(c, pageID: pageID, scopes: ["pages_show_list", "pages_manage_metadata"]))
        case .scopes(let scopes):
            return ok(page(c, pageID: pageID, scopes: scopes))
        case .dataAccessExpiringSoon:
            return ok(page(c, pageID: pageID, dataAccessExpiresAt: c.now + 3 * day))
        case .dataAccessExpired:
            return ok(page(c, pageID: pageID, dataAccessExpiresAt: c.now - 5 * day))
        case .expiringSoon:
            return ok(
                page(c, pageID: pageID, expiresAt: c.now + 4 * day, extra: #""metadata":{"auth_type":"rerequest"}"#))
        case .flaky:
            guard failNow else { return ok(page(c, pageID: pageID)) }
            return itemError(code: 2, subcode: nil, traceID: c.traceID)
        case .permissionError:
            return ItemAnswer(
                status: 403,
                body: envelope(
                    message: "(#200) The user hasn't authorized the application to perform this action",
                    code: 200, traceID: c.traceID),
                invalidTokenMessage: nil)
        case .itemError(let code, let subcode):
            return itemError(code: code, subcode: subcode, traceID: c.traceID)
        }
    }

    /// An item that quotes its input token back, as Graph's messages do: a transient code 2
    /// (HTTP 500), or an invalid token's `data.error` 190 "Malformed access token …" (HTTP 200).
    static func echoing(_ echo: RequestPlan.ItemEcho, token: String, traceID: String) -> ItemAnswer {
        switch echo {
        case .transient:
            return ItemAnswer(
                status: 500,
                body: envelope(
                    message:
                        "An unexpected error has occurred while processing input_token \(token). Please retry your request later.",
                    code: 2, isTransient: true, traceID: traceID),
                invalidTokenMessage: nil)
        case .invalid:
            let message = "Malformed access token \(token)"
            return invalid(bare(code: 190, message: message), message)
        }
    }

    // MARK: Error envelopes

    /// `{"error":{"message":…,"type":…,"code":…,"error_subcode":…,"is_transient":…,"fbtrace_id":…}}`
    static func envelope(
        message: String, type: String = "OAuthException", code: Int, subcode: Int? = nil,
        isTransient: Bool? = nil, traceID: String
    ) -> String {
        var out = #"{"error":{"message":"#
        JSONText.appendQuoted(message, to: &out)
        out.append(#","type":"#)
        JSONText.appendQuoted(type, to: &out)
        out.append(#","code":\#(code)"#)
        if let subcode { out.append(#","error_subcode":\#(subcode)"#) }
        if let isTransient { out.append(#","is_transient":\#(isTransient)"#) }
        out.append(#","fbtrace_id":"#)
        JSONText.appendQuoted(traceID, to: &out)
        out.append("}}")
        return out
    }

    /// A non-200 item for `code`, with the HTTP status Graph commonly pairs with it.
    static func itemError(code: Int, subcode: Int?, traceID: String) -> ItemAnswer {
        let message = message(forCode: code, subcode: subcode)
        let transient: Bool? = [1, 2, 4, 17].contains(code) ? true : (code == 190 ? false : nil)
        return ItemAnswer(
            status: httpStatus(forCode: code),
            body: envelope(message: message, code: code, subcode: subcode, isTransient: transient, traceID: traceID),
            invalidTokenMessage: code == 190 || code == 102 ? message : nil)
    }

    static func httpStatus(forCode code: Int) -> Int {
        switch code {
        case 1, 2: 500
        case 4, 10, 17, 200...299: 403
        default: 400
        }
    }

    static func message(forCode code: Int, subcode: Int?) -> String {
        switch (code, subcode) {
        case (190, 458?): "Error validating access token: The user has not authorized application."
        case (190, 459?):
            "Error validating access token: You cannot access the app till you log in to www.facebook.com and follow the instructions given."
        case (190, 460?): passwordChangedMessage
        case (190, 463?): "Error validating access token: Session has expired."
        case (190, 464?):
            "Error validating access token: Sessions for the user are not allowed because the user is not a confirmed user."
        case (190, 466?): "Error validating access token: The session was invalidated explicitly using an API call."
        case (190, 467?): "Error validating access token: The session is invalid because the user logged out."
        case (190, 492?):
            "Error validating access token: The session is invalid because the user no longer has a role on the Page."
        case (190, _): "Invalid OAuth access token - Cannot parse access token"
        case (1, _): "An unknown error occurred"
        case (2, _): "An unexpected error has occurred. Please retry your request later."
        case (4, _): "(#4) Application request limit reached"
        case (10, _): "(#10) Application does not have permission for this action"
        case (17, _): "(#17) User request limit reached"
        case (32, _): "(#32) Page request limit reached"
        case (102, _): "Session key invalid or no longer valid"
        case (613, _): "(#613) Calls to this api have exceeded the rate limit."
        case (80001, _): "(#80001) There have been too many calls to this Page account. Wait a bit and try again."
        case (80006, _):
            "(#80006) There have been too many messenger api calls to this Page account. Wait a bit and try again."
        case (200...299, _): "(#\(code)) Permissions error"
        default: "(#\(code)) An error occurred while processing this request"
        }
    }

    static let cannotParseMessage = "Invalid OAuth access token - Cannot parse access token"
    static let passwordChangedMessage =
        "Error validating access token: The session has been invalidated because the user changed their password or Facebook has changed the session for security reasons."

    // MARK: debug_token data

    private static func ok(_ body: String) -> ItemAnswer {
        ItemAnswer(status: 200, body: body, invalidTokenMessage: nil)
    }

    private static func invalid(_ body: String, _ message: String) -> ItemAnswer {
        ItemAnswer(status: 200, body: body, invalidTokenMessage: message)
    }

    /// A Page token's `data`, healthy unless told otherwise.
    private static func page(
        _ c: AnswerContext, pageID: String, isValid: Bool = true, scopes: [String] = pageScopes,
        expiresAt: Int = 0, dataAccessExpiresAt: Int? = nil, error: (Int, Int?, String)? = nil,
        extra: String? = nil
    ) -> String {
        var out = #"{"data":{"app_id":"#
        out.reserveCapacity(640)
        JSONText.appendQuoted(c.appID, to: &out)
        out.append(#","type":"PAGE","application":"#)
        JSONText.appendQuoted(c.appName, to: &out)
        out.append(#","data_access_expires_at":\#(dataAccessExpiresAt ?? (c.now + 89 * day))"#)
        if let error { appendDataError(error, to: &out) }
        out.append(#","expires_at":\#(expiresAt),"is_valid":\#(isValid),"issued_at":\#(c.now - 30 * day)"#)
        if let extra {
            out.append(",")
            out.append(extra)
        }
        out.append(#","profile_id":"#)
        JSONText.appendQuoted(pageID, to: &out)
        out.append(#","scopes":"#)
        out.append(JSONText.stringArray(scopes))
        out.append(#","granular_scopes":"#)
        appendGranularScopes(scopes, pageID: pageID, to: &out)
        out.append(#","user_id":"\#(userID)"}}"#)
        return out
    }

    /// The documented shape of an invalidated token: no profile, no scopes left.
    private static func invalidated(_ c: AnswerContext, expiresAt: Int = 0, error: (Int, Int?, String)) -> String {
        var out = #"{"data":{"app_id":"#
        JSONText.appendQuoted(c.appID, to: &out)
        out.append(#","type":"PAGE","application":"#)
        JSONText.appendQuoted(c.appName, to: &out)
        appendDataError(error, to: &out)
        out.append(#","expires_at":\#(expiresAt),"is_valid":false,"scopes":[],"user_id":"\#(userID)"}}"#)
        return out
    }

    /// A token Graph cannot tie to an app: no type, app_id or user_id.
    private static func bare(code: Int, message: String) -> String {
        var out = #"{"data":{"error":{"code":\#(code),"message":"#
        JSONText.appendQuoted(message, to: &out)
        out.append(#"},"is_valid":false,"scopes":[]}}"#)
        return out
    }

    private static func user(_ c: AnswerContext, pageID: String) -> String {
        let scopes = pageScopes + ["public_profile"]
        var out = #"{"data":{"app_id":"#
        JSONText.appendQuoted(c.appID, to: &out)
        out.append(#","type":"USER","application":"#)
        JSONText.appendQuoted(c.appName, to: &out)
        out.append(#","data_access_expires_at":\#(c.now + 89 * day),"expires_at":\#(c.now + 59 * day)"#)
        out.append(#","is_valid":true,"issued_at":\#(c.now - day),"scopes":"#)
        out.append(JSONText.stringArray(scopes))
        out.append(#","granular_scopes":"#)
        appendGranularScopes(scopes, pageID: pageID, to: &out)
        out.append(#","user_id":"\#(userID)"}}"#)
        return out
    }

    /// `"error":{"code":190,"message":…,"subcode":460}` — `subcode` here, not `error_subcode`.
    private static func appendDataError(_ error: (Int, Int?, String), to out: inout String) {
        out.append(#","error":{"code":\#(error.0),"message":"#)
        JSONText.appendQuoted(error.2, to: &out)
        if let subcode = error.1 { out.append(#","subcode":\#(subcode)"#) }
        out.append("}")
    }

    /// Page permissions list the Page in `target_ids`; pages_show_list and the rest do not.
    private static func appendGranularScopes(_ scopes: [String], pageID: String, to out: inout String) {
        out.append("[")
        for (index, scope) in scopes.enumerated() {
            if index > 0 { out.append(",") }
            out.append(#"{"scope":"#)
            JSONText.appendQuoted(scope, to: &out)
            if scope.hasPrefix("pages_") && scope != "pages_show_list" {
                out.append(#","target_ids":["#)
                JSONText.appendQuoted(pageID, to: &out)
                out.append("]")
            }
            out.append("}")
        }
        out.append("]")
    }

    /// Graph's way of writing a time in messages, `Tuesday, 14-Jul-26 10:00:00 UTC` (Graph
    /// uses Pacific time; nothing may parse it anyway).
    static func graphDate(_ unix: Int) -> String {
        let days = unix >= 0 ? unix / day : (unix - day + 1) / day
        let seconds = unix - days * day
        // Howard Hinnant's days-to-civil algorithm.
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let dayOfMonth = doy - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        let year = yoe + era * 400 + (month <= 2 ? 1 : 0)
        let weekdays = ["Thursday", "Friday", "Saturday", "Sunday", "Monday", "Tuesday", "Wednesday"]
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        let weekday = weekdays[((days % 7) + 7) % 7]
        func two(_ n: Int) -> String { n < 10 ? "0\(n)" : "\(n)" }
        return "\(weekday), \(two(dayOfMonth))-\(months[month - 1])-\(two(((year % 100) + 100) % 100)) "
            + "\(two(seconds / 3_600)):\(two(seconds % 3_600 / 60)):\(two(seconds % 60)) UTC"
    }

    /// A Page ID that is not `pageID` (the next number, or a fixed one).
    static func otherPageID(_ pageID: String) -> String {
        if let number = UInt64(pageID), number < UInt64.max { return String(number + 1) }
        return pageID == "104999999999999" ? "104999999999998" : "104999999999999"
    }
}
