import Foundation
import Synchronization

@testable import TokenWatchGraph
@testable import TokenWatchMail
@testable import TokenWatchModel
@testable import TokenWatchStore

/// A `GraphAPI` whose answers a test scripts per token and per call, to drive the check
/// engine through retries, rate limits and failures without a network.
final class ScriptedGraph: GraphAPI, Sendable {
    typealias Script = @Sendable (_ call: Int, _ tokens: [String]) throws -> DebugTokenBatch

    private let script: Script
    /// Every batch sent, in order: its length is the call count.
    private let sentBatches = Mutex<[[String]]>([])

    init(_ script: @escaping Script) { self.script = script }

    var sent: [[String]] { sentBatches.withLock { $0 } }

    func debugTokens(_ tokens: [Secret]) async throws -> DebugTokenBatch {
        let call: Int = sentBatches.withLock { sent in
            sent.append(tokens.map(\.reveal))
            return sent.count
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
