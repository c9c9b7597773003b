import Foundation
import TokenWatch
import TokenWatchModel
import TokenWatchStore
import TokenWatchSystem
import TokenWatchTestSupport

/// `tokenwatch-bench shards`: sharded checks against PostgreSQL, timed as Kubernetes runs
/// them. One PostgreSQL (a throw-away server this benchmark starts, or `--db URL`), one
/// `tokenwatch-sim` process answering each request after L ms, N pages seeded once (1 %
/// invalid, 500 companies). A first wave (the widest) gives every page its first verdict; then,
/// for each S in `--shards`, S `tokenwatch check --shard I/S` processes start at once and the
/// wave is timed from the first exec to the last exit, followed by `tokenwatch finish` (timed
/// on its own, mail to a file transport). Each wave is a "next run": what runs every hour.
///
/// Printed per S: the wave's wall time and pages/s, the shards' summed user CPU and largest
/// peak RSS (wait4), the peak number of connections to the database (pg_stat_activity, polled
/// every 200 ms), rows written per second (pg_stat_user_tables inserts + updates + deletes),
/// the ratio to the latency bound ceil(N/S/50/C) × L, and `finish`'s wall time and RSS.
enum ShardBenchmark {
    struct Options {
        var pages = 1_000_000
        var latencyMilliseconds = 100
        var concurrency = 16
        var shardCounts = [1, 2, 4]
        var database: String?
        var binDirectory = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().path
        var maxSeconds = 1800

        init?(_ arguments: [String]) {
            var remaining = arguments[...]
            while let flag = remaining.popFirst() {
                guard let value = remaining.popFirst() else { return nil }
                switch flag {
                case "--pages":
                    guard let number = Int(value), number > 0 else { return nil }
                    pages = number
                case "--latency-ms":
                    guard let number = Int(value), number >= 0 else { return nil }
                    latencyMilliseconds = number
                case "--concurrency":
                    guard let number = Int(value), number > 0 else { return nil }
                    concurrency = number
                case "--shards":
                    let list = value.split(separator: ",").compactMap { Int($0) }
                    guard !list.isEmpty, list.allSatisfy({ $0 >= 1 }) else { return nil }
                    shardCounts = list
                case "--db": database = value
                case "--bin": binDirectory = value
                case "--max-seconds":
                    guard let number = Int(value), number > 0 else { return nil }
                    maxSeconds = number
                default: return nil
                }
            }
        }
    }

    struct Wave {
        var shards: Int
        var wall: Double
        var userCPU: Double
        var systemCPU: Double
        var largestRSSKiB: Int
        var peakConnections: Int
        var rowsWritten: Int
        var exitStatuses: [Int32]
        var finish: EndToEndBenchmark.Measurement?
    }

