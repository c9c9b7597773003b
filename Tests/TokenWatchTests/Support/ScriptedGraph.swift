import Foundation

@testable import TokenWatch

/// A `GraphAPI` whose answers a test scripts per token and per call, to drive the check
/// engine through retries, rate limits and failures without a network.
final class ScriptedGraph: GraphAPI, @unchecked Sendable {
    // @unchecked: every mutable field is only touched under `lock`.
    typealias Script = @Sendable (_ call: Int, _ tokens: [String]) throws -> DebugTokenBatch

    private let lock = NSLock()
    private let script: Script
    private var calls = 0
    private var _sent: [[String]] = []

    init(_ script: @escaping Script) { self.script = script }

    var sent: [[String]] { lock.withLock { _sent } }

    func debugTokens(_ tokens: [Secret]) async throws -> DebugTokenBatch {
        let call: Int = lock.withLock {
            calls += 1
            _sent.append(tokens.map(\.reveal))
            return calls
        }
        return try script(call, tokens.map(\.reveal))
    }

    func grantedPages(userToken: Secret) async throws -> GrantedPages { GrantedPages(pages: []) }

    /// The healthy answer for a token named `valid:<pageID>`, and the password-changed one
    /// for `pw:<pageID>`.
    static func answer(for token: String) -> DebugTokenOutcome {
        let parts = token.split(separator: ":").map(String.init)
        let page = parts.count > 1 ? parts[1] : ""
        switch parts.first {
        case "valid":
            return .info(
                TokenInfo(
                    isValid: true, type: "PAGE", appID: "1234567890", profileID: page,
                    scopes: ["pages_messaging", "pages_manage_metadata"]))
        case "pw":
            return .info(
                TokenInfo(
                    isValid: false, type: "PAGE", appID: "1234567890",
                    error: GraphError(code: 190, subcode: 460, message: "password")))
        default:
            return .undecided("script has no answer for this token")
        }
    }
}
