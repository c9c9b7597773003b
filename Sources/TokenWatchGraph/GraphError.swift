import TokenWatchModel

/// Graph's error object, from the top-level envelope (`error_subcode`) or from inside
/// `debug_token`'s `data.error` (`subcode`). The message is Meta's text: shown to operators,
/// never used to decide anything.
public struct GraphError: Sendable, Equatable, Hashable {
    public var code: Int
    public var subcode: Int?
    public var type: String?
    public var message: String
    public var fbtraceID: String?
    /// `is_transient: true` marks an error as worth retrying, whatever its code.
    public var isTransient: Bool

    public init(
        code: Int, subcode: Int? = nil, type: String? = nil, message: String = "",
        fbtraceID: String? = nil, isTransient: Bool = false
    ) {
        self.code = code
        self.subcode = subcode
        self.type = type
        self.message = message
        self.fbtraceID = fbtraceID
        self.isTransient = isTransient
    }

    /// Codes 4, 17, 32, 613 and 80000–80014: Graph asks us to stop sending.
    public var isRateLimit: Bool {
        [4, 17, 32, 613].contains(code) || (80_000...80_014).contains(code)
    }

    /// "code 190/460" — for logs and reports; no message, so no chance of echoing input.
    public var codeText: String {
        subcode.map { "code \(code)/\($0)" } ?? "code \(code)"
    }
}

extension GraphError {
    /// The code and subcode alone, as a verdict keeps them.
    public var reference: GraphErrorCode { GraphErrorCode(code: code, subcode: subcode) }
}

extension GraphError {
    /// The same error with its message and trace ID passed through `redactor`; code, subcode
    /// and type untouched.
    public func redacted(by redactor: Redactor) -> GraphError {
        var copy = self
        copy.message = redactor.redact(message)
        copy.fbtraceID = redactor.redact(fbtraceID)
        return copy
    }
}
