import Foundation
import GraphSimulator
import Testing

@testable import TokenWatch
@testable import TokenWatchCheck
@testable import TokenWatchModel
@testable import TokenWatchStore

/// Issue #14's shards, through the built binary: `check --shard I/N` processes at once over
/// one store and one simulator, then `finish`. Every page gets a verdict from exactly one
/// shard, no shard mails, and `finish` sends each Owner one digest gathering the pages of all
/// shards, writes one report of the fleet, and names a shard that has not finished.
@Suite("Sharded checks and finish (binary)", .serialized)
struct ShardedCheckTests {
    static let shards = 4
    static let companies = ["Acme", "Beta", "Gamma"]

    /// 3 companies × 40 pages; every tenth page invalid (password changed), so each company
    /// has 4 newly invalid pages spread over the shards.
    func seedFleet(_ harness: PipelineHarness) async throws -> (pages: [String], invalid: [String: [String]]) {
        var all: [String] = []
        var invalid: [String: [String]] = [:]
        for (c, company) in Self.companies.enumerated() {
            var pages: [(String, TokenBehaviour)] = []
            for n in 0..<40 {
                let pageID = String(100_000 * (c + 1) + n)
                let bad = n % 10 == 3
                pages.append((pageID, bad ? .passwordChanged : .valid))
                if bad { invalid[company, default: []].append(pageID) }
                all.append(pageID)
            }
            try await harness.seed(pages, company: company, owners: ["owner@\(company.lowercased()).example"])
        }
        return (all, invalid)
    }

    func shardEnvironment(_ harness: PipelineHarness, sink: SMTPTestServer) -> [String: String] {
        harness.binaryEnvironment(smtpURL: sink.url, ["TOKENWATCH_SHARDS": "\(Self.shards)"])
    }

