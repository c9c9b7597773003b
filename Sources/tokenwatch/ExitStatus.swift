import TokenWatchModel

/// The exit codes of SPEC.md, which cron and systemd act on (sysexits.h values).
enum ExitStatus: Int32, Sendable, CaseIterable {
    /// Completed: every page has a verdict, every digest sent.
    case ok = 0
    /// Any other failure.
    case failure = 1
    /// Usage error.
    case usage = 64
    /// Bad input data (an import file); nothing was written.
    case dataError = 65
    /// Cannot write output (reports directory); the run's status updates are kept.
    case cannotWrite = 73
    /// Completed in part: pages unchecked, digests pending or held, or another run holds the lock.
    case partial = 75
    /// Configuration error.
    case configuration = 78

    /// `  64  usage error`: the code in a column of its own.
    var helpLine: String {
        let code = String(rawValue)
        return "  " + code + String(repeating: " ", count: max(1, 4 - code.count)) + shortMeaning
    }

    /// Under 72 characters, for `--help` on an 80-column terminal.
    var shortMeaning: String {
        switch self {
        case .ok: "completed: every page has a verdict, every digest sent"
        case .failure: "any other failure"
        case .usage: "usage error"
        case .dataError: "bad input data (an import file); nothing was written"
        case .cannotWrite: "cannot write a report or the metrics; status updates are kept"
        case .partial: "in part: pages unchecked, digests pending or held, lock held"
        case .configuration: "configuration error (credentials, key, URL, mail, templates)"
        }
    }

    /// One line for the README.
    var meaning: String {
        switch self {
        case .ok: "completed: every page has a verdict, every digest sent"
        case .failure: "any other failure"
        case .usage: "usage error"
        case .dataError: "bad input data (e.g. an import file); nothing was written"
        case .cannotWrite: "cannot write output (reports directory); the run's status updates are kept"
        case .partial: "completed in part: pages left unchecked, digests pending or held, or another run holds the lock"
        case .configuration:
            "configuration error (credentials, key, URL, mail transport, templates, Graph rejected our app token)"
        }
    }
}

extension ExitStatus {
    /// The exit code of a run's outcome.
    init(_ status: RunStatus) {
        self = ExitStatus(rawValue: status.rawValue) ?? .failure
    }
}
