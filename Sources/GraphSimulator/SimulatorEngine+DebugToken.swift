import Foundation

extension SimulatorEngine {
    /// Graph's batch size limit.
    static let maxBatchSize = 50

    /// One request of a batch, as sent.
    private struct BatchRequestItem: Decodable {
        var method: String?
        var relativeURL: String?

        init(method: String? = nil, relativeURL: String? = nil) {
            self.method = method
            self.relativeURL = relativeURL
        }

        enum CodingKeys: String, CodingKey {
            case method
            case relativeURL = "relative_url"
        }
    }

    /// One slot of a batch answer, before and after the lock.
    private enum Slot {
        case debug(token: String, named: (behaviour: TokenBehaviour, pageID: String)?)
        case resolved(behaviour: TokenBehaviour, pageID: String, failNow: Bool)
        case answered(ItemAnswer)
        case null
    }

    /// `POST /{version}/` with `batch=`.
    func batch(params: [String: String], authorization: String?, plan: RequestPlan) -> SimulatedResponse {
        if let error = appCredentialError(params: params, authorization: authorization, plan: plan) {
            return error
        }
        guard let batchText = params["batch"] else {
            return topLevelError(400, message: "(#100) The parameter batch is required", code: 100, plan: plan)
        }
        guard
            let requests = Self.plainBatchItems(batchText)
                ?? (try? JSONDecoder().decode([BatchRequestItem].self, from: Data(batchText.utf8)))
        else {
            return topLevelError(
                400, message: "(#100) param batch must be a JSON array of requests", code: 100, plan: plan)
        }
        guard requests.count <= Self.maxBatchSize else {
            // Wording and type as recorded by facepy's and koala's fixtures; they record no
            // code, and 100 (invalid parameter) is what Graph uses for a malformed request.
            return topLevelError(
                400, message: "Too many requests in batch message. Maximum batch size is 50",
                type: "GraphBatchException", code: 100, plan: plan)
        }
        guard admit(calls: requests.count, plan: plan) else { return rateLimited(plan) }

        var slots = requests.map { slot(for: $0, plan: plan) }
        // An echoing fault quotes each item's input token, which resolving does not keep.
        let inputTokens = slots.map { slot -> String? in
            if case .debug(let token, _) = slot { token } else { nil }
        }
        resolve(&slots, plan: plan, isBatch: true)
        // The faults that break the answer's correspondence with the requests.
        if plan.reverseItems { slots.reverse() }
        if plan.itemCountChange < 0, !slots.isEmpty { slots.removeLast() }
        if plan.itemCountChange > 0, let first = slots.first { slots.append(first) }

        let includeHeaders = params["include_headers"] != "false"
        let context = context(plan)
        var templates = ItemTemplates(context: context, includeHeaders: includeHeaders, headersJSON: itemHeadersJSON)
        var out = "["
        out.reserveCapacity(slots.count * 1_100 + 2)
        for (index, slot) in slots.enumerated() {
            if index > 0 { out.append(",") }
            let malformed = plan.malformedEvery.map { (index + 1) % $0 == 0 } ?? false
            var answer: ItemAnswer
            switch slot {
            case .null, .debug:
                out.append("null")
                continue
            case .answered(let given):
                answer = given
            case .resolved(let behaviour, let pageID, let failNow):
                if let echo = plan.itemEcho, let token = inputTokens[index] {
                    answer = DebugTokenAnswers.echoing(echo, token: token, traceID: plan.traceID)
                } else if malformed {
                    answer = DebugTokenAnswers.answer(
                        for: behaviour, pageID: pageID, failNow: failNow, context: context)
                } else {
                    templates.append(behaviour, pageID: pageID, failNow: failNow, to: &out)
                    continue
                }
            }
            if malformed {
                answer.body = String(decoding: answer.body.utf8.prefix(answer.body.utf8.count / 2), as: UTF8.self)
            }
            ItemTemplates.appendItem(answer, includeHeaders: includeHeaders, headersJSON: itemHeadersJSON, to: &out)
        }
        out.append("]")
        return SimulatedResponse(status: 200, body: out)
    }