    @Test func fourShardsAtOnceThenFinishSendOneDigestPerOwner() async throws {
        let sink = try await SMTPTestServer.start()
        let harness = try await PipelineHarness()
        let fleet = try await seedFleet(harness)
        let env = shardEnvironment(harness, sink: sink)

        // The shards run at once, as an Indexed Job's pods do; two of them get their index
        // from JOB_COMPLETION_INDEX, as Kubernetes sets it.
        var running: [TokenWatchBinary.Running] = []
        for index in 0..<Self.shards {
            let byJob = index % 2 == 1
            running.append(
                try await TokenWatchBinary.start(
                    byJob ? ["check"] : ["check", "--shard", "\(index)/\(Self.shards)"],
                    environment: byJob ? env.merging(["JOB_COMPLETION_INDEX": "\(index)"]) { $1 } : env,
                    timeoutSeconds: 90))
        }
        var checkedPerShard: [Int] = []
        for (index, shard) in running.enumerated() {
            let result = try await shard.result()
            #expect(result.status == 0, "shard \(index): \(result.all)")
            #expect(result.stdout.contains("shard \(index)/\(Self.shards): checked"), "\(result.stdout)")
            checkedPerShard.append(
                Int(result.stdout.firstMatch(of: #/checked (\d+) pages/#)?.1 ?? "") ?? -1)
        }
        // Every page in exactly one shard, as the stable hash says.
        #expect(checkedPerShard.reduce(0, +) == fleet.pages.count, "\(checkedPerShard)")
        for index in 0..<Self.shards {
            let expected = fleet.pages.count { Shard(index: index, count: Self.shards)!.contains(pageID: $0) }
            #expect(checkedPerShard[index] == expected)
        }
        #expect(try sink.receivedMessages().isEmpty, "a shard sent mail")
        for page in try await harness.workspace.database.pages() {
            #expect(page.status == .valid || page.status == .invalid, "\(page.pageID) has no verdict")
        }

        let finish = try await TokenWatchBinary.run(["finish"], environment: env, timeoutSeconds: 90)
        #expect(finish.status == 0, "\(finish.all)")
        #expect(finish.stdout.contains("checked \(fleet.pages.count) pages"), "\(finish.stdout)")
        #expect(finish.stdout.contains("(\(fleet.invalid.values.joined().count) new)"), "\(finish.stdout)")
        let perRecipient = try sink.messagesPerRecipient()
        #expect(
            perRecipient
                == Dictionary(uniqueKeysWithValues: Self.companies.map { ("owner@\($0.lowercased()).example", 1) }))
        // Each company's digest names all of its invalid pages, from whichever shard.
        for message in try sink.receivedMessages() {
            guard
                let company = Self.companies.first(where: {
                    message.recipients.contains("owner@\($0.lowercased()).example")
                })
            else { continue }
            for pageID in fleet.invalid[company] ?? [] {
                #expect(
                    String(decoding: message.data, as: UTF8.self).contains(pageID),
                    "\(company)'s digest lacks page \(pageID)")
            }
        }
        // One report of the fleet, listing every page.
        let reports = try FileManager.default.contentsOfDirectory(atPath: harness.configuration.reportsDirectory)
        let csv = try #require(reports.first { $0.hasSuffix(".csv") })
        let rows = try String(contentsOfFile: harness.configuration.reportsDirectory + "/" + csv, encoding: .utf8)
            .split(whereSeparator: \.isNewline).dropFirst()
        #expect(rows.count == fleet.pages.count)

        // A second finish sends nothing again.
        let again = try await TokenWatchBinary.run(["finish"], environment: env, timeoutSeconds: 90)
        #expect(again.status == 0, "\(again.all)")
        #expect(try sink.receivedMessages().count == Self.companies.count)
        await harness.stop()
        await sink.stop()
    }

    /// The simulation: four shards at once against one simulator and one store; one is
    /// killed (SIGKILL) mid-run and run again; then `finish`. Every page has a verdict, each
    /// Owner gets one digest, nothing is sent twice.
    @Test func aShardKilledMidRunIsRunAgainAndFinishSendsEachDigestOnce() async throws {
        let sink = try await SMTPTestServer.start()
        let harness = try await PipelineHarness()
        let fleet = try await seedFleet(harness)
        // Slow answers and small batches, so the shard to kill is still running when it dies.
        harness.simulator.setFault(.latency(milliseconds: 150))
        let env = shardEnvironment(harness, sink: sink).merging([
            "TOKENWATCH_CONCURRENCY": "1", "TOKENWATCH_BATCH_SIZE": "3",
        ]) { $1 }
        let victim = 1
        let victimPages = Set(fleet.pages.filter { Shard(index: victim, count: Self.shards)!.contains(pageID: $0) })
        var running: [TokenWatchBinary.Running] = []
        for index in 0..<Self.shards {
            running.append(
                try await TokenWatchBinary.start(
                    ["check", "--shard", "\(index)/\(Self.shards)"], environment: env, timeoutSeconds: 120))
        }
        // Once the victim has committed a batch, it dies mid-run.
        let committed = try await eventually(within: 30) {
            try await harness.workspace.database.pages().contains {
                victimPages.contains($0.pageID) && $0.lastCheckedAt != nil
            }
        }
        #expect(committed)
        running[victim].send(SIGKILL)
        for (index, shard) in running.enumerated() {
            let result = try await shard.result()
            if index == victim {
                #expect(result.signalled, "the victim finished before it was killed: \(result.all)")
            } else {
                #expect(result.status == 0, "shard \(index): \(result.all)")
            }
        }
        let unchecked = try await harness.workspace.database.pages().filter { $0.lastCheckedAt == nil }
        #expect(!unchecked.isEmpty && unchecked.allSatisfy { victimPages.contains($0.pageID) })

        // Its lock died with it: the rerun takes it and checks what is left.
        harness.simulator.clearFaults()
        let rerun = try await TokenWatchBinary.run(
            ["check", "--shard", "\(victim)/\(Self.shards)"], environment: env, timeoutSeconds: 120)
        #expect(rerun.status == 0, "\(rerun.all)")
        let finish = try await TokenWatchBinary.run(["finish"], environment: env, timeoutSeconds: 90)
        #expect(finish.status == 0, "\(finish.all)")

        for page in try await harness.workspace.database.pages() {
            #expect(page.status == .valid || page.status == .invalid, "\(page.pageID) has no verdict")
        }
        #expect(
            try sink.messagesPerRecipient()
                == Dictionary(uniqueKeysWithValues: Self.companies.map { ("owner@\($0.lowercased()).example", 1) }))
        for (company, pages) in fleet.invalid {
            for pageID in pages {
                #expect(
                    try await harness.notifiedOwners(pageID) == ["owner@\(company.lowercased()).example"],
                    "page \(pageID)")
            }
        }
        await harness.stop()
        await sink.stop()
    }

    @Test func finishNamesTheShardsThatHaveNotRunAndSendsWhatTheOthersFound() async throws {
        let sink = try await SMTPTestServer.start()
        let harness = try await PipelineHarness()
        _ = try await seedFleet(harness)
        let env = shardEnvironment(harness, sink: sink)
        for index in [0, 2] {
            let result = try await TokenWatchBinary.run(
                ["check", "--shard", "\(index)/\(Self.shards)"], environment: env, timeoutSeconds: 90)
            #expect(result.status == 0, "\(result.all)")
        }
        let finish = try await TokenWatchBinary.run(["finish"], environment: env, timeoutSeconds: 90)
        #expect(finish.status == 75, "\(finish.all)")
        #expect(finish.stdout.contains("shard 1/4 has not run"), "\(finish.stdout)")
        #expect(finish.stdout.contains("shard 3/4 has not run"), "\(finish.stdout)")
        #expect(!finish.stdout.contains("shard 0/4"), "\(finish.stdout)")
        await harness.stop()
        await sink.stop()
    }

    @Test func shardMistakesAreNamed() async throws {
        let harness = try await PipelineHarness()
        let env = harness.binaryEnvironment()
        let badFlag = try await TokenWatchBinary.run(["check", "--shard", "4/4"], environment: env)
        #expect(badFlag.status == 64, "\(badFlag.all)")
        #expect(badFlag.stderr.contains("--shard"), "\(badFlag.stderr)")
        let badIndex = try await TokenWatchBinary.run(
            ["check"], environment: env.merging(["TOKENWATCH_SHARDS": "4", "JOB_COMPLETION_INDEX": "5"]) { $1 })
        #expect(badIndex.status == 78, "\(badIndex.all)")
        #expect(badIndex.stderr.contains("JOB_COMPLETION_INDEX"), "\(badIndex.stderr)")
        let noShards = try await TokenWatchBinary.run(["finish"], environment: env)
        #expect(noShards.status == 78, "\(noShards.all)")
        #expect(noShards.stderr.contains("TOKENWATCH_SHARDS"), "\(noShards.stderr)")
        await harness.stop()
    }
}

