import FlyingFox
import Foundation
import Logging
import Synchronization

/// A Graph API that speaks the formats of GRAPH_API.md over a loopback socket, for
/// TokenWatch's integration tests, its benchmark and `tokenwatch demo`.
///
/// It serves `GET /{version}/debug_token`, the batch endpoint `POST /{version}/` and
/// `GET /{version}/me/accounts` on `127.0.0.1` at a free port. Tokens behave as registered
/// (`register(token:as:page:)`) or as their name says (`simtok_<behaviour>_<pageid>_<anything>`,
/// see `TokenBehaviour.conventionName`); faults (`setFault(_:forRequests:)`) can be switched
/// while it runs; `stats` counts what it has seen. Every method is safe to call from any task.
///
/// ```swift
/// let graph = GraphSimulator(appID: "1234567890", appSecret: "s3cret")
/// try await graph.start()
/// graph.register(token: "EAAB-page-1", as: .passwordChanged, page: "104000000000001")
/// let token = GraphSimulator.token(.valid, page: "104000000000002")   // no registration needed
/// graph.setFault(.latency(milliseconds: 50))
/// graph.setFault(.outage, forRequests: 2)
/// // … point the client at graph.baseURL ("http://127.0.0.1:PORT") and run it …
/// #expect(graph.stats.debugCount(for: token) == 1)
/// await graph.stop()
/// ```
public final class GraphSimulator: Sendable {
    /// The app ID the simulated Graph belongs to: the app token is `appID|appSecret`.
    public let appID: String
    /// The version every answer reports in `facebook-api-version`, whatever was asked for.
    public let servedVersion: String

    let engine: SimulatorEngine
    private let logger: Logger?
    private let lifecycle = Mutex<Lifecycle>(Lifecycle())

    private struct Lifecycle {
        var server: HTTPServer?
        var task: Task<Void, any Error>?
        var threaded: ThreadedHTTPServer?
        var port = 0
    }

    /// What serves the simulator's HTTP.
    public enum Transport: Sendable {
        /// FlyingFox on the cooperative pool: for tests and `tokenwatch demo`, in the process
        /// that also runs TokenWatch.
        case flyingFox
        /// A thread per connection with blocking sockets: for `tokenwatch-sim`, the process of
        /// its own that a benchmark times TokenWatch against, where FlyingFox's async socket
        /// layer cost most of the simulator's CPU.
        case threads
    }

    /// A simulator for the app `appID` with secret `appSecret`, not yet listening.
    ///
    /// - Parameters:
    ///   - servedVersion: the version reported in every `facebook-api-version` header.
    ///   - appName: the `application` of `debug_token` answers.
    ///   - requireAppSecretProof: refuse requests without `appsecret_proof`, like an app with
    ///     "Require App Secret" on. A wrong proof is refused either way.
    ///   - logger: where the simulator and FlyingFox log (one level below FlyingFox's own
    ///     levels); nil keeps them quiet.
    public init(
        appID: String, appSecret: String, servedVersion: String = "v25.0", appName: String = "Acme Bots",
        requireAppSecretProof: Bool = true, logger: Logger? = nil
    ) {
        self.appID = appID
        self.servedVersion = servedVersion
        self.logger = logger
        self.engine = SimulatorEngine(
            appID: appID, appSecret: appSecret, appName: appName, servedVersion: servedVersion,
            requireAppSecretProof: requireAppSecretProof)
    }

    // MARK: Lifecycle

    /// Binds `127.0.0.1` on a free port and serves until `stop()`. Returns once listening.
    public func start(transport: Transport = .flyingFox) async throws {
        if transport == .threads { return try startThreaded() }
        let server = try HTTPServer(
            config: FlyingFoxSetup.configuration(logger: logger), handler: SimulatorHTTPHandler(engine: engine))
        try lifecycle.withLock { state in
            guard state.server == nil else { throw GraphSimulatorError.alreadyStarted }
            state.server = server
        }
        let task = Task { try await server.run() }
        do {
            try await server.waitUntilListening(timeout: 30)
        } catch {
            task.cancel()
            lifecycle.withLock { $0.server = nil }
            throw GraphSimulatorError.notListening(String(describing: error))
        }
        guard case .ip4(_, let port)? = await server.listeningAddress else {
            await server.stop()
            task.cancel()
            lifecycle.withLock { $0.server = nil }
            throw GraphSimulatorError.notListening("no IPv4 address")
        }
        lifecycle.withLock { state in
            state.task = task
            state.port = Int(port)
        }
        engine.state.withLock { $0.port = Int(port) }
        logger?.debug("GraphSimulator listening", metadata: ["port": "\(port)", "version": "\(servedVersion)"])
    }

    private func startThreaded() throws {
        let engine = engine
        try lifecycle.withLock { state in
            guard state.server == nil, state.threaded == nil else { throw GraphSimulatorError.alreadyStarted }
            let server = try ThreadedHTTPServer.start { request in
                let exchange = engine.receive(
                    method: request.method, path: request.path, query: request.query, body: request.body,
                    authorization: request.authorization)
                // The connection's own thread, never the pool: sleeping here delays this answer only.
                if exchange.latencyMilliseconds > 0 {
                    Thread.sleep(forTimeInterval: Double(exchange.latencyMilliseconds) / 1000)
                }
                return engine.answer(exchange)
            }
            state.threaded = server
            state.port = server.port
        }
        engine.state.withLock { $0.port = port }
        logger?.debug("GraphSimulator listening", metadata: ["port": "\(port)", "version": "\(servedVersion)"])
    }

