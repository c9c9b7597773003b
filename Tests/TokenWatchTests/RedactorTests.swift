import Testing

@testable import TokenWatchModel

/// The one redactor every outside text passes (SPEC.md "Secrets"): each secret in every form a
/// server may echo it, token shapes, overlapping secrets — and ordinary text left alone.
@Suite("Redactor")
struct RedactorTests {
    static let appSecret = "app-secret-s3cr3t"
    static let appToken = "1234567890|app-secret-s3cr3t"
    static let pageToken = "simtok_valid_104000000000001_t"
    static let smtpUser = "mailer"
    static let smtpPassword = "smtp-pass-9c8b7a"
    /// Computed apart from the redactor, with Python's base64 module.
    static let plainBlob = "AG1haWxlcgBzbXRwLXBhc3MtOWM4Yjdh"  // "\0mailer\0smtp-pass-9c8b7a"
    static let plainBlobWithAuthzid = "bWFpbGVyAG1haWxlcgBzbXRwLXBhc3MtOWM4Yjdh"  // "mailer\0mailer\0smtp-pass-9c8b7a"
    static let loginPasswordBlob = "c210cC1wYXNzLTljOGI3YQ=="
    static let loginUserBlob = "bWFpbGVy"

    let redactor = Redactor(secrets: [Secret(appSecret), Secret(appToken)])
        .adding([Secret(pageToken)])
        .addingSMTPCredentials(user: smtpUser, password: Secret(smtpPassword))