/// Shards share Graph's back-off through the store: one that is rate limited records until
/// when, and another that reads it sends nothing.
@Suite("Shards share Graph's back-off")
struct SharedThrottleTests {
    func shardOptions(_ index: Int) -> CheckOptions {
        var options = CheckOptions(concurrency: 2, batchSize: 5, actor: "cron")
        options.shard = Shard(index: index, count: 2)
        return options
    }

    @Test func aRateLimitedShardHoldsTheOthersBack() async throws {
        let harness = try await PipelineHarness()
        try await harness.seed((0..<40).map { (String(5_000 + $0), TokenBehaviour.valid) })
        harness.simulator.setFault(.rateLimit(afterCalls: 0))
        let limited = try await harness.check(shardOptions(0), email: false)
        #expect(limited.outcome.rateLimited)
        let until = try #require(try await harness.workspace.database.graphThrottledUntil())
        #expect(until > Date())

        harness.simulator.clearFaults()
        harness.simulator.resetStats()
        let held = try await harness.check(shardOptions(1), email: false)
        #expect(harness.simulator.stats.batchRequests == 0)
        #expect(held.outcome.rateLimited)
        #expect(held.outcome.unchecked == held.outcome.pagesTotal && held.outcome.pagesTotal > 0)
        await harness.stop()
    }
}
