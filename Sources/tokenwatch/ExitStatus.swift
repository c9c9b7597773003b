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

    /// One line for `--help` and the README.
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
