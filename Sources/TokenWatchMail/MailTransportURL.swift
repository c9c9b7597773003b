import TokenWatchModel

/// Where mail goes, as parsed from `TOKENWATCH_SMTP_URL`.
///
/// - `smtp://host[:port]` — SMTP, STARTTLS when the server offers it; add `?tls=required` to
///   refuse a server that does not. Port 25 when omitted.
/// - `smtps://host[:port]` — SMTP over implicit TLS. Port 465 when omitted.
/// - `file:///absolute/dir` — `.eml` files in a directory (`FileTransport`).
///
/// Credentials never go in the URL: they come from TOKENWATCH_SMTP_USER and
/// TOKENWATCH_SMTP_PASSWORD(_FILE). Error messages never repeat the URL, so a password pasted
/// into it by mistake does not reach a log.
public enum MailTransportURL: Sendable, Equatable {
    /// SMTP with STARTTLS when offered; `tlsRequired` refuses a server without it.
    case smtp(host: String, port: Int, tlsRequired: Bool)
    /// SMTP over implicit TLS.
    case smtps(host: String, port: Int)
    /// `.eml` files in this directory.
    case file(directory: String)

    /// The setting this value comes from, for messages.
    public static let setting = "TOKENWATCH_SMTP_URL"

    private static let shape = "use smtp://host:port, smtps://host:port or file:///directory"

    /// Parses a `TOKENWATCH_SMTP_URL` value.
    /// - Throws: `MailError.configuration` naming TOKENWATCH_SMTP_URL and what is wrong.
    public init(parsing value: String) throws(MailError) {
        let setting = Self.setting
        if value.isEmpty { throw MailError.configuration("\(setting) is empty; \(Self.shape)") }
        if value.unicodeScalars.contains(where: { $0.value <= 0x20 || $0.value == 0x7F || $0.value > 0x7E }) {
            throw MailError.configuration(
                "\(setting) contains a space, a control or a non-ASCII character; \(Self.shape)")
        }
        guard let separator = value.range(of: "://") else {
            throw MailError.configuration("\(setting) is not a URL; \(Self.shape)")
        }
        let scheme = value[..<separator.lowerBound].lowercased()
        let rest = value[separator.upperBound...]

        // The authority runs to the first "/", "?" or "#".
        let authorityEnd = rest.firstIndex(where: { $0 == "/" || $0 == "?" || $0 == "#" }) ?? rest.endIndex
        let authority = rest[..<authorityEnd]
        let tail = rest[authorityEnd...]
        if authority.contains("@") {
            throw MailError.configuration(
                "\(setting) must not contain a user name or password; set TOKENWATCH_SMTP_USER and "
                    + "TOKENWATCH_SMTP_PASSWORD (or TOKENWATCH_SMTP_PASSWORD_FILE) instead")
        }

        switch scheme {
        case "file":
            if !authority.isEmpty {
                throw MailError.configuration(
                    "\(setting): a file URL takes no host; write file:///absolute/path/to/directory (three slashes)")
            }
            if tail.contains("?") || tail.contains("#") {
                throw MailError.configuration("\(setting): a file URL takes no query or fragment")
            }
            guard let directory = Self.percentDecoded(tail), directory.hasPrefix("/") else {
                throw MailError.configuration(
                    "\(setting): the directory is not a valid percent-encoded absolute path; \(Self.shape)")
            }
            if directory.utf8.contains(0) {
                throw MailError.configuration("\(setting): the directory contains a NUL character")
            }
            self = .file(directory: directory)

        case "smtp", "smtps":
            let (host, port) = try Self.hostAndPort(authority, defaultPort: scheme == "smtp" ? 25 : 465)
            var path = tail
            var query: Substring = ""
            if path.contains("#") {
                throw MailError.configuration("\(setting): an SMTP URL takes no fragment")
            }
            if let mark = path.firstIndex(of: "?") {
                query = path[path.index(after: mark)...]
                path = path[..<mark]
            }
            if !(path.isEmpty || path == "/") {
                throw MailError.configuration("\(setting): an SMTP URL takes no path; \(Self.shape)")
            }
            var tlsRequired = false
            for item in query.split(separator: "&") {
                switch item.lowercased() {
                // smtps:// is TLS from the first byte: tls=required says what it does anyway.
                case "tls=required": tlsRequired = true
                case "tls=optional" where scheme == "smtp": tlsRequired = false
                default:
                    // Not quoted at all: whatever was typed there might be a secret.
                    throw MailError.configuration(
                        "\(setting): unsupported option; the options are tls=required and, for smtp://, tls=optional")
                }
            }
            self =
                scheme == "smtp"
                ? .smtp(host: host, port: port, tlsRequired: tlsRequired) : .smtps(host: host, port: port)

        default:
            let shown = scheme.count <= 10 && scheme.allSatisfy({ $0.isLetter || $0 == "+" }) ? " \"\(scheme)\"" : ""
            throw MailError.configuration("\(setting): unsupported scheme\(shown); \(Self.shape)")
        }
    }

