import TokenWatch
import TokenWatchCheck
import TokenWatchMail
import TokenWatchModel
import TokenWatchReports
import TokenWatchStore
import TokenWatchTemplates

/// Maps any error that ends a command to the exit code of SPEC.md and one line for the
/// operator. Every description here is free of secrets by construction of its error type.
enum ErrorClassification {
    static func classify(_ error: any Error) -> (status: ExitStatus, message: String) {
        switch error {
        case let error as StoreError:
            if case .notFound = error { return (.usage, error.description) }  // a page or company named wrong
            if case .notWritable = error { return (.cannotWrite, error.description) }  // the OS says no
            return (error.isConfiguration ? .configuration : .failure, error.description)
        case let error as TemplateError:
            switch error {
            case .alreadyExists, .cannotWrite: return (.cannotWrite, error.description)
            default: return (.configuration, error.description)
            }
        case let error as InputRejected:
            return (.dataError, error.description)
        case let error as PageImportProblems:
            return (.dataError, "nothing was imported:\n" + error.description)
        case let error as ReportError:
            return (.cannotWrite, error.description)
        case let error as RunLockError:
            // A symlink or a non-regular file at the lock path is the installation's problem.
            if case .unsafePath = error { return (.configuration, error.description) }
            return (.partial, error.description)
        case let error as MetricsError:
            return (.cannotWrite, error.description)
        case let error as UpsertConflict:
            return (.dataError, "nothing was imported:\n" + error.description)
        case let error as CheckError:
            switch error {
            case .credentialsRejected: return (.configuration, error.description)
            case .store(let store): return classify(store)
            }
        case let error as ConfigurationError:
            return (error.isUsage ? .usage : .configuration, error.description)
        case let error as MailError:
            if case .configuration = error { return (.configuration, error.description) }
            return (.failure, error.description)
        case let error as UnknownCompany:
            return (.usage, error.description)
        case let error as CommandFailure:
            return (error.status, error.message)
        default:
            return (.failure, String(describing: error))
        }
    }
}

/// A command-level failure with its exit code and words (e.g. "another run holds the lock").
struct CommandFailure: Error, Sendable, CustomStringConvertible {
    var status: ExitStatus
    var message: String

    init(_ status: ExitStatus, _ message: String) {
        self.status = status
        self.message = message
    }

    var description: String { message }
}