    /// `GET /{version}/debug_token?input_token=…`.
    func debugToken(params: [String: String], authorization: String?, plan: RequestPlan) -> SimulatedResponse {
        if let error = appCredentialError(params: params, authorization: authorization, plan: plan) {
            return error
        }
        guard let input = params["input_token"], !input.isEmpty else {
            return topLevelError(400, message: "(#100) The parameter input_token is required", code: 100, plan: plan)
        }
        guard admit(calls: 1, plan: plan) else { return rateLimited(plan) }
        var slots = [Slot.debug(token: input, named: TokenNamingConvention.parse(input))]
        var single = plan
        single.nullEvery = nil
        resolve(&slots, plan: single, isBatch: false)
        guard case .resolved(let behaviour, let pageID, let failNow) = slots[0] else {
            return SimulatedResponse(status: 500, body: "")
        }
        let answer =
            plan.itemEcho.map { DebugTokenAnswers.echoing($0, token: input, traceID: plan.traceID) }
            ?? DebugTokenAnswers.answer(for: behaviour, pageID: pageID, failNow: failNow, context: context(plan))
        var response = SimulatedResponse(status: answer.status, body: answer.body)
        if let message = answer.invalidTokenMessage {
            response.headers.append(("WWW-Authenticate", Self.wwwAuthenticate(message)))
        }
        return response
    }

