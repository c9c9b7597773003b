import FlyingFox
import FlyingSocks
import Foundation
import TokenWatchHTTP
import TokenWatchMail
import TokenWatchModel

/// Fires many requests at once through `CurlHTTPClient` against a loopback FlyingFox server
/// that waits before answering, and reports the wall time and how many were in flight.
/// With every transfer on one `curl_multi_poll` thread, N requests × D ms should take about D
/// ms plus overhead, not N × D.
enum EngineBench {
    static func run(arguments: [String]) async -> Int32 {
        guard let options = Options(arguments) else {
            FileHandle.standardError.write(Data(Bench.usage.utf8))
            return 64
        }
        let gauge = InFlightGauge()
        let delay = Duration.milliseconds(options.delayMilliseconds)
        let server: HTTPServer
        do {
            server = HTTPServer(
                address: try sockaddr_in.inet(ip4: "127.0.0.1", port: 0), timeout: 60,
                // FlyingFox logs every connection at info level by default.
                logger: .disabled,
                handler: ClosureHTTPHandler { _ in
                    await gauge.enter()
                    try? await Task.sleep(for: delay)
                    await gauge.leave()
                    return FlyingFox.HTTPResponse(statusCode: .ok, body: Data("ok".utf8))
                })
        } catch {
            report("cannot create the server: \(error)")
            return 1
        }
        let serverTask = Task { try await server.run() }
        defer { serverTask.cancel() }
        guard (try? await server.waitUntilListening()) != nil, case .ip4(_, let port)? = await server.listeningAddress
        else {
            report("the server did not start listening")
            return 1
        }

        let loop = CurlEventLoop(maxTotalConnections: options.requests + 8)
        let client = CurlHTTPClient(loop: loop)
        let url = "http://127.0.0.1:\(port)/"
        print(
            "engine: \(options.requests) concurrent requests, server answers each after \(options.delayMilliseconds) ms"
        )
        var worst: Duration = .zero
        var failures = 0
        for round in 1...options.rounds {
            await gauge.reset()
            let clock = ContinuousClock()
            let start = clock.now
            let errors = await withTaskGroup(of: Bool.self) { group in
                for _ in 0..<options.requests {
                    group.addTask {
                        let response = try? await client.send(TokenWatchHTTP.HTTPRequest(url: url, timeoutSeconds: 30))
                        return response?.status == 200
                    }
                }
                return await group.reduce(0) { $0 + ($1 ? 0 : 1) }
            }
            let elapsed = clock.now - start
            worst = max(worst, elapsed)
            failures += errors
            let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
            print(
                "round \(round): wall \(String(format: "%.3f", seconds)) s, max in flight at the server \(await gauge.peak), errors \(errors)"
            )
        }
        let worstSeconds = Double(worst.components.seconds) + Double(worst.components.attoseconds) / 1e18
        print(
            "slowest round: \(String(format: "%.3f", worstSeconds)) s for \(options.requests) requests (target: well under 1 s)"
        )
        await loop.shutdown()
        await server.stop(timeout: 0)
        return failures == 0 ? 0 : 1
    }

    private static func report(_ message: String) {
        FileHandle.standardError.write(Data("tokenwatch-bench: \(message)\n".utf8))
    }

    private struct Options {
        var requests = 200
        var delayMilliseconds = 50
        var rounds = 2

        init?(_ arguments: [String]) {
            var remaining = arguments[...]
            while let flag = remaining.popFirst() {
                guard let value = remaining.popFirst().flatMap({ Int($0) }), value > 0 else { return nil }
                switch flag {
                case "--requests": requests = value
                case "--delay-ms": delayMilliseconds = value
                case "--rounds": rounds = value
                default: return nil
                }
            }
        }
    }
}

/// How many requests the server is working on, and the most at once.
private actor InFlightGauge {
    private(set) var current = 0
    private(set) var peak = 0

    func enter() {
        current += 1
        peak = max(peak, current)
    }

    func leave() { current -= 1 }

    func reset() {
        current = 0
        peak = 0
    }
}