    /// The URL to hand libcurl for an SMTP transport (IPv6 hosts bracketed); nil for `.file`.
    public var curlURL: String? {
        switch self {
        case .smtp(let host, let port, _): "smtp://\(Self.bracketed(host)):\(port)"
        case .smtps(let host, let port): "smtps://\(Self.bracketed(host)):\(port)"
        case .file: nil
        }
    }

    private static func bracketed(_ host: String) -> String { host.contains(":") ? "[\(host)]" : host }

    private static func hostAndPort(_ authority: Substring, defaultPort: Int) throws(MailError) -> (String, Int) {
        let setting = Self.setting
        var host: Substring
        var portText: Substring?
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else {
                throw MailError.configuration("\(setting): an IPv6 host must be written [address]")
            }
            host = authority[authority.index(after: authority.startIndex)..<close]
            let after = authority[authority.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":") else {
                    throw MailError.configuration("\(setting): unexpected text after the IPv6 host")
                }
                portText = after.dropFirst()
            }
            if host.isEmpty || !host.allSatisfy({ $0.isHexDigit || $0 == ":" || $0 == "." }) {
                throw MailError.configuration("\(setting): \"\(host.prefix(60))\" is not an IPv6 address")
            }
        } else {
            if let colon = authority.firstIndex(of: ":") {
                host = authority[..<colon]
                portText = authority[authority.index(after: colon)...]
            } else {
                host = authority
            }
            if host.isEmpty {
                throw MailError.configuration("\(setting) has no host; \(Self.shape)")
            }
            let allowed = host.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == ".") }
            if !allowed || host.hasPrefix(".") || host.hasPrefix("-") || host.contains("..") {
                throw MailError.configuration("\(setting): \"\(host.prefix(60))\" is not a valid host name")
            }
        }
        if host.isEmpty { throw MailError.configuration("\(setting) has no host; \(Self.shape)") }
        var port = defaultPort
        if let portText {
            guard !portText.isEmpty, portText.count <= 5, portText.allSatisfy({ $0.isASCII && $0.isNumber }),
                let number = Int(portText), (1...65_535).contains(number)
            else {
                // The text is not shown: in "smtp://user:secret" it would be a password.
                throw MailError.configuration("\(setting): the port must be a number from 1 to 65535")
            }
            port = number
        }
        return (String(host), port)
    }

    /// Decodes `%XX` escapes into UTF-8; nil when an escape is malformed or the result is not UTF-8.
    private static func percentDecoded(_ text: Substring) -> String? {
        var bytes: [UInt8] = []
        var iterator = Array(text.utf8).makeIterator()
        while let byte = iterator.next() {
            if byte == UInt8(ascii: "%") {
                guard let high = iterator.next(), let low = iterator.next(),
                    Character(Unicode.Scalar(high)).isHexDigit, Character(Unicode.Scalar(low)).isHexDigit,
                    let value = UInt8(String(decoding: [high, low], as: UTF8.self), radix: 16)
                else { return nil }
                bytes.append(value)
            } else {
                bytes.append(byte)
            }
        }
        return String(validating: bytes, as: UTF8.self)
    }
}