    /// The requests of `text` when it has the shape clients send: an array of flat objects
    /// whose values are all strings without escapes. Anything else (an escape, a number,
    /// `null`, nesting, a repeated key, a control character, text after the array) gives nil,
    /// and `JSONDecoder` reads it, or refuses it, as before. At 100,000 pages an hour the
    /// decoder's generic path was a fifth of the simulator's own work, taken from the cores
    /// the process it serves is measured on.
    private static func plainBatchItems(_ text: String) -> [BatchRequestItem]? {
        var text = text
        return text.withUTF8 { bytes -> [BatchRequestItem]? in
            var index = 0
            func skipWhitespace() {
                while index < bytes.count,
                    bytes[index] == 0x20 || bytes[index] == 0x0A || bytes[index] == 0x0D || bytes[index] == 0x09
                {
                    index += 1
                }
            }
            func take(_ byte: UInt8) -> Bool {
                skipWhitespace()
                guard index < bytes.count, bytes[index] == byte else { return false }
                index += 1
                return true
            }
            /// A string without escapes, its opening quote already taken.
            func plainString() -> String? {
                let start = index
                while index < bytes.count {
                    let byte = bytes[index]
                    if byte == UInt8(ascii: "\"") {
                        let value = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self)
                        index += 1
                        return value
                    }
                    if byte == UInt8(ascii: "\\") || byte < 0x20 { return nil }
                    index += 1
                }
                return nil
            }
            guard take(UInt8(ascii: "[")) else { return nil }
            var items: [BatchRequestItem] = []
            if take(UInt8(ascii: "]")) {
                skipWhitespace()
                return index == bytes.count ? items : nil
            }
            repeat {
                guard take(UInt8(ascii: "{")) else { return nil }
                var item = BatchRequestItem()
                if !take(UInt8(ascii: "}")) {
                    repeat {
                        guard take(UInt8(ascii: "\"")), let key = plainString(), take(UInt8(ascii: ":")),
                            take(UInt8(ascii: "\"")), let value = plainString()
                        else { return nil }
                        // A key given twice is left to the decoder, whichever one it believes.
                        switch key {
                        case "method" where item.method == nil: item.method = value
                        case "relative_url" where item.relativeURL == nil: item.relativeURL = value
                        case "method", "relative_url": return nil
                        default: break
                        }
                    } while take(UInt8(ascii: ","))
                    guard take(UInt8(ascii: "}")) else { return nil }
                }
                items.append(item)
            } while take(UInt8(ascii: ","))
            guard take(UInt8(ascii: "]")) else { return nil }
            skipWhitespace()
            return index == bytes.count ? items : nil
        }
    }

    /// What one batch request asks for; anything but `debug_token` is answered with an error.
    private func slot(for request: BatchRequestItem, plan: RequestPlan) -> Slot {
        guard let relativeURL = request.relativeURL else {
            return .answered(
                ItemAnswer(
                    status: 400,
                    body: DebugTokenAnswers.envelope(
                        message: "(#100) The parameter relative_url is required", code: 100, traceID: plan.traceID),
                    invalidTokenMessage: nil))
        }
        let path: String
        let params: [String: String]
        if let plain = Self.plainDebugTokenQuery(relativeURL) {
            (path, params) = ("debug_token", plain)
        } else {
            let question = relativeURL.utf8.firstIndex(of: UInt8(ascii: "?"))
            path = Self.route(String(relativeURL[..<(question ?? relativeURL.endIndex)])).path
            params =
                question.map { FormDecoding.parameters(String(relativeURL[relativeURL.index(after: $0)...])) } ?? [:]
        }
        guard path == "debug_token", request.method.map({ $0 == "GET" || $0.uppercased() == "GET" }) ?? true else {
            return .answered(
                ItemAnswer(
                    status: 400,
                    body: DebugTokenAnswers.envelope(
                        message: "Unknown path components: /\(path)", code: 2500, traceID: plan.traceID),
                    invalidTokenMessage: nil))
        }
        if let itemToken = params["access_token"], itemToken != appToken {
            let message = "Invalid OAuth access token signature."
            return .answered(
                ItemAnswer(
                    status: 400, body: DebugTokenAnswers.envelope(message: message, code: 190, traceID: plan.traceID),
                    invalidTokenMessage: message))
        }
        guard let input = params["input_token"], !input.isEmpty else {
            return .answered(
                ItemAnswer(
                    status: 400,
                    body: DebugTokenAnswers.envelope(
                        message: "(#100) The parameter input_token is required", code: 100, traceID: plan.traceID),
                    invalidTokenMessage: nil))
        }
        return .debug(token: input, named: TokenNamingConvention.parse(input))
    }

    /// The parameters `slot(for:plan:)` reads — `input_token` and `access_token` — of a
    /// relative URL of the shape clients send, `debug_token?name=value&…` with nothing to
    /// percent-decode; nil for anything else, which the general route and form decoding read
    /// as before. Each of a batch's 50 items went through both: a tenth of the simulator's
    /// work, on the cores the process it serves is measured on.
    static func plainDebugTokenQuery(_ relativeURL: String) -> [String: String]? {
        let prefix = "debug_token?".utf8
        var params: [String: String] = [:]
        var plain = true
        relativeURL.utf8.withContiguousStorageIfAvailable { bytes in
            guard bytes.count >= prefix.count, bytes.prefix(prefix.count).elementsEqual(prefix) else {
                plain = false
                return
            }
            var start = prefix.count
            while start <= bytes.count {
                let end = bytes[start...].firstIndex(of: UInt8(ascii: "&")) ?? bytes.count
                let pair = bytes[start..<end]
                if pair.contains(where: { $0 == UInt8(ascii: "%") || $0 == UInt8(ascii: "+") }) {
                    plain = false
                    return
                }
                // A name without `=` has the empty value; the last value of a repeated name
                // wins: both as in `FormDecoding`.
                let equals = pair.firstIndex(of: UInt8(ascii: "="))
                let name = pair[..<(equals ?? pair.endIndex)]
                for wanted in Self.plainQueryNames where name.elementsEqual(wanted.utf8) {
                    let value = equals.map { pair[($0 + 1)...] } ?? pair[pair.endIndex...]
                    params[wanted] = String(decoding: UnsafeBufferPointer(rebasing: value), as: UTF8.self)
                }
                start = end + 1
            }
        } ?? { plain = false }()
        return plain ? params : nil
    }

    /// The parameters `plainDebugTokenQuery(_:)` reads.
    static let plainQueryNames = ["input_token", "access_token"]

    /// Looks the tokens up, counts them and consumes flaky failures — all under one lock.
    private func resolve(_ slots: inout [Slot], plan: RequestPlan, isBatch: Bool) {
        state.withLock { state in
            if isBatch {
                state.stats.batchRequests += 1
                state.stats.batchSizes[slots.count, default: 0] += 1
            }
            for index in slots.indices {
                if let every = plan.nullEvery, (index + 1) % every == 0 {
                    if case .debug(let token, _) = slots[index] {
                        state.stats.debugCountByToken[token, default: 0] += 1
                    }
                    slots[index] = .null
                    continue
                }
                guard case .debug(let token, let named) = slots[index] else { continue }
                state.stats.debugCountByToken[token, default: 0] += 1
                state.stats.debugTokenItems += 1
                let behaviour: TokenBehaviour
                let pageID: String
                // Most runs register nothing: an empty registry is not hashed into.
                if !state.registry.isEmpty, let registered = state.registry[token] {
                    (behaviour, pageID) = (registered.behaviour, registered.pageID)
                } else if let named {
                    (behaviour, pageID) = (named.behaviour, named.pageID)
                } else {
                    (behaviour, pageID) = (.garbage, "")
                }
                var failNow = false
                if case .flaky(let failures) = behaviour {
                    let attempts = state.flakyAttempts[token, default: 0]
                    state.flakyAttempts[token] = attempts + 1
                    failNow = attempts < failures
                }
                slots[index] = .resolved(behaviour: behaviour, pageID: pageID, failNow: failNow)
            }
        }
    }
}