    static func run(_ arguments: [String]) async throws -> Int32 {
        guard let options = Options(arguments) else {
            FileHandle.standardError.write(Data(Bench.usage.utf8))
            return 64
        }
        let tokenwatch = options.binDirectory + "/tokenwatch"
        let simulator = options.binDirectory + "/tokenwatch-sim"
        for binary in [tokenwatch, simulator] where !FileManager.default.isExecutableFile(atPath: binary) {
            print("missing \(binary): build it first (swift build -c release)")
            return 1
        }
        let directory = try EndToEndBenchmark.makeDirectory("shards-\(options.pages)")
        defer { try? FileManager.default.removeItem(atPath: directory) }

        var server: PostgresServer?
        let url: String
        if let given = options.database {
            url = given
        } else {
            let started = try await PostgresServer.start()
            server = started
            url = try await started.createDatabase(named: "bench")
            log("PostgreSQL 15 started on 127.0.0.1:\(started.port) (fsync off, as in the tests)")
        }
        let psql = Psql(url: url)

        var configuration = Configuration(databasePath: url)
        configuration.keyFile = directory + "/bench.key"
        let seedStart = Date()
        try await EndToEndBenchmark.seed(pages: options.pages, configuration: configuration)
        log("seeded \(options.pages) pages in \(format(Date().timeIntervalSince(seedStart), 1)) s (library, not timed)")

        let graph = try await Helper.start(
            simulator,
            [
                "--latency-ms", "\(options.latencyMilliseconds)", "--app-id", EndToEndBenchmark.appID, "--app-secret",
                EndToEndBenchmark.appSecret,
            ],
            stderrPath: directory + "/sim.err")
        defer { graph.stop() }
        var environment = EndToEndBenchmark.baseEnvironment(databasePath: url)
        environment["TOKENWATCH_KEY_FILE"] = configuration.keyFile
        environment["TOKENWATCH_REPORTS_DIR"] = directory + "/reports"
        environment["TOKENWATCH_GRAPH_URL"] = "http://127.0.0.1:\(graph.port)"
        environment["TOKENWATCH_APP_ID"] = EndToEndBenchmark.appID
        environment["TOKENWATCH_APP_SECRET"] = EndToEndBenchmark.appSecret
        environment["TOKENWATCH_SMTP_URL"] = "file://" + directory + "/mail"
        environment["TOKENWATCH_MAIL_FROM"] = "tokenwatch@bench.example"
        environment["TOKENWATCH_RUN_TIMEOUT"] = "\(options.maxSeconds)"
        environment["TOKENWATCH_CONCURRENCY"] = "\(options.concurrency)"

        // Every page's first verdict, so each timed wave is an hourly one: given by the widest
        // wave (a first verdict writes every page's row and log, the slowest run there is).
        let widest = options.shardCounts.max() ?? 1
        let firstStart = Date()
        let first = try await wave(
            shards: widest, options: options, tokenwatch: tokenwatch, environment: environment,
            directory: directory, psql: psql)
        log(
            "first verdicts, \(widest) shards: \(format(Date().timeIntervalSince(firstStart), 1)) s, exits \(first.exitStatuses) (not in the table); load \(EndToEndBenchmark.loadAverage())"
        )

        var waves: [Wave] = []
        for shards in options.shardCounts {
            waves.append(
                try await wave(
                    shards: shards, options: options, tokenwatch: tokenwatch, environment: environment,
                    directory: directory, psql: psql))
            printTable(waves, options: options)
        }
        await server?.stop()
        return waves.allSatisfy { $0.exitStatuses.allSatisfy { $0 == 0 } && $0.finish?.exitStatus == 0 } ? 0 : 1
    }

    static func wave(
        shards: Int, options: Options, tokenwatch: String, environment: [String: String], directory: String,
        psql: Psql
    ) async throws -> Wave {
        let environment = environment.merging(["TOKENWATCH_SHARDS": "\(shards)"]) { $1 }
        let rowsBefore = try await psql.rowsWritten()
        let sampler = ConnectionSampler(psql: psql)
        let sampling = Task { await sampler.run() }
        let start = ChildProcess.monotonicSeconds()
        let results = try await withThrowingTaskGroup(of: EndToEndBenchmark.Measurement.self) { group in
            for index in 0..<shards {
                group.addTask {
                    try await ChildProcess.time(
                        tokenwatch, ["check", "-q", "--shard", "\(index)/\(shards)"], environment: environment,
                        outputPrefix: directory + "/shard-\(index)-of-\(shards)", maxSeconds: options.maxSeconds,
                        label: "shard \(index)/\(shards)", rows: 0)
                }
            }
            var all: [EndToEndBenchmark.Measurement] = []
            for try await result in group { all.append(result) }
            return all
        }
        let wall = ChildProcess.monotonicSeconds() - start
        sampling.cancel()
        let peak = await sampler.peak
        let rowsWritten = try await psql.rowsWritten() - rowsBefore
        let finish = try await ChildProcess.time(
            tokenwatch, ["finish", "-q"], environment: environment, outputPrefix: directory + "/finish-\(shards)",
            maxSeconds: options.maxSeconds, label: "finish", rows: options.pages)
        log("\(shards) shards: load \(EndToEndBenchmark.loadAverage())")
        for result in results where result.exitStatus != 0 {
            log("\(result.label) exited \(result.exitStatus): see \(directory)/shard-*.err")
        }
        return Wave(
            shards: shards, wall: wall, userCPU: results.reduce(0) { $0 + $1.user },
            systemCPU: results.reduce(0) { $0 + $1.system }, largestRSSKiB: results.map(\.peakRSSKiB).max() ?? 0,
            peakConnections: peak, rowsWritten: rowsWritten, exitStatuses: results.map(\.exitStatus), finish: finish)
    }

