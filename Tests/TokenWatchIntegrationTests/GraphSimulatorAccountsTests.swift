import Foundation
import GraphSimulator
import Testing

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

@Suite("GraphSimulator: me/accounts and stats")
struct GraphSimulatorAccountsTests {
    static let userToken = "EAAB-user-token-1"
    static let pages = (1...7).map {
        SimulatedPage(id: String(104_000_000_000_500 + $0), name: "Page \($0)", accessToken: "EAAB-page-\($0)")
    }

    @Test(arguments: SimHTTP.transports) func meAccountsPagesWithCursorsAndAbsoluteNextLinks(
        over transport: GraphSimulator.Transport
    ) async throws {
        try await SimHTTP.withSimulator(over: transport) { graph async throws in
            graph.registerUser(token: Self.userToken, pages: Self.pages)
            let proof = GraphSimulator.appSecretProof(accessToken: Self.userToken, appSecret: SimHTTP.appSecret)
            var url: String? =
                "\(graph.baseURL)/v25.0/me/accounts?fields=id,name,access_token,tasks&limit=3&appsecret_proof=\(proof)"
            var seen: [[String: Any]] = []
            var answers = 0
            while let next = url, answers < 10 {
                let answer = try await SimHTTP.get(next, headers: ["Authorization": "OAuth \(Self.userToken)"])
                answers += 1
                #expect(answer.status == 200)
                #expect(answer.headers["facebook-api-version"] == "v25.0")
                let object = try answer.object()
                let data = try #require(object["data"] as? [[String: Any]])
                seen += data
                let paging = try #require(object["paging"] as? [String: Any])
                let cursors = try #require(paging["cursors"] as? [String: String])
                #expect(cursors["before"] != nil && cursors["after"] != nil)
                url = paging["next"] as? String
                if let url {
                    #expect(url.hasPrefix("\(graph.baseURL)/v25.0/me/accounts?"))
                    #expect(!url.contains(Self.userToken))
                }
            }
            #expect(answers == 3)
            #expect(seen.count == 7)
            #expect(seen.map { $0["id"] as? String } == Self.pages.map(\.id))
            #expect(seen.map { $0["access_token"] as? String } == Self.pages.map(\.accessToken))
            #expect(seen.allSatisfy { ($0["tasks"] as? [String])?.contains("MESSAGING") == true })
            #expect(seen.allSatisfy { $0["name"] is String })
            #expect(graph.stats.requestsByPath["GET /me/accounts"] == 3)
        }
    }

    @Test(arguments: SimHTTP.transports) func meAccountsTokenInTheQueryTravelsInNextAndFieldsAreRespected(
        over transport: GraphSimulator.Transport
    ) async throws {
        try await SimHTTP.withSimulator(over: transport, requireAppSecretProof: false) { graph async throws in
            graph.registerUser(token: Self.userToken, pages: Self.pages)
            let first = try await SimHTTP.get(
                "\(graph.baseURL)/v25.0/me/accounts?fields=name&limit=5&access_token=\(Self.userToken)")
            let object = try first.object()
            let data = try #require(object["data"] as? [[String: Any]])
            #expect(data.count == 5)
            #expect(data.allSatisfy { Set($0.keys) == ["id", "name"] })
            let next = try #require((object["paging"] as? [String: Any])?["next"] as? String)
            let second = try await SimHTTP.get(next)
            let rest = try #require(try second.object()["data"] as? [[String: Any]])
            #expect(rest.map { $0["id"] as? String } == Self.pages.suffix(2).map(\.id))
            #expect((try second.object()["paging"] as? [String: Any])?["next"] == nil)
        }
    }

    @Test(arguments: SimHTTP.transports) func meAccountsRefusesUnknownOrMissingUserTokens(
        over transport: GraphSimulator.Transport
    ) async throws {
        try await SimHTTP.withSimulator(over: transport, requireAppSecretProof: false) { graph async throws in
            let unknown = try await SimHTTP.get("\(graph.baseURL)/v25.0/me/accounts?access_token=EAAB-nobody")
            #expect(unknown.status == 400)
            #expect(try unknown.error()["code"] as? Int == 190)
            let missing = try await SimHTTP.get("\(graph.baseURL)/v25.0/me/accounts")
            #expect(missing.status == 400)
            #expect(try missing.error()["code"] as? Int == 2500)
        }
    }

    @Test(arguments: SimHTTP.transports) func pageTokensHandedOutByMeAccountsDebugAsValid(
        over transport: GraphSimulator.Transport
    ) async throws {
        try await SimHTTP.withSimulator(over: transport) { graph async throws in
            graph.registerUser(token: Self.userToken, pages: Self.pages)
            let items = try await SimHTTP.batch(graph, Self.pages.map(\.accessToken)).items()
            for (page, item) in zip(Self.pages, items) {
                let data = try #require(try item?.data())
                #expect(data["is_valid"] as? Bool == true)
                #expect(data["profile_id"] as? String == page.id)
            }
        }
    }

    @Test(arguments: SimHTTP.transports) func statsCountPathsTokensAndBatchesAndReset(
        over transport: GraphSimulator.Transport
    ) async throws {
        try await SimHTTP.withSimulator(over: transport) { graph async throws in
            let tokens = (0..<50).map { GraphSimulator.token(.valid, page: String(104_000_000_001_000 + $0)) }
            _ = try await SimHTTP.batch(graph, tokens)
            _ = try await SimHTTP.batch(graph, Array(tokens.prefix(3)))
            _ = try await SimHTTP.debugToken(graph, tokens[0])
            _ = try await SimHTTP.get("\(graph.baseURL)/v25.0/nowhere")
            var stats = graph.stats
            #expect(stats.httpRequests == 4)
            #expect(stats.batchRequests == 2)
            #expect(stats.debugTokenItems == 54)
            #expect(stats.itemsPerBatch == [3, 50])
            #expect(stats.batchSizes == [3: 1, 50: 1])
            #expect(stats.requestsByPath == ["POST /": 2, "GET /debug_token": 1, "GET /nowhere": 1])
            #expect(stats.debugCount(for: tokens[0]) == 3)
            #expect(stats.debugCount(for: tokens[1]) == 2)
            #expect(stats.debugCount(for: tokens[49]) == 1)
            #expect(stats.debugCount(for: "never-sent") == 0)
            #expect(stats.maxInFlight >= 1)
            #expect(stats.inFlight == 0)
            graph.resetStats()
            stats = graph.stats
            #expect(stats == GraphSimulatorStats())
        }
    }

    @Test func simulatorRestartsOnANewPort() async throws {
        let graph = GraphSimulator(appID: SimHTTP.appID, appSecret: SimHTTP.appSecret)
        try await graph.start()
        await #expect(throws: GraphSimulatorError.alreadyStarted) { try await graph.start() }
        #expect(try await SimHTTP.debugToken(graph, GraphSimulator.token(.valid, page: "1")).status == 200)
        await graph.stop()
        #expect(graph.port == 0)
        try await graph.start()
        #expect(graph.port > 0)
        #expect(try await SimHTTP.debugToken(graph, GraphSimulator.token(.valid, page: "1")).status == 200)
        await graph.stop()
    }
}
