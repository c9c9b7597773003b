import Foundation
import TokenWatchHTTP
import TokenWatchStore

/// Benchmarks that print figures (never assert on time):
/// `tokenwatch-bench e2e …` (what users run: the `tokenwatch` process from exec to exit,
/// against `tokenwatch-sim` and an SMTP sink in processes of their own),
/// `tokenwatch-bench check …` (a component benchmark: the check engine alone, in-process),
/// `tokenwatch-bench report …` (a component benchmark: the HTML report alone) and
/// `tokenwatch-bench engine …` (the libcurl event loop against a local delaying server).
@main
struct Bench {
    static func main() async {
        let arguments = Array(CommandLine.arguments.dropFirst())
        do {
            switch arguments.first {
            case "check":
                try await CheckBenchmark.run(Array(arguments.dropFirst()))
            case "report":
                try ReportBenchmark.run(Array(arguments.dropFirst()))
            case "e2e":
                exit(try await EndToEndBenchmark.run(Array(arguments.dropFirst())))
            case "shards":
                exit(try await ShardBenchmark.run(Array(arguments.dropFirst())))
            case "engine":
                exit(await EngineBench.run(arguments: Array(arguments.dropFirst())))
            default:
                print(Self.usage)
                exit(arguments.first.map { ["-h", "--help", "help"].contains($0) } == true ? 0 : 64)
            }
        } catch {
            print("benchmark failed: \(error)")
            exit(1)
        }
    }

    static let usage = """
        usage: tokenwatch-bench e2e [--pages N[,N…]] [--latency-ms L] [--concurrency C] [--import ROWS]
                                    [--bin DIR] [--sink smtp_sink.py] [--templates DIR] [--max-seconds S] [--report] [--keep]
                                    [--naive SAMPLE] [--first-runs K] [--next-runs K]
                 e2e: the product as users run it. Starts tokenwatch-sim (L ms per request, default
                 100) and an aiosmtpd sink as processes, seeds N pages (default 20000; 1 % invalid,
                 500 companies, one Owner each) and times the `tokenwatch check` process from exec
                 to exit (wall, user+sys CPU, peak RSS via wait4), report sizes, pages/s, and the
                 ratio to the bound ceil(N/50/C) × L. --import also times `tokenwatch pages import`
                 of ROWS generated rows; --report also times `tokenwatch report` (the report alone).
                 --naive also runs a naive checker (one debug_token GET per token, 16 threads, in
                 this process) over SAMPLE seeded tokens against the same simulator, extrapolates
                 it linearly to N and prints the speed-up. --first-runs times the first run K times
                 (the seeded database put back before each) and --next-runs the next (hourly) run
                 K times (default 1 each), and each prints the median: this machine's speed drifts
                 by a fifth within minutes. --keep keeps the run's directory in
                 $TMPDIR, with seeded.sqlite3, the fleet before its first verdict. Uses the
                 binaries in --bin (default: beside this one).
               tokenwatch-bench shards [--pages N] [--latency-ms L] [--concurrency C] [--shards S[,S…]] [--db URL]
                                       [--bin DIR] [--max-seconds S]
                 shards: sharded checks on PostgreSQL (a throw-away server it starts, or --db).
                 Seeds N pages (default 1000000), gives them a first verdict, then for each S
                 (default 1,2,4) times S `check --shard I/S` processes started at once (first exec
                 to last exit) and `finish`: pages/s, CPU, RSS, peak connections, rows written/s.
               tokenwatch-bench report [pages=100000] [DIR]
                 report: COMPONENT benchmark, the HTML report alone: write time and size; with DIR
                 the report stays there, to open in a browser.
               tokenwatch-bench check [pages=100000] [latency-ms=100] [batch=50] [concurrency=16]
                 check: COMPONENT benchmark, the check engine alone in-process (no report, no
                 mail, no process start): never quote it as the product's speed.
               tokenwatch-bench engine [--requests N] [--delay-ms MS] [--rounds R]
                 engine: N concurrent requests (default 200) through CurlHTTPClient against a
                 loopback server that answers each after MS milliseconds (default 50), R rounds
                 (default 2: the first opens connections, later ones reuse them).
        """
}
