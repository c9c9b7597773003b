import FlyingFox
import FlyingSocks
import Logging

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// Hands FlyingFox's log lines to a swift-log `Logger`, one level lower than FlyingFox rates
/// them: it logs every connection at info, and its "errors" are mostly clients going away
/// (or the simulator dropping a connection on purpose).
struct FlyingFoxLogBridge: FlyingSocks.Logging {
    let logger: Logger

    func logDebug(_ debug: @autoclosure () -> String) {
        logger.trace("\(debug())")
    }

    func logInfo(_ info: @autoclosure () -> String) {
        logger.debug("\(info())")
    }

    func logWarning(_ warning: @autoclosure () -> String) {
        logger.info("\(warning())")
    }

    func logError(_ error: @autoclosure () -> String) {
        logger.notice("\(error())")
    }

    func logCritical(_ critical: @autoclosure () -> String) {
        logger.error("\(critical())")
    }
}

/// FlyingFox's server configuration: 127.0.0.1, a free port, a quiet logger unless one is given.
enum FlyingFoxSetup {
    static func configuration(logger: Logger?) throws -> HTTPServer.Configuration {
        let flyingFoxLogger: any FlyingSocks.Logging = logger.map { FlyingFoxLogBridge(logger: $0) } ?? .disabled
        return HTTPServer.Configuration(
            address: try sockaddr_in.inet(ip4: "127.0.0.1", port: 0),
            // Long enough for any latency fault a test sets; a client times out first.
            timeout: 300,
            pool: NoDelaySocketPool(base: HTTPServer.defaultPool()),
            logger: flyingFoxLogger)
    }
}
