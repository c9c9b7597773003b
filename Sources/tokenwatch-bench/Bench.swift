import Foundation
import TokenWatchHTTP
import TokenWatchStore

/// Benchmarks that print figures (never assert on time):
/// `tokenwatch-bench check …` (the whole check against the simulator),
/// `tokenwatch-bench report …` (the HTML report alone) and
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
        usage: tokenwatch-bench check [pages=100000] [latency-ms=100] [batch=50] [concurrency=16]
               tokenwatch-bench report [pages=100000] [DIR]
                 report: the HTML report alone (a component benchmark): write time and size;
                 with DIR the report stays there, to open in a browser.
               tokenwatch-bench engine [--requests N] [--delay-ms MS] [--rounds R]
                 engine: N concurrent requests (default 200) through CurlHTTPClient against a
                 loopback server that answers each after MS milliseconds (default 50), R rounds
                 (default 2: the first opens connections, later ones reuse them).
        """
}
