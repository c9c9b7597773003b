import CCurl
import Foundation
import TokenWatchHTTP
import TokenWatchModel

/// `MailTransport` speaking SMTP through libcurl, on curl event loops (nothing blocks the
/// cooperative pool). Each exchange borrows a loop of its own from a `CurlEventLoopPool`:
/// libcurl blocks its loop while it waits for the reply to the end of DATA, and on a shared
/// loop the digests sent at once would get their final replies one after another.
///
/// URLs: `smtp://host:port` upgrades with STARTTLS when the server offers it (add
/// `?tls=required` to refuse to send in clear), `smtps://host:port` is TLS from the first byte.
/// Certificates are always verified. The EHLO name is the domain of the sender address.
/// The password is handed to libcurl as an option, never put in a URL, and never appears in
/// an error: every server reply and libcurl error string passes a `Redactor` holding the
/// password and its AUTH PLAIN / LOGIN base64 forms (a server may echo the client's AUTH blob
/// in its 535) before it leaves the transport.
public struct SMTPTransport: MailTransport {
    /// How the connection is protected.
    public enum Security: Sendable, Equatable {
        /// `smtp://`: STARTTLS when offered, otherwise in clear.
        case startTLSWhenOffered
        /// `smtp://…?tls=required`: STARTTLS or fail.
        case startTLSRequired
        /// `smtps://`: implicit TLS.
        case implicitTLS
    }

    /// `smtp://host:port` or `smtps://host:port` (IPv6 in brackets), as libcurl takes it.
    private let baseURL: String
    public let security: Security
    private let username: String?
    private let password: Secret?
    private let timeoutSeconds: Double
    private let caFile: String?
    /// The one loop every exchange runs on, when given; otherwise each borrows from `loops`.
    private let loop: CurlEventLoop?
    private let loops: CurlEventLoopPool
    /// The process's secrets plus this transport's credentials in every form AUTH sends them.
    private let redactor: Redactor

    /// - Parameters:
    ///   - endpoint: an `.smtp` or `.smtps` `MailTransportURL` (the one parser of
    ///     `TOKENWATCH_SMTP_URL`).
    ///   - username, password: for AUTH, when the server asks for it.
    ///   - timeoutSeconds: for the whole exchange (`TOKENWATCH_HTTP_TIMEOUT`).
    ///   - caFile: an extra CA bundle (`TOKENWATCH_CA_FILE`).
    ///   - loop: one loop for every exchange (they then wait for each other's final reply);
    ///     nil lends each exchange a loop of its own from `loops`.
    ///   - loops: where exchanges borrow their loop; the process-wide SMTP pool unless told.
    ///   - redactor: other secrets of the process to keep out of replies (the credentials are
    ///     added here).
    /// - Throws: `MailError.configuration` for a `file://` endpoint.
    public init(
        endpoint: MailTransportURL, username: String? = nil, password: Secret? = nil, timeoutSeconds: Double = 30,
        caFile: String? = nil, loop: CurlEventLoop? = nil, loops: CurlEventLoopPool = .smtp,
        redactor: Redactor = Redactor()
    ) throws(MailError) {
        guard let baseURL = endpoint.curlURL else {
            throw .configuration("a file:// mail URL writes .eml files; it is not an SMTP server")
        }
        switch endpoint {
        case .smtp(_, _, let tlsRequired): self.security = tlsRequired ? .startTLSRequired : .startTLSWhenOffered
        default: self.security = .implicitTLS
        }
        self.baseURL = baseURL
        self.username = username.flatMap { $0.isEmpty ? nil : $0 }
        self.password = password
        self.timeoutSeconds = timeoutSeconds
        self.caFile = caFile
        self.loop = loop
        self.loops = loops
        self.redactor = redactor.addingSMTPCredentials(user: self.username, password: password)
    }

    /// Parses `url` (a `TOKENWATCH_SMTP_URL` value) with `MailTransportURL` and connects to it.
    public init(
        url: String, username: String? = nil, password: Secret? = nil, timeoutSeconds: Double = 30,
        caFile: String? = nil, loop: CurlEventLoop? = nil, loops: CurlEventLoopPool = .smtp,
        redactor: Redactor = Redactor()
    ) throws(MailError) {
        try self.init(
            endpoint: MailTransportURL(parsing: url), username: username, password: password,
            timeoutSeconds: timeoutSeconds, caFile: caFile, loop: loop, loops: loops, redactor: redactor)
    }

