import Foundation
import TokenWatchHTTP
import TokenWatchModel

/// Reading Graph's answers: the batch array, each item, `debug_token`'s `data`, the error
/// envelope, `me/accounts`. Pure functions of bytes, so every shape Graph has been seen to send
/// is tested without a network.
///
/// Graph's free text (error messages, trace IDs, Page names) is passed through the request's
/// `Redactor` here, where it is read: Graph quotes tokens back ("Malformed access token …"),
/// and nothing downstream of the client should ever hold one.
extension GraphAPIClient {
    /// The outcomes of a batch answer, one per token in request order; throws for answers
    /// that concern the whole request.
    ///
    /// A batch answer is believed only when it is HTTP 200 with exactly one item per token:
    /// a redirect or any other status carrying a JSON array, or an array of another length,
    /// is `.malformed` (the pages stay undecided and are retried), never read item by item.
    ///
    /// A 200 answer is read by `BatchAnswerScanner` first, which decodes the common item shape
    /// straight from the bytes and leaves every other item (and any answer it cannot walk) to
    /// the general decoding below: the outcomes are the same either way (`scanning: false`
    /// reads everything the general way, for the test that holds them equal).
    static func decodeBatch(
        _ response: HTTPResponse, tokenCount: Int, redactor: Redactor, scanning: Bool = true
    ) throws(GraphClientError) -> DebugTokenBatch {
        let usage = GraphUsage(response: response)
        let servedVersion = redactor.redact(response.header("facebook-api-version"))
        // Graph answers 200, or 4xx/5xx with its error object; anything else (a redirect from
        // a proxy or a captive portal) is not Graph's answer, whatever its body says.
        guard response.status == 200 || (400...599).contains(response.status) else {
            throw .malformed(httpStatus: response.status, "HTTP \(response.status) is not a Graph answer")
        }
        if scanning, response.status == 200, let outcomes = scannedOutcomes(response.body, redactor: redactor) {
            guard outcomes.count == tokenCount else {
                throw .malformed(
                    httpStatus: response.status, "the batch answer has \(outcomes.count) items for \(tokenCount) tokens"
                )
            }
            return DebugTokenBatch(outcomes: outcomes, usage: usage, servedVersion: servedVersion)
        }
        guard let document = JSONValue.parse(response.body) else {
            throw .malformed(httpStatus: response.status, redactor.redact(describeUnreadable(response)))
        }
        try rejectTopLevelError(
            document, response: response, usage: usage, servedVersion: servedVersion, redactor: redactor)
        guard let items = document.array else {
            throw .malformed(httpStatus: response.status, "expected the batch's JSON array, got \(document.kind)")
        }
        guard response.status == 200 else {
            throw .malformed(
                httpStatus: response.status, "a batch array with HTTP \(response.status) is not a batch answer")
        }
        guard items.count == tokenCount else {
            throw .malformed(
                httpStatus: response.status, "the batch answer has \(items.count) items for \(tokenCount) tokens")
        }
        return DebugTokenBatch(
            outcomes: items.map { decodeItem($0, redactor: redactor) }, usage: usage, servedVersion: servedVersion)
    }

    /// The outcomes of a batch array as `BatchAnswerScanner` reads it, the items it leaves
    /// decoded by `decodeItem`; nil when the answer is to be read the general way whole (not an
    /// array it can delimit, or an item that is not JSON: the general way then says so).
    static func scannedOutcomes(_ body: [UInt8], redactor: Redactor) -> [DebugTokenOutcome]? {
        body.withUnsafeBufferPointer { buffer -> [DebugTokenOutcome]? in
            guard let items = BatchAnswerScanner.items(buffer) else { return nil }
            var outcomes: [DebugTokenOutcome] = []
            outcomes.reserveCapacity(items.count)
            for item in items {
                switch item {
                case .decoded(let outcome):
                    outcomes.append(outcome)
                case .other(let range):
                    guard let value = JSONReader.parse(UnsafeBufferPointer(rebasing: buffer[range])) else { return nil }
                    outcomes.append(decodeItem(value, redactor: redactor))
                }
            }
            return outcomes
        }
    }

    /// One batch item: `null`, or `{"code": 200, "body": "<JSON text>"}`.
    static func decodeItem(_ item: JSONValue, redactor: Redactor) -> DebugTokenOutcome {
        if case .null = item { return .undecided("no answer within the batch time limit") }
        guard let fields = item.object else { return .undecided("the batch item is \(item.kind), not an object") }
        guard let code = fields["code"]?.int else { return .undecided("the batch item has no status code") }
        let body: JSONValue
        switch fields["body"] {
        case .string(let text)?:
            guard let parsed = JSONValue.parse(text) else {
                return .undecided("the batch item (HTTP \(code)) has a body that is not JSON or is truncated")
            }
            body = parsed
        case .object?:
            // Graph sends a string; an object is the same answer, already parsed.
            body = fields["body"] ?? .null
        default:
            return .undecided("the batch item (HTTP \(code)) has no body")
        }
        if let envelope = body["error"] {
            guard let error = graphError(envelope, redactor: redactor) else {
                return .undecided("the batch item (HTTP \(code)) has an error object without a code")
            }
            return .graphError(error, httpStatus: code)
        }
        if code == 200, let data = body["data"] {
            guard let info = tokenInfo(data, redactor: redactor) else {
                return .undecided("debug_token's data has no is_valid")
            }
            return .info(info)
        }
        return .undecided("the batch item (HTTP \(code)) has neither data nor an error")
    }

