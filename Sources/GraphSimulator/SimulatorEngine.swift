import Crypto
import FlyingFox
import Foundation
import Synchronization

/// The simulated Graph API's state and request handling, shared by the public
/// `GraphSimulator` and the FlyingFox handler (kept apart so the server does not own the
/// simulator that owns the server).
final class SimulatorEngine: Sendable {
    let appID: String
    let appName: String
    let servedVersion: String
    let appToken: String
    let appSecret: String
    let appTokenProof: String
    let state: Mutex<EngineState>
    /// `{"name":…,"value":…}` entries every batch item carries, JSON-ready.
    let itemHeadersJSON: String
    /// Makes trace IDs of different simulators differ.
    let traceSalt: String
    /// When the simulated tokens were issued: their `expires_at` and `data_access_expires_at`
    /// derive from it, so a token's ends stay the same across requests, as they do on Graph.
    let issuedAt = Int(Date().timeIntervalSince1970)

    init(appID: String, appSecret: String, appName: String, servedVersion: String, requireAppSecretProof: Bool) {
        self.appID = appID
        self.appName = appName
        self.servedVersion = servedVersion
        self.appSecret = appSecret
        self.appToken = "\(appID)|\(appSecret)"
        self.appTokenProof = Self.proof(for: "\(appID)|\(appSecret)", secret: appSecret)
        self.state = Mutex(EngineState(requireAppSecretProof: requireAppSecretProof))
        let headers: [(String, String)] = [
            ("Access-Control-Allow-Origin", "*"),
            ("Cache-Control", "private, no-cache, no-store, must-revalidate"),
            ("Content-Type", "application/json; charset=UTF-8"),
            ("facebook-api-version", servedVersion),
        ]
        self.itemHeadersJSON = headers.map { #"{"name":\#(JSONText.quoted($0.0)),"value":\#(JSONText.quoted($0.1))}"# }
            .joined(separator: ",")
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")
        self.traceSalt = "A" + String((0..<7).map { _ in alphabet.randomElement() ?? "A" })
    }

    /// Lowercase hex HMAC-SHA256 of `token` keyed with `secret`: Graph's `appsecret_proof`.
    static func proof(for token: String, secret: String) -> String {
        let code = HMAC<SHA256>.authenticationCode(for: Data(token.utf8), using: SymmetricKey(data: Data(secret.utf8)))
        return code.map { byte in
            let hex = String(byte, radix: 16)
            return byte < 16 ? "0" + hex : hex
        }.joined()
    }
}

/// Everything that changes while the simulator runs, behind one lock.
struct EngineState {
    struct Registration {
        var behaviour: TokenBehaviour
        var pageID: String
    }

    struct ActiveFault {
        var fault: GraphFault
        /// Requests left before the fault clears itself; nil until cleared.
        var remaining: Int?
    }

    var requireAppSecretProof: Bool
    var port = 0
    var registry: [String: Registration] = [:]
    var users: [String: [SimulatedPage]] = [:]
    /// At most this many entries in one `me/accounts` answer, whatever `limit` asks for.
    var accountsPageSize: Int?
    /// Debug attempts seen per flaky token (kept across `resetStats`).
    var flakyAttempts: [String: Int] = [:]
    var faults: [GraphFault.Kind: ActiveFault] = [:]
    /// Calls admitted since the rate-limit fault was set.
    var rateLimitCalls = 0
    var stats = GraphSimulatorStats()
    var traceCounter: UInt64 = 0

    init(requireAppSecretProof: Bool) {
        self.requireAppSecretProof = requireAppSecretProof
    }
}

/// What the active faults mean for one request, decided when it arrives.
struct RequestPlan {
    /// Whole-request failures, the one that wins (GraphFault's order) ranked highest.
    enum Failure: Int, Comparable {
        case echoingRejection, echoingOutage, transientUnauthorized, outage, htmlOutage, drop

        static func < (lhs: Failure, rhs: Failure) -> Bool { lhs.rawValue < rhs.rawValue }
    }

    /// How every `debug_token` item is answered instead of by its token's behaviour.
    enum ItemEcho {
        case transient, invalid
    }

