import Foundation

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
/// message is there — no polling; `concurrency()` says how many connections were open and how
/// many messages were held at once.
/// The script stops when its stdin closes, so it never outlives the test process; `stop()`
/// ends it sooner and removes the directory.
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
    ///   - echoAuth: offer AUTH and refuse every login with a 535 that quotes the client's
    ///     AUTH blobs as sent (base64 of the credentials): a server echoing secrets.
    ///   - authMechanisms: the AUTH mechanisms offered (PLAIN and LOGIN unless told).
    ///   - delayDataMilliseconds: a slow server: each message is stored at once, then the final
    ///     250 to DATA waits this long (other sessions go on meanwhile), so senders overlap.
    ///   - reject: addresses refused for good at RCPT (550): a permanent failure.
    static func start(
        refuseRCPT: Int = 0, refuseDATA: Int = 0, login: (user: String, password: String)? = nil,
        echoAuth: Bool = false, authMechanisms: [String] = ["PLAIN", "LOGIN"], delayDataMilliseconds: Int = 0,
        reject: [String] = []
    ) async throws -> SMTPTestServer {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("smtp-sink-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("smtp_sink.py")

        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        var arguments = [
            "python3", script.path, directory.path, "--exit-on-stdin-eof",
            "--refuse-rcpt", String(refuseRCPT), "--refuse-data", String(refuseDATA),
            "--delay-data-ms", String(delayDataMilliseconds),
        ]
        if let login { arguments += ["--auth", "\(login.user):\(login.password)"] }
        if echoAuth { arguments.append("--auth-echo") }
        for address in reject { arguments += ["--reject", address] }
        arguments += ["--auth-mechanisms", authMechanisms.joined(separator: ",")]
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
            let line = try await readFirstLine(of: stdout, timeoutSeconds: 30)
            guard let port = Int(line), port > 0 else { throw ChildProcessError.noPort(line) }
            return SMTPTestServer(port: port, directory: directory, process: process, stdin: stdin, exit: exit)
        } catch {
            process.terminate()
            throw error
        }
    }

    /// Every message accepted so far, oldest first.
    func receivedMessages() throws -> [ReceivedMail] {
        let names = try FileManager.default.contentsOfDirectory(atPath: directory.path)
            .filter { $0.hasSuffix(".json") && $0 != "control.json" && $0 != "sessions.json" }
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

    /// How many accepted messages went to each recipient address (lowercased).
    func messagesPerRecipient() throws -> [String: Int] {
        var counts: [String: Int] = [:]
        for message in try receivedMessages() {
            for recipient in message.recipients { counts[recipient.lowercased(), default: 0] += 1 }
        }
        return counts
    }

    /// What the server saw at once, counted by the server itself.
    struct Concurrency: Sendable, Equatable, Decodable {
        /// SMTP sessions (connections) open now.
        var open: Int
        /// The most sessions ever open at once. A session is counted when it opens, before the
        /// greeting: once a message sent over it has been accepted, it is in here.
        var peak: Int
        /// Messages stored whose final 250 has not been sent yet (with `delayDataMilliseconds`).
        var held: Int
        /// The most messages ever held at once: how many senders were mid-message together.
        var peakHeld: Int

        enum CodingKeys: String, CodingKey {
            case open, peak, held
            case peakHeld = "peak_held"
        }
    }

    /// The sessions and messages the server had at once, so far.
    func concurrency() throws -> Concurrency {
        try JSONDecoder().decode(
            Concurrency.self, from: Data(contentsOf: directory.appendingPathComponent("sessions.json")))
    }

    /// Makes the next `rcpt` RCPT and `data` DATA commands (after any already pending) fail
    /// with 451. Call it between sends, not while one is in progress.
    func refuseNext(rcpt: Int = 0, data: Int = 0) throws {
        let control = directory.appendingPathComponent("control.json")
        let pending = directory.appendingPathComponent("control.json.tmp")
        try Data(#"{"refuse_rcpt": \#(rcpt), "refuse_data": \#(data)}"#.utf8).write(to: pending)
        // rename(2): atomic, and replaces a control file the server has not read yet.
        guard rename(pending.path, control.path) == 0 else { throw ChildProcessError.cannotWriteControl }
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
}
