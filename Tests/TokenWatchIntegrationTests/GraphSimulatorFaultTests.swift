import Foundation
import GraphSimulator
import Testing

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

@Suite("GraphSimulator: faults")
struct GraphSimulatorFaultTests {
    static let page = "104000000000001"
    static let tokens = (0..<10).map { GraphSimulator.token(.valid, page: String(104_000_000_000_010 + $0)) }

    @Test(arguments: SimHTTP.transports) func outageFailsTheWholeBatchWithOneTransientCode1(
        over transport: GraphSimulator.Transport
    ) async throws {
        try await SimHTTP.withSimulator(over: transport) { graph async throws in
            graph.setFault(.outage)
            let answer = try await SimHTTP.batch(graph, Self.tokens)
            #expect(answer.status == 500)
            let error = try answer.error()
            #expect(error["code"] as? Int == 1)
            #expect(error["is_transient"] as? Bool == true)
            #expect(error["type"] as? String == "OAuthException")
            #expect(answer.headers["facebook-api-version"] == "v25.0")
            #expect(graph.stats.debugTokenItems == 0)
            #expect(Self.tokens.allSatisfy { graph.stats.debugCount(for: $0) == 0 })
        }
    }

    @Test(arguments: SimHTTP.transports) func faultScopedToNRequestsClearsItself(
        over transport: GraphSimulator.Transport
    ) async throws {
        try await SimHTTP.withSimulator(over: transport) { graph async throws in
            graph.setFault(.outage, forRequests: 2)
            #expect(graph.activeFaults == [.outage])
            #expect(try await SimHTTP.batch(graph, Self.tokens).status == 500)
            #expect(try await SimHTTP.debugToken(graph, Self.tokens[0]).status == 500)
            #expect(graph.activeFaults.isEmpty)
            #expect(try await SimHTTP.batch(graph, Self.tokens).status == 200)
        }
    }

    @Test(arguments: SimHTTP.transports) func htmlOutageAnswers503WithAPage(over transport: GraphSimulator.Transport)
        async throws
    {
        try await SimHTTP.withSimulator(over: transport) { graph async throws in
            graph.setFault(.htmlOutage)
            let answer = try await SimHTTP.batch(graph, Self.tokens)
            #expect(answer.status == 503)
            #expect(answer.headers["content-type"]?.hasPrefix("text/html") == true)
            #expect(answer.text.contains("<html"))
            #expect((try? JSONSerialization.jsonObject(with: answer.body)) == nil)
            graph.clearFault(.htmlOutage)
            #expect(try await SimHTTP.batch(graph, Self.tokens).status == 200)
        }
    }