    var traceID: String
    var requireAppSecretProof: Bool
    var latencyMilliseconds = 0
    var failure: Failure?
    var rateLimitAfter: Int?
    var usage: (header: GraphFault.UsageHeader, percent: Int)?
    var nullEvery: Int?
    var malformedEvery: Int?
    var truncate = false
    var reverseItems = false
    /// -1: drop the last item of a batch answer; +1: add a copy of the first; 0: neither.
    var itemCountChange = 0
    var redirect = false
    /// With both item faults active, the transient one wins.
    var itemEcho: ItemEcho?

    /// Takes `failure` unless a failure that wins over it is already planned.
    mutating func fail(_ failure: Failure) {
        self.failure = max(self.failure ?? failure, failure)
    }
}

/// One finished answer before it becomes an `HTTPResponse`.
struct SimulatedResponse {
    var status: Int
    var body: String
    var contentType = "application/json; charset=UTF-8"
    var headers: [(String, String)] = []
    var rateLimited = false
    var drop = false
    /// A top-level error on the whole request (credentials, rate limit, outage).
    var rejected = false
}

extension SimulatorEngine {
    /// Counts the request in, consumes scoped faults and returns what they mean for it.
    func begin(pathKey: String) -> RequestPlan {
        state.withLock { state in
            state.stats.httpRequests += 1
            state.stats.inFlight += 1
            state.stats.maxInFlight = max(state.stats.maxInFlight, state.stats.inFlight)
            state.stats.requestsByPath[pathKey, default: 0] += 1
            state.traceCounter &+= 1
            var plan = RequestPlan(
                traceID: traceSalt + String(state.traceCounter, radix: 36),
                requireAppSecretProof: state.requireAppSecretProof)
            guard !state.faults.isEmpty else { return plan }
            for (kind, var active) in state.faults {
                switch active.fault {
                case .latency(let milliseconds): plan.latencyMilliseconds = max(0, milliseconds)
                case .dropConnection: plan.fail(.drop)
                case .htmlOutage: plan.fail(.htmlOutage)
                case .outage: plan.fail(.outage)
                case .transientUnauthorized: plan.fail(.transientUnauthorized)
                case .echoingOutage: plan.fail(.echoingOutage)
                case .echoingRejection: plan.fail(.echoingRejection)
                case .echoingTransientItems: plan.itemEcho = .transient
                case .echoingInvalidItems: if plan.itemEcho == nil { plan.itemEcho = .invalid }
                case .rateLimit(let calls): plan.rateLimitAfter = max(0, calls)
                case .highUsage(let percent, let header): plan.usage = (header, percent)
                case .nullItems(let every): plan.nullEvery = max(1, every)
                case .truncatedBody: plan.truncate = true
                case .malformedItems(let every): plan.malformedEvery = max(1, every)
                case .reversedItems: plan.reverseItems = true
                case .missingItem: plan.itemCountChange = -1
                case .extraItem: plan.itemCountChange = 1
                case .redirect: plan.redirect = true
                }
                if let remaining = active.remaining {
                    active.remaining = remaining - 1
                    state.faults[kind] = remaining <= 1 ? nil : active
                }
            }
            return plan
        }
    }

    func end(_ response: SimulatedResponse) {
        state.withLock { state in
            state.stats.inFlight -= 1
            if response.drop {
                state.stats.droppedConnections += 1
            } else if response.rejected {
                state.stats.rejectedRequests += 1
            }
        }
    }

    /// Admits `calls` calls under the rate-limit fault, if one is active. False: refuse.
    func admit(calls: Int, plan: RequestPlan) -> Bool {
        guard let limit = plan.rateLimitAfter else { return true }
        return state.withLock { state in
            guard state.rateLimitCalls < limit else { return false }
            state.rateLimitCalls += calls
            return true
        }
    }

    var now: Int { Int(Date().timeIntervalSince1970) }

    func context(_ plan: RequestPlan) -> AnswerContext {
        AnswerContext(appID: appID, appName: appName, now: issuedAt, traceID: plan.traceID)
    }
}