    /// `debug_token`'s `data`; nil when it lacks `is_valid`, the one field every answer has.
    /// The fields the verdict compares (type, IDs, scopes) are kept as sent; `data.error`'s
    /// message is redacted like any error's.
    static func tokenInfo(_ data: JSONValue, redactor: Redactor) -> TokenInfo? {
        guard let isValid = data["is_valid"]?.bool else { return nil }
        return TokenInfo(
            isValid: isValid,
            type: data["type"]?.string,
            appID: data["app_id"]?.id,
            profileID: data["profile_id"]?.id,
            userID: data["user_id"]?.id,
            scopes: (data["scopes"]?.array ?? []).compactMap(\.string),
            granularScopes: (data["granular_scopes"]?.array ?? []).compactMap { entry in
                guard let scope = entry["scope"]?.string else { return nil }
                return GranularScope(scope: scope, targetIDs: entry["target_ids"]?.array?.compactMap(\.id))
            },
            expiresAt: date(data["expires_at"]),
            dataAccessExpiresAt: date(data["data_access_expires_at"]),
            issuedAt: date(data["issued_at"]),
            error: data["error"].flatMap { graphError($0, redactor: redactor) })
    }

    /// Graph's error object, from the envelope (`error_subcode`) or `data.error` (`subcode`).
    /// nil without a numeric code: nothing could be decided on it. Code, subcode and type are
    /// kept as sent (verdicts are decided on them); the message and trace ID are redacted.
    static func graphError(_ value: JSONValue, redactor: Redactor) -> GraphError? {
        guard let code = value["code"]?.int else { return nil }
        return GraphError(
            code: code,
            subcode: value["error_subcode"]?.int ?? value["subcode"]?.int,
            type: value["type"]?.string,
            message: redactor.redact(value["message"]?.string ?? ""),
            fbtraceID: redactor.redact(value["fbtrace_id"]?.string),
            isTransient: value["is_transient"]?.bool ?? false)
    }

    /// Throws `.rejected` when the whole answer is Graph's error object.
    static func rejectTopLevelError(
        _ document: JSONValue, response: HTTPResponse, usage: GraphUsage, servedVersion: String?, redactor: Redactor
    ) throws(GraphClientError) {
        guard let envelope = document["error"] else { return }
        guard let error = graphError(envelope, redactor: redactor) else {
            throw .malformed(httpStatus: response.status, "an error object without a code")
        }
        throw .rejected(error, httpStatus: response.status, usage: usage, servedVersion: servedVersion)
    }

    /// One page of `me/accounts`: its entries, the entries it had to skip, and `paging.next`.
    /// Page names are redacted of `redactor`'s secrets and of every Page token in this answer.
    static func decodeAccountsPage(
        _ response: HTTPResponse, redactor: Redactor
    ) throws(GraphClientError) -> (pages: [GrantedPage], skipped: Int, next: String?) {
        // As for a batch: only a 200 lists pages; a redirect's body is nobody's answer.
        guard response.status == 200 || (400...599).contains(response.status) else {
            throw .malformed(httpStatus: response.status, "HTTP \(response.status) is not a Graph answer")
        }
        guard let document = JSONValue.parse(response.body) else {
            throw .malformed(httpStatus: response.status, redactor.redact(describeUnreadable(response)))
        }
        try rejectTopLevelError(
            document, response: response, usage: GraphUsage(response: response),
            servedVersion: redactor.redact(response.header("facebook-api-version")), redactor: redactor)
        guard response.status == 200 else {
            throw .malformed(
                httpStatus: response.status, "me/accounts answered HTTP \(response.status) without an error")
        }
        guard let entries = document["data"]?.array else {
            throw .malformed(httpStatus: response.status, "me/accounts answered without a data array")
        }
        var pages: [GrantedPage] = []
        var skipped = 0
        for entry in entries {
            // A Page without a token (no task that grants one) cannot be connected.
            guard let id = entry["id"]?.id, let token = entry["access_token"]?.string, !token.isEmpty else {
                skipped += 1
                continue
            }
            pages.append(
                GrantedPage(
                    pageID: id, name: entry["name"]?.string ?? "", accessToken: Secret(token),
                    tasks: (entry["tasks"]?.array ?? []).compactMap(\.string)))
        }
        let known = redactor.adding(pages.map(\.accessToken))
        for index in pages.indices { pages[index].name = known.redact(pages[index].name) }
        let next = document["paging"]?["next"]?.string.flatMap { $0.isEmpty ? nil : $0 }
        return (pages, skipped, next)
    }

    /// Says what an unreadable body looked like without quoting it.
    static func describeUnreadable(_ response: HTTPResponse) -> String {
        let body = response.body
        let type = response.header("content-type").map { ", \($0)" } ?? ""
        guard let first = body.first(where: { ![0x20, 0x09, 0x0A, 0x0D].contains($0) }) else {
            return "an empty body"
        }
        switch first {
        case UInt8(ascii: "<"): return "an HTML or XML page (\(body.count) bytes\(type)), not JSON"
        case UInt8(ascii: "["), UInt8(ascii: "{"): return "truncated or invalid JSON (\(body.count) bytes\(type))"
        default: return "a body that is not JSON (\(body.count) bytes\(type))"
        }
    }

    /// Seconds since 1970, 0 or absent meaning "never".
    private static func date(_ value: JSONValue?) -> Date? {
        guard let seconds = value?.int, seconds > 0 else { return nil }
        return Date(timeIntervalSince1970: TimeInterval(seconds))
    }
}
