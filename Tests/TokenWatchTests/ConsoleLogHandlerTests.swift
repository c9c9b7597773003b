import Foundation
import Logging
import Testing

@testable import TokenWatch
@testable import TokenWatchModel
@testable import TokenWatchStore

@Suite struct ConsoleLogHandlerTests {
    /// 2026-11-29T04:29:10.250Z
    static let now: @Sendable () -> Date = { Date(timeIntervalSince1970: 1_795_926_550.25) }

    private func textLogger(_ capture: OpsConsoleCapture, level: Logger.Level = .info) -> Logger {
        let output = capture.output(isTerminal: false)
        return Logger(label: "tokenwatch") { TextLogHandler(label: $0, level: level, output: output, now: Self.now) }
    }

    private func jsonLogger(_ capture: OpsConsoleCapture) -> Logger {
        let output = capture.output(isTerminal: false)
        return Logger(label: "tokenwatch") { JSONLogHandler(label: $0, output: output, now: Self.now) }
    }

    private func objects(_ capture: OpsConsoleCapture) throws -> [[String: Any]] {
        try capture.lines.map { line in
            let object = try JSONSerialization.jsonObject(with: Data(line.utf8))
            return try #require(object as? [String: Any])
        }
    }

    @Test func textIsOneLinePerEvent() {
        let capture = OpsConsoleCapture()
        var logger = textLogger(capture)
        logger[metadataKey: "run"] = "42"
        logger.info("checked pages", metadata: ["pages": "5000", "took": "12 s", "empty": ""])
        logger.warning("graph version differs", metadata: ["served": "v24.0"])
        logger.debug("not shown at info")
        #expect(
            capture.text == """
                2026-11-29T04:29:10Z info tokenwatch: checked pages empty="" pages=5000 run=42 took="12 s"
                2026-11-29T04:29:10Z warning tokenwatch: graph version differs run=42 served=v24.0

                """)
    }

    @Test func textEscapesNewlinesAndQuotes() {
        let capture = OpsConsoleCapture()
        let logger = textLogger(capture)
        logger.error(
            "line one\nline two\r\u{1B}[31m",
            metadata: ["page_name": "Café \"Bar\"\nInjected: yes", "path": #"C:\x"#, "list": ["a b", "c"]])
        #expect(capture.lines.count == 1)
        #expect(
            capture.text
                == #"2026-11-29T04:29:10Z error tokenwatch: line one\nline two\r\u{1B}[31m list="[a b, c]" page_name="Café \"Bar\"\nInjected: yes" path="C:\\x""#
                + "\n")
    }

    @Test func jsonIsOneObjectPerLineWithStringMetadata() throws {
        let capture = OpsConsoleCapture()
        let logger = jsonLogger(capture)
        logger.notice("digest sent\nto owners", metadata: ["count": "3", "nested": ["k": "v", "a": ["1", "2"]]])
        logger.info("plain")
        #expect(capture.lines.count == 2)
        #expect(
            capture.lines[0]
                == #"{"ts":"2026-11-29T04:29:10.250Z","level":"notice","label":"tokenwatch","message":"digest sent\nto owners","metadata":{"count":"3","nested":"[a: [1, 2], k: v]"}}"#
        )
        let decoded = try objects(capture)
        #expect(decoded[0]["message"] as? String == "digest sent\nto owners")
        #expect(decoded[1]["metadata"] as? [String: String] == [:])
        #expect(decoded[1]["level"] as? String == "info")
    }

    @Test func jsonEscapesControlCharacters() throws {
        let capture = OpsConsoleCapture()
        jsonLogger(capture).info("tab\there \u{1}\u{2028}\"quoted\" back\\slash", metadata: ["k\n": "v\r"])
        #expect(capture.lines.count == 1)
        let decoded = try objects(capture)
        #expect(decoded[0]["message"] as? String == "tab\there \u{1}\u{2028}\"quoted\" back\\slash")
        #expect(decoded[0]["metadata"] as? [String: String] == ["k\n": "v\r"])
        #expect(capture.text.contains(#"\u0001\u2028"#))
    }

    @Test func theEventErrorIsLogged() throws {
        struct Boom: Error, CustomStringConvertible { var description: String { "boom\nagain" } }
        let capture = OpsConsoleCapture()
        let handler = TextLogHandler(label: "tokenwatch", output: capture.output(isTerminal: false), now: Self.now)
        handler.log(
            event: LogEvent(
                level: .error, message: "failed", error: Boom(), metadata: nil, source: nil, file: #fileID,
                function: #function, line: #line))
        #expect(capture.text == "2026-11-29T04:29:10Z error tokenwatch: failed error=\"boom\\nagain\"\n")
    }

    @Test func secretsPrintRedactedThroughBothHandlers() throws {
        let secret = Secret("EAAG-very-secret-token")
        for format in LogFormat.allCases {
            let capture = OpsConsoleCapture()
            let logger = ConsoleLogging.makeLogger(
                format: format, level: .info, output: capture.output(isTerminal: false))
            logger.info(
                "token \(secret) rejected",
                metadata: [
                    "token": "\(secret)", "convertible": .stringConvertible(secret), "list": ["\(secret)"],
                    "dict": ["secret": .stringConvertible(secret)],
                ])
            #expect(capture.lines.count == 1)
            #expect(!capture.text.contains("very-secret"), "\(format)")
            #expect(capture.text.contains("token <redacted> rejected"), "\(format)")
        }
        let json = OpsConsoleCapture()
        jsonLogger(json).info("token \(secret)", metadata: ["token": .stringConvertible(secret)])
        #expect(!json.text.contains("very-secret"))
        #expect(try objects(json)[0]["metadata"] as? [String: String] == ["token": "<redacted>"])
    }

    @Test func metadataProvidersAreMerged() {
        let capture = OpsConsoleCapture()
        let provider = Logger.MetadataProvider { ["trace": "abc", "run": "provider"] }
        var handler = TextLogHandler(
            label: "tokenwatch", output: capture.output(isTerminal: false), metadataProvider: provider, now: Self.now)
        handler[metadataKey: "run"] = "handler"
        handler.log(
            event: LogEvent(
                level: .info, message: "m", metadata: ["run": "event"], source: nil, file: "", function: "", line: 0))
        #expect(capture.text == "2026-11-29T04:29:10Z info tokenwatch: m run=event trace=abc\n")
    }

    @Test func verbosityFlagsPickTheLevel() {
        #expect(ConsoleLogging.level(verbose: false, quiet: false) == .info)
        #expect(ConsoleLogging.level(verbose: true, quiet: false) == .debug)
        #expect(ConsoleLogging.level(verbose: false, quiet: true) == .warning)
        #expect(ConsoleLogging.level(verbose: true, quiet: true) == .debug)
    }

    @Test func makeLoggerHonoursFormatAndLevel() throws {
        let capture = OpsConsoleCapture()
        let logger = ConsoleLogging.makeLogger(
            format: .json, level: .warning, output: capture.output(isTerminal: false))
        logger.info("hidden")
        logger.warning("shown")
        #expect(capture.lines.count == 1)
        #expect(try objects(capture)[0]["message"] as? String == "shown")
        #expect(try objects(capture)[0]["label"] as? String == "tokenwatch")
    }
}
