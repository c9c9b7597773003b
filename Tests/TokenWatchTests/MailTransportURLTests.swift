import Testing

@testable import TokenWatchMail

@Suite("Mail transport URL")
struct MailTransportURLTests {
    @Test(
        "Accepts smtp, smtps and file URLs",
        arguments: [
            (
                "smtp://mail.example.com:587",
                MailTransportURL.smtp(host: "mail.example.com", port: 587, tlsRequired: false)
            ),
            ("smtp://mail.example.com", .smtp(host: "mail.example.com", port: 25, tlsRequired: false)),
            ("SMTP://Mail.Example.com:2525/", .smtp(host: "Mail.Example.com", port: 2525, tlsRequired: false)),
            ("smtp://mail.example.com:587?tls=required", .smtp(host: "mail.example.com", port: 587, tlsRequired: true)),
            ("smtp://127.0.0.1:8025", .smtp(host: "127.0.0.1", port: 8025, tlsRequired: false)),
            ("smtp://[::1]:8025", .smtp(host: "::1", port: 8025, tlsRequired: false)),
            ("smtps://mail.example.com:465", .smtps(host: "mail.example.com", port: 465)),
            ("smtps://mail.example.com", .smtps(host: "mail.example.com", port: 465)),
            // The configuration loader, SMTPTransport and this parser once disagreed on it: smtps is
            // TLS from the first byte, so tls=required only says so.
            ("smtps://mail.example.com?tls=required", .smtps(host: "mail.example.com", port: 465)),
            ("file:///var/spool/tokenwatch", .file(directory: "/var/spool/tokenwatch")),
            ("file:///tmp/my%20mail/", .file(directory: "/tmp/my mail/")),
        ])
    func accepts(_ text: String, _ expected: MailTransportURL) throws {
        #expect(try MailTransportURL(parsing: text) == expected)
    }

    @Test(
        "Rejects other schemes, missing hosts, bad ports, file URLs with a host",
        arguments: [
            "", "mail.example.com", "http://mail.example.com", "smtp+tls://x.example", "smtp://", "smtp://:25",
            "smtp://mail.example.com:0", "smtp://mail.example.com:65536", "smtp://mail.example.com:abc",
            "smtp://mail.example.com:", "smtp://mail.example.com:-1", "smtp://mail.example.com/path",
            "smtp://mail.example.com#frag", "smtp://mail.example.com?tls=maybe",
            "smtps://mail.example.com?tls=optional",
            "smtp://mail example.com", "smtp://mail.example.com\r\n", "smtp://[::1", "smtp://[zz]:25",
            "smtp://bad_host!:25", "file://host/dir", "file://localhost/dir", "file://", "file:relative",
            "file:///dir?x=1", "file:///bad%zz",
        ])
    func rejects(_ text: String) {
        do {
            let parsed = try MailTransportURL(parsing: text)
            Issue.record("accepted \(text.debugDescription) as \(parsed)")
        } catch {
            guard case .configuration(let why) = error else {
                Issue.record("unexpected \(error)")
                return
            }
            #expect(why.contains("TOKENWATCH_SMTP_URL"), "\(why)")
        }
    }

    @Test(
        "A password in the URL is rejected without being repeated",
        arguments: [
            "smtp://user:hunter2-secret@mail.example.com:587", "smtps://hunter2-secret@mail.example.com",
            "file://user:hunter2-secret@/tmp", "smtp://mail.example.com:hunter2-secret",
            "smtp://mail.example.com?password=hunter2-secret", "ftp://user:hunter2-secret@x",
        ])
    func neverEchoesSecrets(_ text: String) {
        do {
            _ = try MailTransportURL(parsing: text)
            Issue.record("accepted \(text)")
        } catch {
            #expect(!error.description.contains("hunter2"), "\(error.description)")
            #expect(error.description.contains("TOKENWATCH_SMTP_URL"))
            if text.contains("@") {
                #expect(error.description.contains("TOKENWATCH_SMTP_USER"))
                #expect(error.description.contains("TOKENWATCH_SMTP_PASSWORD"))
            }
        }
    }

    @Test("The libcurl URL brackets IPv6 hosts")
    func curlURL() throws {
        #expect(try MailTransportURL(parsing: "smtp://[::1]:8025").curlURL == "smtp://[::1]:8025")
        #expect(try MailTransportURL(parsing: "smtps://mail.example.com").curlURL == "smtps://mail.example.com:465")
        #expect(try MailTransportURL(parsing: "file:///tmp").curlURL == nil)
    }
}
