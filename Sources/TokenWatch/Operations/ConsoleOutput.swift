import Foundation
import Synchronization
import TokenWatchMail
import TokenWatchModel

/// The operator's console, normally standard error: whole log lines, each in one `write`, and
/// at most one live status line (the progress line) kept below them on a terminal.
///
/// Log handlers and the progress reporter share one `ConsoleOutput`, so a log line printed
/// while the progress line is showing first clears it, then prints, then redraws it — the two
/// never garble each other. Thread-safe: calls from concurrent tasks are serialised.
public final class ConsoleOutput: Sendable {
    /// Whether the output is an interactive terminal (`isatty`); the progress line is only
    /// drawn on one.
    public let isTerminal: Bool

    private let sink: @Sendable ([UInt8]) -> Void
    /// The status line currently drawn, if any.
    private let status = Mutex<String?>(nil)

    /// Standard error, as the process has it.
    public static let standardError = ConsoleOutput(fileDescriptor: STDERR_FILENO)

    /// Writes to a file descriptor; `isTerminal` defaults to `isatty(fileDescriptor)`.
    public convenience init(fileDescriptor: Int32, isTerminal: Bool? = nil) {
        self.init(isTerminal: isTerminal ?? (isatty(fileDescriptor) == 1)) { bytes in
            Self.writeAll(bytes, to: fileDescriptor)
        }
    }

    /// Writes through `sink` (tests capture the bytes this way).
    public init(isTerminal: Bool, sink: @escaping @Sendable ([UInt8]) -> Void) {
        self.isTerminal = isTerminal
        self.sink = sink
    }

    /// Prints one line (a newline is added), keeping the status line, if any, below it.
    public func writeLine(_ line: String) {
        status.withLock { current in
            var bytes: [UInt8] = []
            if current != nil { bytes += Self.clearLine }
            bytes += Array(line.utf8)
            bytes.append(UInt8(ascii: "\n"))
            if let current { bytes += Array(current.utf8) }
            sink(bytes)
        }
    }

    /// Draws (or redraws) the status line. Does nothing when the output is not a terminal.
    public func showStatus(_ text: String) {
        guard isTerminal else { return }
        status.withLock { current in
            current = text
            sink(Self.clearLine + Array(text.utf8))
        }
    }

    /// Removes the status line, leaving the cursor at the start of an empty line.
    public func clearStatus() {
        status.withLock { current in
            guard current != nil else { return }
            current = nil
            sink(Self.clearLine)
        }
    }

    /// Carriage return, then "erase to end of line".
    static let clearLine: [UInt8] = Array("\r\u{1B}[K".utf8)

    private static func writeAll(_ bytes: [UInt8], to fd: Int32) {
        bytes.withUnsafeBytes { buffer in
            guard let base = buffer.baseAddress else { return }
            var offset = 0
            while offset < buffer.count {
                let n = write(fd, base + offset, buffer.count - offset)
                if n < 0 {
                    if errno == EINTR { continue }
                    return  // Nowhere left to report a broken stderr.
                }
                offset += n
            }
        }
    }
}
