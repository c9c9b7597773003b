import Foundation
import Logging
import TokenWatchGraph
import TokenWatchHTTP
import TokenWatchMail
import TokenWatchModel

/// Builds the clients of the outside world from the configuration: the Graph API over
/// libcurl and the mail transport. Missing or malformed settings are configuration errors
/// (exit 78) that name the setting, found before any network call. Each client gets the
/// configuration's `Redactor`, so what the outside world answers is redacted where it enters.
public struct Services: Sendable {
    public let configuration: Configuration
    let logger: Logger
    let loop: CurlEventLoop
    let smtpLoops: CurlEventLoopPool

    /// - Parameters:
    ///   - loop: where the Graph requests run.
    ///   - smtpLoops: where each SMTP exchange borrows a loop of its own (libcurl blocks a loop
    ///     while it waits for the final reply to a message).
    public init(
        configuration: Configuration, logger: Logger, loop: CurlEventLoop = .shared,
        smtpLoops: CurlEventLoopPool = .smtp
    ) throws {
        self.configuration = configuration
        self.logger = logger
        self.loop = loop
        self.smtpLoops = smtpLoops
    }

    /// The HTTP client every Graph request goes through.
    public func httpClient() -> CurlHTTPClient {
        CurlHTTPClient(loop: loop, caFile: configuration.caFile, redactor: configuration.redactor)
    }

    /// The Graph API client; needs TOKENWATCH_APP_ID and TOKENWATCH_APP_SECRET.
    public func graph() throws -> any GraphAPI {
        var missing: [String] = []
        if (configuration.appID ?? "").isEmpty { missing.append("TOKENWATCH_APP_ID") }
        if configuration.appSecret?.isEmpty ?? true {
            missing.append("TOKENWATCH_APP_SECRET (or TOKENWATCH_APP_SECRET_FILE)")
        }
        guard missing.isEmpty, let appToken = configuration.appToken, let appSecret = configuration.appSecret else {
            throw ConfigurationError.missingSetting(
                "the Graph API needs the app credentials: set \(missing.joined(separator: " and "))")
        }
        return GraphAPIClient(
            baseURL: configuration.graphURL, version: configuration.graphVersion, appToken: appToken,
            appSecret: appSecret,
            http: httpClient(), timeoutSeconds: configuration.httpTimeout, logger: logger,
            redactor: configuration.redactor)
    }

    /// The mail transport of TOKENWATCH_SMTP_URL; needs TOKENWATCH_MAIL_FROM too.
    public func mailTransport() throws -> any MailTransport {
        guard let url = configuration.smtpURL, !url.isEmpty else {
            throw ConfigurationError.missingSetting(
                "no mail transport: set TOKENWATCH_SMTP_URL (smtp://host:port, smtps://host:port or file:///dir), or run check with --no-email"
            )
        }
        guard let from = configuration.mailFrom, !from.isEmpty else {
            throw ConfigurationError.missingSetting("no sender address: set TOKENWATCH_MAIL_FROM")
        }
        let endpoint = try MailTransportURL(parsing: url)
        switch endpoint {
        case .file(let directory):
            return FileTransport(directory: directory)
        case .smtp, .smtps:
            return try SMTPTransport(
                endpoint: endpoint, username: configuration.smtpUser, password: configuration.smtpPassword,
                timeoutSeconds: configuration.httpTimeout, caFile: configuration.caFile, loops: smtpLoops,
                redactor: configuration.redactor)
        }
    }
}
