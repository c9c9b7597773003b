/// The JSON text of batch items, built once per behaviour per request and reused for every
/// token of that behaviour with its Page ID spliced in.
///
/// Within one request every answer of a behaviour differs only by the Page ID (the times and
/// the trace ID are the request's), so a 50-item batch of healthy tokens escapes one body
/// instead of fifty.
struct ItemTemplates {
    private struct Key: Hashable {
        var behaviour: TokenBehaviour
        var failNow: Bool
    }

    /// Stands for the Page ID while a template is built; not a character JSON escapes.
    private static let placeholder = "\u{E000}SIMPAGE\u{E000}"

    private let context: AnswerContext
    private let includeHeaders: Bool
    private let headersJSON: String
    /// Each template's text split around the placeholder.
    private var cache: [Key: [String]] = [:]

    init(context: AnswerContext, includeHeaders: Bool, headersJSON: String) {
        self.context = context
        self.includeHeaders = includeHeaders
        self.headersJSON = headersJSON
    }

    /// Appends the item answering `behaviour` for a token of `pageID`.
    mutating func append(_ behaviour: TokenBehaviour, pageID: String, failNow: Bool, to out: inout String) {
        let key = Key(behaviour: behaviour, failNow: failNow)
        let parts: [String]
        if let cached = cache[key] {
            parts = cached
        } else {
            let answer = DebugTokenAnswers.answer(
                for: behaviour, profilePage: Self.placeholder, failNow: failNow, context: context)
            var text = ""
            Self.appendItem(answer, includeHeaders: includeHeaders, headersJSON: headersJSON, to: &text)
            parts = Self.split(text, around: Self.placeholder)
            cache[key] = parts
        }
        out.append(parts[0])
        guard parts.count > 1 else { return }
        // Escaped twice: once inside the body's JSON, once as the body string in the array.
        let page = JSONText.escaped(JSONText.escaped(DebugTokenAnswers.profilePage(for: behaviour, pageID: pageID)))
        for part in parts.dropFirst() {
            out.append(page)
            out.append(part)
        }
    }

    /// `text` cut at each occurrence of `marker` (Foundation's `components(separatedBy:)` costs
    /// several times more on Linux).
    static func split(_ text: String, around marker: String) -> [String] {
        let markerBytes = Array(marker.utf8)
        guard let first = markerBytes.first else { return [text] }
        var text = text
        return text.withUTF8 { bytes in
            var parts: [String] = []
            var start = 0
            var index = 0
            while index + markerBytes.count <= bytes.count {
                if bytes[index] == first, markerBytes.indices.allSatisfy({ bytes[index + $0] == markerBytes[$0] }) {
                    parts.append(String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self))
                    index += markerBytes.count
                    start = index
                } else {
                    index += 1
                }
            }
            parts.append(String(decoding: UnsafeBufferPointer(rebasing: bytes[start...]), as: UTF8.self))
            return parts
        }
    }

    /// Appends `{"code":…,"headers":[…],"body":"…"}` for `answer`.
    static func appendItem(_ answer: ItemAnswer, includeHeaders: Bool, headersJSON: String, to out: inout String) {
        out.append(#"{"code":\#(answer.status)"#)
        if includeHeaders {
            out.append(#","headers":["#)
            out.append(headersJSON)
            if let message = answer.invalidTokenMessage {
                out.append(#",{"name":"WWW-Authenticate","value":"#)
                JSONText.appendQuoted(SimulatorEngine.wwwAuthenticate(message), to: &out)
                out.append("}")
            }
            out.append("]")
        }
        out.append(#","body":"#)
        JSONText.appendQuoted(answer.body, to: &out)
        out.append("}")
    }
}
