import Foundation
import GraphSimulator

/// `tokenwatch-sim`: the Graph simulator as a process of its own, so a benchmark times the
/// `tokenwatch` process against a server that does not share its CPU accounting or its heap.
///
/// ```
/// tokenwatch-sim [--latency-ms MS] [--app-id ID] [--app-secret SECRET] [--max-seconds S]
///                [--http threads|flyingfox]
/// ```
/// Listens on 127.0.0.1 at a free port and prints `PORT` alone on the first line of stdout.
/// Tokens behave as their names say (`simtok_<behaviour>_<pageid>_<anything>`). Stops when
/// stdin closes or after `--max-seconds` (default 3600), so it never outlives the benchmark
/// that started it; SIGTERM ends it too (the default action).
@main
struct SimulatorMain {
    static func main() async {
        guard let options = Options(Array(CommandLine.arguments.dropFirst())) else {
            FileHandle.standardError.write(Data(usage.utf8))
            exit(64)
        }
        let simulator = GraphSimulator(appID: options.appID, appSecret: options.appSecret)
        do {
            try await simulator.start(transport: options.transport)
        } catch {
            FileHandle.standardError.write(Data("tokenwatch-sim: \(error)\n".utf8))
            exit(1)
        }
        if options.latencyMilliseconds > 0 { simulator.setFault(.latency(milliseconds: options.latencyMilliseconds)) }
        // Unbuffered: the benchmark reads the port while this process keeps running.
        FileHandle.standardOutput.write(Data("\(simulator.port)\n".utf8))

        await withTaskGroup(of: Void.self) { group in
            group.addTask { await Self.stdinClosed() }
            group.addTask { try? await Task.sleep(for: .seconds(options.maxSeconds)) }
            _ = await group.next()
            group.cancelAll()
        }
        let stats = simulator.stats
        FileHandle.standardError.write(
            Data("tokenwatch-sim: \(stats.batchRequests) batch requests, max \(stats.maxInFlight) in flight\n".utf8))
        await simulator.stop()
        exit(0)
    }

    /// Returns once stdin reaches end of file; read on a thread of its own, never the pool.
    static func stdinClosed() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            Thread.detachNewThread {
                var buffer = [UInt8](repeating: 0, count: 256)
                while read(STDIN_FILENO, &buffer, buffer.count) > 0 {}
                continuation.resume()
            }
        }
    }

    static let usage = """
        usage: tokenwatch-sim [--latency-ms MS] [--app-id ID] [--app-secret SECRET] [--max-seconds S]
                              [--http threads|flyingfox]
          Serves the simulated Graph API on 127.0.0.1 and prints its port on the first line.
          Stops when stdin closes, on SIGTERM, or after S seconds (default 3600).
          --http: a thread per connection (default), or FlyingFox as in the tests.

        """

    struct Options {
        var latencyMilliseconds = 0
        var appID = "1234567890"
        var appSecret = "bench-secret"
        var maxSeconds = 3600
        var transport = GraphSimulator.Transport.threads

        init?(_ arguments: [String]) {
            var remaining = arguments[...]
            while let flag = remaining.popFirst() {
                guard let value = remaining.popFirst() else { return nil }
                switch flag {
                case "--latency-ms":
                    guard let number = Int(value), number >= 0 else { return nil }
                    latencyMilliseconds = number
                case "--max-seconds":
                    guard let number = Int(value), number > 0 else { return nil }
                    maxSeconds = number
                case "--http":
                    switch value {
                    case "threads": transport = .threads
                    case "flyingfox": transport = .flyingFox
                    default: return nil
                    }
                case "--app-id": appID = value
                case "--app-secret": appSecret = value
                default: return nil
                }
            }
        }
    }
}
