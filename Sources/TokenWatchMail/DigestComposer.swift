import Crypto
import Foundation
import TokenWatchModel
import TokenWatchStore
import TokenWatchTemplates

/// Turns one Owner's `Digest` into a ready-to-send `MailMessage`: subject, text and HTML from
/// the digest templates, wrapped in a MIME multipart/alternative message.
///
/// The composer is a pure function of its inputs: the same digest at the same time gives the
/// same bytes, and the same digest key always gives the same Message-ID, so a retried send is
/// recognisably the same message.
public struct DigestComposer: Sendable {
    /// The longest subject written, in characters; longer ones are cut with "…".
    public static let subjectLimit = 200

    private let templates: TemplateSet
    /// The sender (`TOKENWATCH_MAIL_FROM`), validated.
    public let from: MailAddress
    /// The renewal link template (`TOKENWATCH_RENEW_URL`), validated; nil when not configured.
    public let renewLink: RenewLink?
    /// The right-hand side of every Message-ID: the From address's domain.
    public let messageIDDomain: String
    /// The platform's name, where platform-side causes go, whether recoveries mail alone.
    public let options: DigestOptions

    /// Creates a composer.
    /// - Parameters:
    ///   - templates: the loaded template set (built-in or the operator's).
    ///   - from: the sender, `addr@example.com` or `Name <addr@example.com>`.
    ///   - renewURLTemplate: an http(s) URL with `{page_id}`; nil or empty when not configured,
    ///     in which case the digest tells Owners to use the dashboard's Generate New Token.
    ///   - options: TOKENWATCH_PRODUCT_NAME, TOKENWATCH_OPS_EMAIL, TOKENWATCH_NOTIFY_RECOVERY.
    /// - Throws: `MailError.configuration` naming TOKENWATCH_MAIL_FROM, TOKENWATCH_RENEW_URL or
    ///   TOKENWATCH_OPS_EMAIL.
    public init(
        templates: TemplateSet, from: String, renewURLTemplate: String?, options: DigestOptions = DigestOptions()
    ) throws(MailError) {
        self.templates = templates
        self.options = options
        if let ops = options.opsEmail { _ = try MailAddress(address: ops, role: "TOKENWATCH_OPS_EMAIL") }
        self.from = try MailAddress(mailbox: from, role: "TOKENWATCH_MAIL_FROM")
        if let renewURLTemplate, !renewURLTemplate.isEmpty {
            self.renewLink = try RenewLink(template: renewURLTemplate)
        } else {
            self.renewLink = nil
        }
        self.messageIDDomain = self.from.domain.lowercased()
    }

    /// The Message-ID (without angle brackets) of the digest with this key.
    public func messageID(forKey key: String) -> String {
        let hash = SHA256.hash(data: Data(("tokenwatch-digest\u{0}" + key).utf8))
        return "digest." + hash.prefix(16).hexString + "@" + messageIDDomain
    }

    /// Composes the message for one digest.
    /// - Throws: `MailError.configuration` when the recipient is not a usable address or the
    ///   digest has no entries.
    public func compose(_ digest: Digest, now: Date) throws(MailError) -> MailMessage {
        let recipient = try MailAddress(address: digest.recipient, role: "recipient")
        guard !digest.entries.isEmpty else {
            throw MailError.configuration("digest for \(recipient.address) has no pages to report")
        }
        var context = DigestTemplateContext.make(digest: digest, now: now, renewLink: renewLink, options: options)
        let subject = Self.subjectLine(templates.render(.digestSubject, context))
        context["subject"] = subject
        let text = Self.trimmedBody(templates.render(.digestText, context))
        let html = Self.trimmedBody(templates.render(.digestHTML, context))
        let messageID = messageID(forKey: digest.key)
        let message = MIMEMessage(
            from: from, to: [recipient], subject: subject, date: now, messageID: messageID, text: text, html: html)
        return MailMessage(
            envelopeFrom: from.address, envelopeTo: [recipient.address], messageID: messageID,
            data: message.rendered())
    }

    /// The rendered subject on one line: control characters and line breaks become spaces,
    /// whitespace collapses, and an overlong subject is cut.
    static func subjectLine(_ rendered: String) -> String {
        let line = HeaderText.neutralised(rendered)
        return line.count > subjectLimit ? String(line.prefix(subjectLimit - 1)) + "…" : line
    }

    /// A body without leading blank lines and with exactly one final line break.
    static func trimmedBody(_ rendered: String) -> String {
        // On bytes: blank lines (spaces and tabs only) are cut at both ends. A body with a CR
        // (a template saved with CRLF) goes the way of Characters, where CRLF is one.
        if rendered.utf8.contains(0x0D) { return trimmedBodyByCharacters(rendered) }
        let bytes = Array(rendered.utf8)
        func isBlank(_ line: ArraySlice<UInt8>) -> Bool { line.allSatisfy { $0 == 0x20 || $0 == 0x09 } }
        var start = 0
        var end = bytes.count
        // Leading blank lines: each ends at an LF (a last line without one is kept whole).
        while let newline = bytes[start..<end].firstIndex(of: 0x0A), isBlank(bytes[start..<newline]) {
            start = newline + 1
        }
        // Trailing blank lines, the last one possibly without its LF.
        while end > start {
            let lineStart = (bytes[start..<end].lastIndex(of: 0x0A)).map { $0 + 1 } ?? start
            guard isBlank(bytes[lineStart..<end]) else { break }
            if lineStart == start {
                end = start
                break
            }
            end = lineStart - 1
        }
        return String(decoding: bytes[start..<end], as: UTF8.self) + "\n"
    }

    /// `trimmedBody` by Characters: CRLF becomes LF, blank lines are cut at both ends.
    static func trimmedBodyByCharacters(_ rendered: String) -> String {
        var lines = rendered.replacingOccurrences(of: "\r\n", with: "\n").split(
            separator: "\n", omittingEmptySubsequences: false)
        while let first = lines.first, first.allSatisfy({ $0 == " " || $0 == "\t" }) { lines.removeFirst() }
        while let last = lines.last, last.allSatisfy({ $0 == " " || $0 == "\t" }) { lines.removeLast() }
        return lines.map { String($0) }.joined(separator: "\n") + "\n"
    }
}
