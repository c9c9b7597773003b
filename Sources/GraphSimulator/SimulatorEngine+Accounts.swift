import Foundation

extension SimulatorEngine {
    /// `GET /{version}/me/accounts`: the Pages of a registered user token, paged with cursors.
    func accounts(params: [String: String], authorization: String?, plan: RequestPlan) -> SimulatedResponse {
        let fromQuery = params["access_token"]
        guard let token = fromQuery ?? Self.bearer(authorization), !token.isEmpty, token != appToken else {
            return topLevelError(
                400, message: "An active access token must be used to query information about the current user.",
                code: 2500, plan: plan)
        }
        guard let pages = state.withLock({ $0.users[token] }) else {
            return topLevelError(
                400, message: DebugTokenAnswers.cannotParseMessage, code: 190, invalidToken: true, plan: plan)
        }
        if let error = proofError(params: params, expected: Self.proof(for: token, secret: appSecret), plan: plan) {
            return error
        }
        guard admit(calls: 1, plan: plan) else { return rateLimited(plan) }

        let requested = params["limit"].flatMap { Int($0) }.map { min(max($0, 1), 100) } ?? 25
        // Graph may answer with fewer entries than `limit`; `next` still carries the limit asked for.
        let limit = state.withLock { $0.accountsPageSize }.map { min(requested, max($0, 1)) } ?? requested
        var start = 0
        var end = min(pages.count, limit)
        if let after = params["after"] {
            guard let index = Self.cursorIndex(after) else { return invalidCursor(plan) }
            start = min(index + 1, pages.count)
            end = min(start + limit, pages.count)
        } else if let before = params["before"] {
            guard let index = Self.cursorIndex(before) else { return invalidCursor(plan) }
            end = min(max(index, 0), pages.count)
            start = max(0, end - limit)
        }
        let fields = Self.fields(params["fields"])
        var out = #"{"data":["#
        for (offset, page) in pages[start..<end].enumerated() {
            if offset > 0 { out.append(",") }
            appendPage(page, fields: fields, to: &out)
        }
        out.append("]")
        if start < end {
            out.append(#","paging":{"cursors":{"before":"\#(Self.cursor(start))","after":"\#(Self.cursor(end - 1))"}"#)
            var query: [(String, String)] = []
            if let fromQuery { query.append(("access_token", fromQuery)) }
            if let proof = params["appsecret_proof"] { query.append(("appsecret_proof", proof)) }
            if let fieldList = params["fields"] { query.append(("fields", fieldList)) }
            query.append(("limit", String(requested)))
            if start > 0 {
                out.append(#","previous":"#)
                JSONText.appendQuoted(pageURL(query + [("before", Self.cursor(start))]), to: &out)
            }
            if end < pages.count {
                out.append(#","next":"#)
                JSONText.appendQuoted(pageURL(query + [("after", Self.cursor(end - 1))]), to: &out)
            }
            out.append("}")
        }
        out.append("}")
        return SimulatedResponse(status: 200, body: out)
    }

    private func appendPage(_ page: SimulatedPage, fields: [String], to out: inout String) {
        out.append("{")
        var first = true
        for field in fields {
            let value: String
            switch field {
            case "id": value = JSONText.quoted(page.id)
            case "name": value = JSONText.quoted(page.name)
            case "access_token": value = JSONText.quoted(page.accessToken)
            case "tasks": value = JSONText.stringArray(page.tasks)
            case "category": value = #""Software""#
            default: continue
            }
            if !first { out.append(",") }
            first = false
            out.append(#""\#(field)":\#(value)"#)
        }
        out.append("}")
    }

    /// The fields asked for (id always comes back), or Graph's default set.
    private static func fields(_ list: String?) -> [String] {
        guard let list else { return ["access_token", "category", "name", "id", "tasks"] }
        var fields = list.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        if !fields.contains("id") { fields.append("id") }
        return fields
    }

    private func pageURL(_ query: [(String, String)]) -> String {
        let port = state.withLock { $0.port }
        let text = query.map { "\($0.0)=\(FormDecoding.encode($0.1))" }.joined(separator: "&")
        return "http://127.0.0.1:\(port)/\(servedVersion)/me/accounts?\(text)"
    }

    private func invalidCursor(_ plan: RequestPlan) -> SimulatedResponse {
        topLevelError(400, message: "(#100) The cursor is not valid", code: 100, plan: plan)
    }

    /// Opaque-looking cursors, base64url of the position, like Graph's.
    static func cursor(_ index: Int) -> String {
        Data("simcursor:\(index)".utf8).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    static func cursorIndex(_ cursor: String) -> Int? {
        var base64 = cursor.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        base64.append(String(repeating: "=", count: (4 - base64.count % 4) % 4))
        guard let data = Data(base64Encoded: base64) else { return nil }
        let text = String(decoding: data, as: UTF8.self)
        guard text.hasPrefix("simcursor:"), let index = Int(text.dropFirst("simcursor:".count)), index >= 0 else {
            return nil
        }
        return index
    }
}