    static func printTable(_ waves: [Wave], options: Options) {
        print("")
        print(
            "sharded check, \(options.pages) pages, L=\(options.latencyMilliseconds) ms, C=\(options.concurrency) per shard: the wave from the first shard's exec to the last one's exit"
        )
        let header = [
            "shards", "wave s", "pages/s", "bound s", "ratio", "CPU s (all shards)", "max RSS MiB", "peak conns",
            "rows written/s", "finish s", "finish RSS MiB", "exits",
        ]
        var lines = [header]
        for wave in waves {
            let requests = (Double(options.pages) / Double(wave.shards) / 50).rounded(.up)
            let bound =
                (requests / Double(options.concurrency)).rounded(.up) * Double(options.latencyMilliseconds) / 1000
            lines.append([
                "\(wave.shards)", format(wave.wall, 1), format(Double(options.pages) / wave.wall, 0), format(bound, 1),
                bound > 0 ? format(wave.wall / bound, 2) : "-", format(wave.userCPU + wave.systemCPU, 1),
                format(Double(wave.largestRSSKiB) / 1024, 0), "\(wave.peakConnections)",
                format(Double(wave.rowsWritten) / wave.wall, 0), wave.finish.map { format($0.wall, 1) } ?? "-",
                wave.finish.map { format(Double($0.peakRSSKiB) / 1024, 0) } ?? "-",
                (wave.exitStatuses + [wave.finish?.exitStatus ?? -1]).map(String.init).joined(separator: ","),
            ])
        }
        let widths = header.indices.map { column in lines.map { $0[column].count }.max() ?? 0 }
        for line in lines {
            print(
                line.enumerated().map { column, cell in
                    String(repeating: " ", count: widths[column] - cell.count) + cell
                }.joined(separator: "  "))
        }
    }

    static func format(_ value: Double, _ digits: Int) -> String { String(format: "%.\(digits)f", value) }

    static func log(_ message: String) {
        FileHandle.standardError.write(Data("shards: \(message)\n".utf8))
    }
}

/// `psql` against the benchmark's database, for the server's own statistics.
struct Psql: Sendable {
    let url: String

    func query(_ sql: String) async throws -> String {
        try await BlockingWork.run {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = ["psql", "-X", "-tA", "-c", sql, url]
            let output = Pipe()
            process.standardOutput = output
            process.standardError = FileHandle.nullDevice
            try process.run()
            let data = output.fileHandleForReading.readDataToEndOfFile()
            process.waitUntilExit()
            return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        }
    }

    /// Rows inserted, updated and deleted in the database's tables so far.
    func rowsWritten() async throws -> Int {
        // The statistics collector reports with a delay: ask it to flush first.
        _ = try? await query("SELECT pg_stat_force_next_flush()")
        return Int(
            try await query(
                "SELECT COALESCE(SUM(n_tup_ins + n_tup_upd + n_tup_del), 0) FROM pg_stat_user_tables")) ?? 0
    }

    /// Client connections to this database now.
    func connections() async throws -> Int {
        Int(
            try await query(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"))
            ?? 0
    }
}

/// Samples the database's connections every 200 ms until cancelled; keeps the peak.
actor ConnectionSampler {
    let psql: Psql
    private(set) var peak = 0

    init(psql: Psql) { self.psql = psql }

    func run() async {
        while !Task.isCancelled {
            if let now = try? await psql.connections() { peak = max(peak, now) }
            try? await Task.sleep(for: .milliseconds(200))
        }
    }
}