    /// Stops listening, lets requests in progress finish (up to a second) and closes every
    /// connection. The simulator can be started again afterwards, on a new port.
    public func stop() async {
        let (server, task, threaded) = lifecycle.withLock { state in
            defer { state = Lifecycle() }
            return (state.server, state.task, state.threaded)
        }
        threaded?.stop()
        guard let server else { return }
        await server.stop(timeout: 1)
        task?.cancel()
        _ = await task?.result
    }

    /// The port it listens on; 0 before `start()`.
    public var port: Int {
        lifecycle.withLock { $0.port }
    }

    /// `http://127.0.0.1:PORT`, with no version and no trailing slash.
    public var baseURL: String {
        "http://127.0.0.1:\(port)"
    }

    /// Whether a request without `appsecret_proof` is refused (HTTP 400, code 100).
    public var requireAppSecretProof: Bool {
        get { engine.state.withLock { $0.requireAppSecretProof } }
        set { engine.state.withLock { $0.requireAppSecretProof = newValue } }
    }

    /// At most this many Pages in one `me/accounts` answer, whatever `limit` asks for (Graph
    /// may return fewer than asked); nil: as many as `limit` allows. Makes a client follow
    /// `paging.next` without registering hundreds of Pages.
    public var accountsPageSize: Int? {
        get { engine.state.withLock { $0.accountsPageSize } }
        set { engine.state.withLock { $0.accountsPageSize = newValue } }
    }

    // MARK: Tokens and users

    /// The Page used when a registration names none.
    public static let defaultPageID = "104000000000001"

    /// Makes `token` behave as `behaviour` for the Page `page`. A registration wins over the
    /// naming convention.
    public func register(token: String, as behaviour: TokenBehaviour, page: String = GraphSimulator.defaultPageID) {
        engine.state.withLock { $0.registry[token] = EngineState.Registration(behaviour: behaviour, pageID: page) }
    }

    /// Makes `me/accounts` list `pages` for the user token `token`. Each Page token that is
    /// neither registered nor named by the convention is registered as `.valid` for its Page.
    public func registerUser(token: String, pages: [SimulatedPage]) {
        engine.state.withLock { state in
            state.users[token] = pages
            for page in pages
            where state.registry[page.accessToken] == nil && TokenNamingConvention.parse(page.accessToken) == nil {
                state.registry[page.accessToken] = EngineState.Registration(behaviour: .valid, pageID: page.id)
            }
        }
    }

    /// A token named by the convention: `simtok_<behaviour>_<page>` plus `_<suffix>` when one
    /// is given. `.scopes`, which has no name, gives a `valid` token: register it instead.
    public static func token(_ behaviour: TokenBehaviour, page: String, suffix: String = "") -> String {
        let name = behaviour.conventionName ?? "valid"
        return suffix.isEmpty ? "simtok_\(name)_\(page)" : "simtok_\(name)_\(page)_\(suffix)"
    }

    /// Graph's `appsecret_proof`: lowercase hex HMAC-SHA256 of `accessToken` keyed with
    /// `appSecret`.
    public static func appSecretProof(accessToken: String, appSecret: String) -> String {
        SimulatorEngine.proof(for: accessToken, secret: appSecret)
    }

    // MARK: Faults

    /// Switches `fault` on, replacing an active fault of the same kind, for the next `count`
    /// HTTP requests (every request received counts, whatever it asks) or, when `count` is nil,
    /// until cleared.
    public func setFault(_ fault: GraphFault, forRequests count: Int? = nil) {
        engine.state.withLock { state in
            if case .rateLimit = fault { state.rateLimitCalls = 0 }
            if let count, count <= 0 {
                state.faults[fault.kind] = nil
            } else {
                state.faults[fault.kind] = EngineState.ActiveFault(fault: fault, remaining: count)
            }
        }
    }

    /// Switches off the active fault of the same kind as `fault` (its parameters do not matter).
    public func clearFault(_ fault: GraphFault) {
        engine.state.withLock { _ = $0.faults.removeValue(forKey: fault.kind) }
    }

    /// Switches every fault off.
    public func clearFaults() {
        engine.state.withLock { $0.faults.removeAll() }
    }

    /// The faults in force now.
    public var activeFaults: [GraphFault] {
        engine.state.withLock { $0.faults.values.map(\.fault) }
    }

    // MARK: Stats

    /// What the simulator has seen since it was made or since `resetStats()`.
    public var stats: GraphSimulatorStats {
        engine.state.withLock { $0.stats }
    }

    /// Zeroes the counters; `inFlight` stays true and `maxInFlight` restarts from it.
    /// Flaky tokens keep counting their attempts.
    public func resetStats() {
        engine.state.withLock { state in
            let inFlight = state.stats.inFlight
            state.stats = GraphSimulatorStats()
            state.stats.inFlight = inFlight
            state.stats.maxInFlight = inFlight
        }
    }
}

/// Why the simulator could not start.
public enum GraphSimulatorError: Error, Sendable, Equatable, CustomStringConvertible {
    /// `start()` was called on a running simulator.
    case alreadyStarted
    /// The listening socket could not be set up.
    case notListening(String)

    /// What went wrong, for logs and test failures.
    public var description: String {
        switch self {
        case .alreadyStarted: "GraphSimulator is already running"
        case .notListening(let why): "GraphSimulator could not listen on 127.0.0.1: \(why)"
        }
    }
}
