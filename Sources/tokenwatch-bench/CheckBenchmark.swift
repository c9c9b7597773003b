import Foundation
import GraphSimulator
import Logging
import TokenWatch
import TokenWatchCheck
import TokenWatchModel
import TokenWatchStore

/// `tokenwatch-bench check [pages] [latency-ms] [batch] [concurrency]`: the check pipeline on
/// N pages in a temporary database against the Graph simulator answering each HTTP request
/// after L ms. Prints wall time, pages per second, peak RSS and the ratio of wall time to the
/// latency bound ceil(N / batch / concurrency) × L.
enum CheckBenchmark {
    static func run(_ arguments: [String]) async throws {
        let pages = arguments.count > 0 ? Int(arguments[0]) ?? 100_000 : 100_000
        let latencyMS = arguments.count > 1 ? Int(arguments[1]) ?? 100 : 100
        let batch = arguments.count > 2 ? Int(arguments[2]) ?? 50 : 50
        let concurrency = arguments.count > 3 ? Int(arguments[3]) ?? 16 : 16
        var logger = Logger(label: "bench")
        logger.logLevel = .warning

        let directory = NSTemporaryDirectory() + "tokenwatch-bench-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }

        let appSecret = "bench-secret"
        let simulator = GraphSimulator(appID: "1234567890", appSecret: appSecret)
        try await simulator.start()
        if latencyMS > 0 { simulator.setFault(.latency(milliseconds: latencyMS)) }

        var configuration = Configuration(databasePath: directory + "/bench.sqlite3")
        configuration.graphURL = simulator.baseURL
        configuration.appID = "1234567890"
        configuration.appSecret = Secret(appSecret)
        configuration.reportsDirectory = directory + "/reports"
        _ = try await Workspace.initialise(configuration)
        let workspace = try await Workspace.open(configuration)

        let seedStart = Date()
        let base = 200_000_000_000_000
        for chunk in stride(from: 0, to: pages, by: 10_000) {
            let rows = (chunk..<min(chunk + 10_000, pages)).map { index in
                let id = String(base + index)
                return PageUpsert(
                    company: "Company \(index % 500)", pageID: id, pageName: "Page \(index)",
                    token: Secret("simtok_valid_\(id)_b"), source: "bench")
            }
            _ = try await workspace.database.upsertPages(rows, cipher: workspace.cipher, actor: "bench", now: Date())
        }
        print("seeded \(pages) pages in \(String(format: "%.1f", Date().timeIntervalSince(seedStart))) s")

        let services = try Services(configuration: configuration, logger: logger)
        let engine = CheckEngine(
            database: workspace.database, graph: try services.graph(),
            rules: VerdictRules(appID: "1234567890", requiredScopes: configuration.requiredScopes),
            runTimeout: 3600, configuredVersion: configuration.graphVersion, logger: logger)
        let start = Date()
        let targets = try await workspace.database.checkTargets(pageIDs: nil, cipher: workspace.cipher)
        let loaded = Date()
        let runID = try await workspace.database.startRun(
            actor: "bench", configuredVersion: "v25.0", pagesTotal: targets.count, now: start)
        let outcome = try await engine.check(
            targets, options: CheckOptions(concurrency: concurrency, batchSize: batch, actor: "bench"), runID: runID)
        let wall = Date().timeIntervalSince(start)
        let stats = simulator.stats
        await simulator.stop()

        let requests = Int((Double(pages) / Double(batch)).rounded(.up))
        let rounds = (Double(requests) / Double(concurrency)).rounded(.up)
        let bound = rounds * Double(latencyMS) / 1000
        print("pages \(pages), latency \(latencyMS) ms, batch \(batch), concurrency \(concurrency)")
        print("load + decrypt: \(String(format: "%.2f", loaded.timeIntervalSince(start))) s")
        print("wall time: \(String(format: "%.2f", wall)) s, \(String(format: "%.0f", Double(pages) / wall)) pages/s")
        print(
            "verdicts: \(outcome.valid) valid, \(outcome.invalid) invalid, \(outcome.unknown) unknown, \(outcome.unchecked) unchecked"
        )
        print("graph requests: \(stats.batchRequests) batches, max in flight \(stats.maxInFlight)")
        if latencyMS > 0 {
            print("latency bound: \(String(format: "%.2f", bound)) s, ratio \(String(format: "%.2f", wall / bound))")
        }
        print("peak RSS: \(peakRSSMegabytes()) MB")
    }

    static func peakRSSMegabytes() -> Int {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return Int(usage.ru_maxrss) / 1024  // kilobytes on Linux
    }
}
