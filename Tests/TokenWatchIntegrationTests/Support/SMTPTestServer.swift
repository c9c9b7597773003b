import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A real SMTP server for tests: `smtp_sink.py` (aiosmtpd) on 127.0.0.1 and a port of its
/// own choosing, storing what it accepts in a temporary directory.
///
///     let sink = try await SMTPTestServer.start()
///     let transport = try SMTPTransport(url: sink.url)
///     _ = try await transport.send(message)
///     let received = try sink.receivedMessages()   // [ReceivedMail], oldest first
///     await sink.stop()
///
/// A message is on disk before the server answers DATA with 250, so once `send` returns the
/// message is there — no polling. The script stops when its stdin closes, so it never outlives
/// the test process; `stop()` ends it sooner and removes the directory.
final class SMTPTestServer {
    /// One message the server accepted.
    struct ReceivedMail: Sendable, Equatable {
        /// MAIL FROM, without angle brackets.
        var mailFrom: String
        /// The accepted RCPT TO addresses.
        var recipients: [String]
        /// The EHLO/HELO name the client gave.
        var heloName: String?
        /// The AUTH login, when the client authenticated.
        var authUser: String?
        /// The DATA bytes as received (dot-stuffing undone, CRLF kept).
        var data: [UInt8]
    }

    /// The port it listens on, on 127.0.0.1.
    let port: Int
    /// Where it stores messages.
    let directory: URL
    private let process: Process
    private let stdin: Pipe
    private let exit: ProcessExit

    /// `smtp://127.0.0.1:PORT`.
    var url: String { "smtp://127.0.0.1:\(port)" }

    private init(port: Int, directory: URL, process: Process, stdin: Pipe, exit: ProcessExit) {
        self.port = port
        self.directory = directory
        self.process = process
        self.stdin = stdin
        self.exit = exit
    }

    deinit {
        if process.isRunning { process.terminate() }
    }

    /// Starts a server and returns once it listens.
    /// - Parameters:
    ///   - refuseRCPT: answer the first N RCPT commands with 451.
    ///   - refuseDATA: answer the first N DATA commands with 451.
    ///   - login: accept AUTH (PLAIN, LOGIN) with exactly this user and password.
    static func start(
        refuseRCPT: Int = 0, refuseDATA: Int = 0, login: (user: String, password: String)? = nil
    ) async throws -> SMTPTestServer {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("smtp-sink-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("smtp_sink.py")

        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        var arguments = [
            "python3", script.path, directory.path, "--exit-on-stdin-eof",
            "--refuse-rcpt", String(refuseRCPT), "--refuse-data", String(refuseDATA),
        ]
        if let login { arguments += ["--auth", "\(login.user):\(login.password)"] }
        process.arguments = arguments
        let stdout = Pipe()
        let stdin = Pipe()
        process.standardOutput = stdout
        process.standardInput = stdin
        let logPath = directory.appendingPathComponent("sink.log").path
        _ = FileManager.default.createFile(atPath: logPath, contents: nil)
        process.standardError = FileHandle(forWritingAtPath: logPath)
        let exit = ProcessExit()
        process.terminationHandler = { _ in exit.markExited() }
        try process.run()

        do {
            let line = try await readFirstLine(stdout.fileHandleForReading.fileDescriptor, timeoutSeconds: 30)
            guard let port = Int(line), port > 0 else { throw SMTPTestServerError.noPort(line) }
            return SMTPTestServer(port: port, directory: directory, process: process, stdin: stdin, exit: exit)
        } catch {
            process.terminate()
            throw error
        }
    }

    /// Every message accepted so far, oldest first.
    func receivedMessages() throws -> [ReceivedMail] {
        let names = try FileManager.default.contentsOfDirectory(atPath: directory.path)
            .filter { $0.hasSuffix(".json") && $0 != "control.json" }
            .sorted()
        return try names.map { name in
            let stem = directory.appendingPathComponent(String(name.dropLast(".json".count)))
            let meta = try JSONDecoder().decode(
                Envelope.self, from: Data(contentsOf: stem.appendingPathExtension("json")))
            let data = try Data(contentsOf: stem.appendingPathExtension("eml"))
            return ReceivedMail(
                mailFrom: meta.mailFrom, recipients: meta.recipients, heloName: meta.helo, authUser: meta.authUser,
                data: Array(data))
        }
    }

    /// Makes the next `rcpt` RCPT and `data` DATA commands (after any already pending) fail
    /// with 451. Call it between sends, not while one is in progress.
    func refuseNext(rcpt: Int = 0, data: Int = 0) throws {
        let control = directory.appendingPathComponent("control.json")
        let pending = directory.appendingPathComponent("control.json.tmp")
        try Data(#"{"refuse_rcpt": \#(rcpt), "refuse_data": \#(data)}"#.utf8).write(to: pending)
        // rename(2): atomic, and replaces a control file the server has not read yet.
        guard rename(pending.path, control.path) == 0 else { throw SMTPTestServerError.cannotWriteControl }
    }

    /// Stops the server, waits for it to exit, and removes its directory.
    func stop() async {
        try? stdin.fileHandleForWriting.close()
        if process.isRunning { process.terminate() }
        await exit.wait()
        try? FileManager.default.removeItem(at: directory)
    }

    private struct Envelope: Decodable {
        var mailFrom: String
        var recipients: [String]
        var helo: String?
        var authUser: String?

        enum CodingKeys: String, CodingKey {
            case mailFrom = "mail_from"
            case recipients = "rcpt_tos"
            case helo
            case authUser = "auth_user"
        }
    }

    /// Reads up to the first newline on a dedicated thread, never on the cooperative pool;
    /// poll(2) bounds each wait, so a script that hangs fails the test instead of blocking it.
    private static func readFirstLine(_ descriptor: Int32, timeoutSeconds: Int) async throws -> String {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<String, any Error>) in
            let thread = Thread {
                var bytes: [UInt8] = []
                var byte: UInt8 = 0
                while bytes.count < 64 {
                    var request = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
                    guard poll(&request, 1, Int32(timeoutSeconds * 1000)) > 0 else {
                        return continuation.resume(
                            throwing: SMTPTestServerError.noPort("no port within \(timeoutSeconds) s"))
                    }
                    guard read(descriptor, &byte, 1) == 1 else {
                        return continuation.resume(
                            throwing: SMTPTestServerError.noPort("exited before printing its port"))
                    }
                    if byte == UInt8(ascii: "\n") { break }
                    bytes.append(byte)
                }
                continuation.resume(returning: String(decoding: bytes, as: UTF8.self))
            }
            thread.start()
        }
    }
}

enum SMTPTestServerError: Error {
    case noPort(String)
    case cannotWriteControl
}

/// Whether the process has exited, and who waits for it.
private final class ProcessExit: Sendable {
    private let state = Mutex<(exited: Bool, waiters: [CheckedContinuation<Void, Never>])>((false, []))

    func markExited() {
        let waiters = state.withLock { state in
            state.exited = true
            defer { state.waiters.removeAll() }
            return state.waiters
        }
        for waiter in waiters { waiter.resume() }
    }

    func wait() async {
        await withCheckedContinuation { continuation in
            let exited = state.withLock { state in
                if !state.exited { state.waiters.append(continuation) }
                return state.exited
            }
            if exited { continuation.resume() }
        }
    }
}
