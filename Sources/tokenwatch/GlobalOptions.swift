import ArgumentParser
import Foundation
import Logging
import TokenWatch
import TokenWatchMail
import TokenWatchModel
import TokenWatchSystem

/// Options every subcommand accepts (SPEC.md "Global options").
struct GlobalOptions: ParsableArguments {
    @Option(name: .customLong("config"), help: "A file of TOKENWATCH_* settings, one KEY=VALUE per line.")
    var configFile: String?

    @Option(name: .customLong("db"), help: "Database path (TOKENWATCH_DB).")
    var database: String?

    @Option(name: .customLong("reports-dir"), help: "Where reports go (TOKENWATCH_REPORTS_DIR).")
    var reportsDirectory: String?

    @Flag(name: .shortAndLong, help: "Log debug detail.")
    var verbose = false

    @Flag(name: .shortAndLong, help: "Log warnings and errors only.")
    var quiet = false

    @Option(name: .customLong("log-format"), help: "Log lines as text or json (on stderr).")
    var logFormat: LogFormatOption = .text

    func validate() throws {
        if verbose && quiet { throw ValidationError("--verbose and --quiet exclude each other") }
    }

    /// Flags as configuration keys; the loader applies flag > environment > file > default.
    func flags(_ extra: [String: String?] = [:]) -> [String: String] {
        var flags: [String: String] = [:]
        if let database { flags["TOKENWATCH_DB"] = database }
        if let reportsDirectory { flags["TOKENWATCH_REPORTS_DIR"] = reportsDirectory }
        for (key, value) in extra { if let value { flags[key] = value } }
        return flags
    }

    func loadConfiguration(_ extra: [String: String?] = [:], logger: Logger? = nil) throws -> Configuration {
        let loaded = try ConfigurationLoader.resolve(
            flags: flags(extra), environment: ProcessInfo.processInfo.environment, configFile: configFile)
        for warning in loaded.warnings { logger?.warning("\(warning)") }
        return loaded.configuration
    }

    /// The process-wide logger on stderr, in the chosen format and level.
    func makeLogger() -> Logger {
        ConsoleLogging.bootstrap(format: logFormat.format, level: ConsoleLogging.level(verbose: verbose, quiet: quiet))
        return Logger(label: "tokenwatch")
    }
}

enum LogFormatOption: String, ExpressibleByArgument, CaseIterable {
    case text, json
    var format: LogFormat { self == .json ? .json : .text }
}

/// Runs a command body: prints a failure as one line on stderr and exits with its code.
func execute(_ body: () async throws -> ExitStatus) async throws {
    let status: ExitStatus
    do {
        status = try await body()
    } catch let exit as ExitCode {
        throw exit
    } catch let validation as ValidationError {
        throw validation
    } catch {
        let (code, message) = ErrorClassification.classify(error)
        writeError("tokenwatch: \(message)")
        throw ExitCode(code.rawValue)
    }
    if status != .ok { throw ExitCode(status.rawValue) }
}

/// Prints to standard output, made safe for a terminal: every value that came from outside
/// (page and company names, Graph's and the SMTP server's words) has its control characters
/// replaced; the output's own line breaks stay. JSON arrives with them already escaped.
func writeOutput(_ text: String) {
    print(TerminalText.sanitiseLines(text))
}

/// Prints one message (it may span lines) to standard error, made safe for a terminal.
func writeError(_ line: String) {
    FileHandle.standardError.write(Data((TerminalText.sanitiseLines(line) + "\n").utf8))
}

/// Reads all of standard input (a token, a CSV): off the cooperative pool, since a pipe
/// read blocks.
func readStandardInput(prompt: String? = nil) async -> Data {
    // A person at a terminal sees what is expected; a pipe gets no prompt.
    if let prompt, isatty(0) == 1 { writeError(prompt) }
    // A pipe read blocks: off the cooperative pool. Reading stdin does not throw.
    return (try? await BlockingWork.run { FileHandle.standardInput.readDataToEndOfFile() }) ?? Data()
}