    @Test(arguments: SimHTTP.transports) func droppedConnectionGetsNoAnswer(over transport: GraphSimulator.Transport)
        async throws
    {
        try await SimHTTP.withSimulator(over: transport) { graph async throws in
            graph.setFault(.dropConnection)
            await #expect(throws: (any Error).self) {
                _ = try await SimHTTP.batch(graph, Self.tokens)
            }
            #expect(graph.stats.droppedConnections >= 1)
            graph.clearFaults()
            #expect(try await SimHTTP.batch(graph, Self.tokens).status == 200)
        }
    }

    @Test(arguments: SimHTTP.transports) func transientCode2ArrivesWithHTTP401(over transport: GraphSimulator.Transport)
        async throws
    {
        try await SimHTTP.withSimulator(over: transport) { graph async throws in
            graph.setFault(.transientUnauthorized, forRequests: 1)
            let answer = try await SimHTTP.batch(graph, Self.tokens)
            #expect(answer.status == 401)
            let error = try answer.error()
            #expect(error["code"] as? Int == 2)
            #expect(error["is_transient"] as? Bool == true)
        }
    }

    @Test(arguments: SimHTTP.transports) func rateLimitRefusesRequestsAfterNCalls(
        over transport: GraphSimulator.Transport
    ) async throws {
        try await SimHTTP.withSimulator(over: transport) { graph async throws in
            graph.setFault(.rateLimit(afterCalls: 20))
            #expect(try await SimHTTP.batch(graph, Self.tokens).status == 200)
            #expect(try await SimHTTP.batch(graph, Self.tokens).status == 200)
            for attempt in 0..<2 {
                let answer =
                    attempt == 0
                    ? try await SimHTTP.batch(graph, Self.tokens) : try await SimHTTP.debugToken(graph, Self.tokens[0])
                #expect(answer.status == 403)
                let error = try answer.error()
                #expect(error["code"] as? Int == 4)
                #expect(error["message"] as? String == "(#4) Application request limit reached")
                let usage = try #require(answer.headers["x-app-usage"])
                let figures = try #require(try JSONSerialization.jsonObject(with: Data(usage.utf8)) as? [String: Int])
                #expect((figures["call_count"] ?? 0) >= 100)
            }
            #expect(graph.stats.debugTokenItems == 20)
            graph.clearFault(.rateLimit(afterCalls: 0))
            #expect(try await SimHTTP.batch(graph, Self.tokens).status == 200)
        }
    }

    @Test(arguments: [GraphFault.UsageHeader.app, .page, .businessUseCase], SimHTTP.transports)
    func highUsageIsReportedWhileAnswersSucceed(
        header: GraphFault.UsageHeader, over transport: GraphSimulator.Transport
    )
        async throws
    {
        try await SimHTTP.withSimulator(over: transport) { graph async throws in
            graph.setFault(.highUsage(percent: 95, header: header))
            let answer = try await SimHTTP.batch(graph, Self.tokens)
            #expect(answer.status == 200)
            #expect(try answer.items().count == Self.tokens.count)
            func figures(_ name: String) throws -> [String: Int] {
                let text = try #require(answer.headers[name], "\(name)")
                return try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Int])
            }
            switch header {
            case .app:
                #expect(try figures("x-app-usage")["call_count"] == 95)
            case .page:
                #expect(try figures("x-page-usage")["call_count"] == 95)
                #expect((try figures("x-app-usage")["call_count"] ?? 100) < 90)
            case .businessUseCase:
                let text = try #require(answer.headers["x-business-use-case-usage"])
                let object = try #require(
                    try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: [[String: Any]]])
                let entry = try #require(object.values.first?.first)
                #expect(entry["call_count"] as? Int == 95)
                #expect(entry["type"] as? String == "pages")
                #expect(entry["estimated_time_to_regain_access"] as? Int != nil)
            }
        }
    }

    @Test(arguments: SimHTTP.transports) func everyKthItemIsNull(over transport: GraphSimulator.Transport) async throws
    {
        try await SimHTTP.withSimulator(over: transport) { graph async throws in
            graph.setFault(.nullItems(every: 3))
            let items = try await SimHTTP.batch(graph, Self.tokens).items()
            #expect(items.count == 10)
            for (index, item) in items.enumerated() {
                #expect((item == nil) == ((index + 1) % 3 == 0), "item \(index)")
            }
            #expect(graph.stats.debugTokenItems == 7)
            #expect(graph.stats.debugCount(for: Self.tokens[2]) == 1)
        }
    }

    @Test(arguments: SimHTTP.transports) func truncatedBodyIsHalfTheArray(over transport: GraphSimulator.Transport)
        async throws
    {
        try await SimHTTP.withSimulator(over: transport) { graph async throws in
            let whole = try await SimHTTP.batch(graph, Self.tokens)
            graph.setFault(.truncatedBody, forRequests: 1)
            let cut = try await SimHTTP.batch(graph, Self.tokens)
            #expect(cut.status == 200)
            #expect(cut.text.hasPrefix("[{"))
            #expect((try? JSONSerialization.jsonObject(with: cut.body)) == nil)
            #expect(abs(cut.body.count - whole.body.count / 2) < whole.body.count / 10)
        }
    }

    @Test(arguments: SimHTTP.transports) func everyKthItemBodyIsNotJSON(over transport: GraphSimulator.Transport)
        async throws
    {
        try await SimHTTP.withSimulator(over: transport) { graph async throws in
            graph.setFault(.malformedItems(every: 2))
            let items = try await SimHTTP.batch(graph, Self.tokens).items()
            #expect(items.count == 10)
            for (index, item) in items.enumerated() {
                let item = try #require(item)
                let parses = (try? JSONSerialization.jsonObject(with: Data(item.body.utf8))) != nil
                #expect(parses == ((index + 1) % 2 != 0), "item \(index)")
            }
        }
    }

    /// The echoing faults quote the request's tokens back, so the redaction tests (which find
    /// no token in anything TokenWatch wrote) cannot pass only because nothing was echoed.
    @Test(arguments: SimHTTP.transports) func echoingFaultsQuoteTheTokensOfTheRequest(
        over transport: GraphSimulator.Transport
    ) async throws {
        try await SimHTTP.withSimulator(over: transport) { graph async throws in
            let tokens = Array(Self.tokens.prefix(2))
            graph.setFault(.echoingRejection)
            let rejection = try await SimHTTP.batch(graph, tokens)
            #expect(rejection.status == 400)
            #expect(try rejection.error()["code"] as? Int == 190)
            #expect(try rejection.error()["message"] as? String == "Malformed access token \(SimHTTP.appToken)")
            graph.clearFaults()

            graph.setFault(.echoingOutage)
            let outage = try await SimHTTP.batch(graph, tokens)
            #expect(outage.status == 500)
            #expect(try outage.error()["code"] as? Int == 1)
            #expect(try outage.error()["is_transient"] as? Bool == true)
            let quoted = try #require(try outage.error()["message"] as? String)
            for token in [SimHTTP.appToken] + tokens { #expect(quoted.contains(token), "\(quoted)") }
            graph.clearFaults()

            graph.setFault(.echoingTransientItems)
            for (token, item) in zip(tokens, try await SimHTTP.batch(graph, tokens).items()) {
                let item = try #require(item)
                #expect(item.code == 500)
                #expect(try item.error()["code"] as? Int == 2)
                #expect((try item.error()["message"] as? String)?.contains("input_token \(token).") == true)
            }
            let single = try await SimHTTP.debugToken(graph, tokens[0])
            #expect(single.status == 500)
            #expect(single.text.contains(tokens[0]))
            graph.clearFaults()

            graph.setFault(.echoingInvalidItems)
            for (token, item) in zip(tokens, try await SimHTTP.batch(graph, tokens).items()) {
                let data = try #require(try item?.data())
                #expect(data["is_valid"] as? Bool == false)
                let error = try #require(data["error"] as? [String: Any])
                #expect(error["code"] as? Int == 190)
                #expect(error["message"] as? String == "Malformed access token \(token)")
            }
            graph.clearFaults()

            // me/accounts quotes the user token it was given.
            graph.registerUser(token: "user-token-for-echo-1", pages: [])
            graph.setFault(.echoingRejection)
            let accounts = try await SimHTTP.get(
                "\(graph.baseURL)/v25.0/me/accounts", headers: ["Authorization": "OAuth user-token-for-echo-1"])
            #expect(accounts.status == 400)
            #expect(try accounts.error()["message"] as? String == "Malformed access token user-token-for-echo-1")
        }
    }

    @Test(arguments: SimHTTP.transports) func latencyDoesNotSerialiseRequests(over transport: GraphSimulator.Transport)
        async throws
    {
        try await SimHTTP.withSimulator(over: transport) { graph async throws in
            graph.setFault(.latency(milliseconds: 300))
            let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
                for index in 0..<20 {
                    group.addTask { try await SimHTTP.debugToken(graph, Self.tokens[index % Self.tokens.count]).status }
                }
                return try await group.reduce(into: [Int]()) { $0.append($1) }
            }
            #expect(statuses == Array(repeating: 200, count: 20))
            let stats = graph.stats
            #expect(stats.httpRequests == 20)
            #expect(stats.maxInFlight > 1)
            #expect(stats.inFlight == 0)
        }
    }

    @Test(arguments: SimHTTP.transports) func reversedMissingAndExtraItemsBreakTheCorrespondence(
        over transport: GraphSimulator.Transport
    ) async throws {
        try await SimHTTP.withSimulator(over: transport) { graph async throws in
            let tokens = Array(Self.tokens.prefix(4))
            let pages = (0..<4).map { String(104_000_000_000_010 + $0) }
            graph.setFault(.reversedItems, forRequests: 1)
            let reversed = try await SimHTTP.batch(graph, tokens).items()
            #expect(try reversed.map { try #require($0).data()["profile_id"] as? String } == pages.reversed())
            graph.setFault(.missingItem, forRequests: 1)
            let short = try await SimHTTP.batch(graph, tokens).items()
            #expect(try short.map { try #require($0).data()["profile_id"] as? String } == Array(pages.prefix(3)))
            graph.setFault(.extraItem, forRequests: 1)
            let long = try await SimHTTP.batch(graph, tokens).items()
            #expect(try long.map { try #require($0).data()["profile_id"] as? String } == pages + [pages[0]])
            // Scoped to one request each: the next answer is whole and in order again.
            let whole = try await SimHTTP.batch(graph, tokens).items()
            #expect(try whole.map { try #require($0).data()["profile_id"] as? String } == pages)
        }
    }
}