    @Test func theAppTokenAndItsSecretBecomeOneMarkerWhereverGraphQuotesThem() {
        #expect(
            redactor.redact("Malformed access token 1234567890|app-secret-s3cr3t")
                == "Malformed access token [redacted]")
        #expect(redactor.redact("(#100) bad proof for app-secret-s3cr3t.") == "(#100) bad proof for [redacted].")
        #expect(
            redactor.redact("access_token=1234567890%7Capp-secret-s3cr3t&x=1") == "access_token=[redacted]&x=1",
            "the form-encoded app token")
        #expect(
            redactor.redact("a 1234567890|app-secret-s3cr3t b 1234567890|app-secret-s3cr3t c")
                == "a [redacted] b [redacted] c")
    }

    @Test func aPageTokenIsRemovedInsideLongerText() {
        #expect(
            redactor.redact("An unexpected error (input_token=\(Self.pageToken)). Retry.")
                == "An unexpected error (input_token=[redacted]). Retry.")
        #expect(redactor.redact("x\(Self.pageToken)y") == "x[redacted]y")
        #expect(redactor.redact(Self.pageToken) == "[redacted]")
    }

    @Test func addingMakesACopyAndLeavesTheOriginalAsItWas() {
        let base = Redactor(secrets: [Secret(Self.appSecret)])
        let batch = base.adding([Secret("batch-token-one"), Secret("batch-token-two")])
        #expect(batch.redact("batch-token-one and batch-token-two") == "[redacted] and [redacted]")
        #expect(base.redact("batch-token-one") == "batch-token-one")
        #expect(batch.redact(Self.appSecret) == "[redacted]")
    }

    @Test func smtpCredentialsInEveryAuthForm() {
        for blob in [Self.plainBlob, Self.plainBlobWithAuthzid, Self.loginPasswordBlob, Self.loginUserBlob] {
            let reply = "535 5.7.8 Authentication failed for \(blob)"
            #expect(redactor.redact(reply) == "535 5.7.8 Authentication failed for [redacted]", "\(blob)")
        }
        // A LOGIN exchange quoted whole, and a server that strips the padding.
        #expect(
            redactor.redact("535 5.7.8 failed for \(Self.loginUserBlob) \(Self.loginPasswordBlob)")
                == "535 5.7.8 failed for [redacted] [redacted]")
        #expect(redactor.redact("535 c210cC1wYXNzLTljOGI3YQ end") == "535 [redacted] end")
        #expect(redactor.redact("bad password smtp-pass-9c8b7a") == "bad password [redacted]")
        // Without a user only the password's forms are known.
        let passwordOnly = Redactor().addingSMTPCredentials(user: nil, password: Secret(Self.smtpPassword))
        #expect(passwordOnly.redact("535 \(Self.loginPasswordBlob)") == "535 [redacted]")
    }

    @Test func anythingShapedLikeAFacebookTokenGoesEvenWhenUnknown() {
        let token = "EAAGm0PX4ZCpsBAKZBZC0ZCZBZCx7d3ZAfWk"
        #expect(Redactor().redact("Malformed access token \(token)") == "Malformed access token [redacted]")
        #expect(Redactor().redact("token=\(token);next") == "token=[redacted];next")
        #expect(Redactor().redact("(\(token))") == "([redacted])")
        // 20 characters after EAA is a token; 19 is not.
        #expect(Redactor().redact("EAA" + String(repeating: "b", count: 20)) == "[redacted]")
        #expect(
            Redactor().redact("EAA" + String(repeating: "b", count: 19)) == "EAA" + String(repeating: "b", count: 19))
    }

    @Test func anythingShapedLikeAnAppTokenGoesEvenWhenUnknown() {
        let secret = "0123456789abcdef0123456789abcdef"
        #expect(Redactor().redact("Invalid token 987654321|\(secret).") == "Invalid token [redacted].")
        #expect(Redactor().redact("t=987654321%7C\(secret)&") == "t=[redacted]&")
        #expect(
            Redactor().redact("x 42|" + String(repeating: "a", count: 19)) == "x 42|"
                + String(repeating: "a", count: 19))
        #expect(Redactor().redact("pages 104000000000001|104000000000002") == "pages 104000000000001|104000000000002")
    }

    @Test func overlappingAndNestedSecretsLeaveNoFragment() {
        let overlapping = Redactor(secrets: [Secret("abcdef-1234"), Secret("1234-wxyz99")])
        #expect(overlapping.redact("xx abcdef-1234-wxyz99 yy") == "xx [redacted] yy")
        #expect(overlapping.redact("abcdef-1234abcdef-1234") == "[redacted]")
        // One secret inside another, in either order of adding.
        let nested = Redactor(secrets: [Secret("inner-secret"), Secret("outer-inner-secret-end")])
        #expect(nested.redact("< outer-inner-secret-end >") == "< [redacted] >")
        #expect(nested.redact("< inner-secret >") == "< [redacted] >")
        let reversed = Redactor(secrets: [Secret("outer-inner-secret-end"), Secret("inner-secret")])
        #expect(reversed.redact("<outer-inner-secret-end>") == "<[redacted]>")
        // A token shape overlapping a known secret.
        let shaped = Redactor(secrets: [Secret("tail-of-it-9")])
        #expect(shaped.redact("EAA" + String(repeating: "Q", count: 24) + "tail-of-it-9!") == "[redacted]!")
    }

    @Test func ordinaryTextIsLeftAlone() {
        let texts = [
            "Error validating access token: The session has been invalidated because the user changed their password or Facebook has changed the session for security reasons.",
            "Invalid OAuth access token - Cannot parse access token",
            "(#4) Application request limit reached",
            "Graph API rejected the request (HTTP 400, code 190/460, OAuthException)",
            "250 2.0.0 OK: queued as 0001",
            "451 4.3.0 Message temporarily refused by the test sink",
            "Couldn't connect to server (Failed to connect to 127.0.0.1 port 1 after 0 ms: Connection refused)",
            "Page 104000000000001 of Café Ünïcode 🚀, since 2026-07-14T10:00:00Z",
            "EAA is a prefix, EAAB1234 is short, 1234|short too",
            "",
        ]
        for text in texts { #expect(redactor.redact(text) == text) }
        #expect(redactor.redact(nil as String?) == nil)
    }

    @Test func shortAndEmptySecretsAreNotSearchedFor() {
        let short = Redactor(secrets: [Secret(""), Secret("a"), Secret("the")])
        #expect(short.redact("the cat ate a rat") == "the cat ate a rat")
        // A short password's AUTH blobs are long enough to be found.
        let smtp = Redactor().addingSMTPCredentials(user: "u", password: Secret("pw"))
        #expect(smtp.redact("535 AHUAcHc=") == "535 [redacted]")  // "\0u\0pw"
        #expect(smtp.redact("pw is not a word to redact") == "pw is not a word to redact")
    }

    @Test func textAroundASecretKeepsItsCharacters() {
        #expect(
            redactor.redact("Crêperie 🥞 \(Self.pageToken) עמוד") == "Crêperie 🥞 [redacted] עמוד")
        let once = redactor.redact("a \(Self.appToken) b \(Self.plainBlob)")
        #expect(redactor.redact(once) == once, "redacting twice changes nothing")
    }
}