    /// Sends one message: MAIL FROM, RCPT TO for each recipient, DATA with `message.data`.
    /// Returns the server's last reply (e.g. "250 2.0.0 Ok: queued as …").
    public func send(_ message: MailMessage) async throws -> String {
        try Self.validate(message)
        guard let transfer = CurlTransfer(maxBodyBytes: 64 * 1024) else {
            throw MailError.transport("libcurl could not create a handle")
        }
        do {
            try configure(transfer, for: message)
        } catch {
            throw MailError.configuration(error.description)
        }
        let end: CurlTransferEnd
        if let loop {
            end = await loop.perform(transfer)
        } else {
            end = await loops.withLoop { loop in await loop.perform(transfer) }
        }
        switch end {
        case .cancelled:
            throw MailError.transport("cancelled")
        case .failedToStart(let reason):
            throw MailError.transport(redactor.redact(reason))
        case .completed(let result):
            guard result.succeeded else { throw error(for: result) }
            return redactor.redact(result.headerLines.last { !$0.isEmpty } ?? "\(result.responseCode)")
        }
    }

    private func configure(_ transfer: CurlTransfer, for message: MailMessage) throws(CurlSetupError) {
        try transfer.setCommonOptions(
            totalTimeoutSeconds: timeoutSeconds,
            connectTimeoutSeconds: min(timeoutSeconds, CurlHTTPClient.defaultConnectTimeoutSeconds))
        // libcurl takes the EHLO name from the URL's path.
        try transfer.set(CURLOPT_URL, "\(baseURL)/\(Self.ehloName(for: message.envelopeFrom))")
        try transfer.set(CURLOPT_PROTOCOLS_STR, "smtp,smtps")
        let useSSL: curl_usessl =
            switch security {
            case .startTLSWhenOffered: CURLUSESSL_TRY
            case .startTLSRequired, .implicitTLS: CURLUSESSL_ALL
            }
        try transfer.set(CURLOPT_USE_SSL, Int(useSSL.rawValue))
        try transfer.set(CURLOPT_SSL_VERIFYPEER, 1)
        try transfer.set(CURLOPT_SSL_VERIFYHOST, 2)
        if let caFile, !caFile.isEmpty { try transfer.set(CURLOPT_CAINFO, caFile) }
        if let username {
            try transfer.set(CURLOPT_USERNAME, username)
            try transfer.set(CURLOPT_PASSWORD, password?.reveal ?? "")
        }
        try transfer.set(CURLOPT_MAIL_FROM, "<\(message.envelopeFrom)>")
        try transfer.set(CURLOPT_MAIL_RCPT, list: message.envelopeTo.map { "<\($0)>" })
        try transfer.setUpload(message.data)
    }

    /// Maps a failed exchange: a 4xx/5xx reply is `.rejected` with the server's words, AUTH
    /// refused is `.authentication`, anything that broke the exchange is `.transport`.
    private func error(for result: CurlTransferResult) -> MailError {
        let code = result.responseCode
        let reply = redactor.redact(Self.reply(withCode: code, in: result.headerLines))
        let explanation = result.explanation(redactedBy: redactor)
        if result.code == CURLE_LOGIN_DENIED {
            return .authentication(reply ?? explanation)
        }
        if (400...599).contains(code) {
            return .rejected(code: code, reply: reply ?? explanation)
        }
        return .transport(explanation)
    }

    /// The server's last reply line carrying `code` ("451 4.3.0 Try again later").
    private static func reply(withCode code: Int, in lines: [String]) -> String? {
        guard code > 0 else { return nil }
        let prefix = String(code)
        return lines.last { $0.hasPrefix(prefix + " ") || $0.hasPrefix(prefix + "-") || $0 == prefix }
    }

    /// The sender's domain if it is a plain host name, else "localhost".
    static func ehloName(for sender: String) -> String {
        guard let at = sender.lastIndex(of: "@") else { return "localhost" }
        let domain = sender[sender.index(after: at)...]
        let allowed = domain.unicodeScalars.allSatisfy {
            ("a"..."z").contains($0) || ("A"..."Z").contains($0) || ("0"..."9").contains($0) || $0 == "-" || $0 == "."
        }
        return !domain.isEmpty && allowed ? String(domain) : "localhost"
    }

    /// Envelope addresses go into SMTP commands: nothing that could end or extend a command.
    private static func validate(_ message: MailMessage) throws(MailError) {
        guard !message.envelopeTo.isEmpty else { throw .configuration("the message has no recipients") }
        for address in [message.envelopeFrom] + message.envelopeTo {
            guard !address.isEmpty, address.contains("@"),
                !address.unicodeScalars.contains(where: {
                    $0.value <= 0x20 || $0.value == 0x7F || "<>".unicodeScalars.contains($0)
                })
            else {
                throw .configuration(
                    "an envelope address is empty or contains spaces, angle brackets or control characters")
            }
        }
    }
}
