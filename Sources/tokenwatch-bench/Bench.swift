import Foundation

/// Benchmarks that print figures (never assert on time): `tokenwatch-bench check …`.
@main
struct Bench {
    static func main() async {
        let arguments = Array(CommandLine.arguments.dropFirst())
        do {
            switch arguments.first {
            case "check":
                try await CheckBenchmark.run(Array(arguments.dropFirst()))
            default:
                print("usage: tokenwatch-bench check [pages=100000] [latency-ms=100] [batch=50] [concurrency=16]")
                exit(64)
            }
        } catch {
            print("benchmark failed: \(error)")
            exit(1)
        }
    }
}
