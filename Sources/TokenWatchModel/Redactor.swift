import Foundation

/// Removes secrets from text that came from outside (Graph's error messages, `me/accounts`
/// answers, SMTP replies, libcurl's error strings) before anything logs, stores, renders or
/// prints it: servers echo what they were sent, and Graph quotes tokens back
/// ("Malformed access token …").
///
/// A value built with the secrets it must remove; parts that learn more secrets (a batch's
/// page tokens, a login's user token) make a copy with `adding(_:)`. Every occurrence of a
/// secret, of its percent-encoded form, and of anything shaped like a Facebook access token
/// (`EAA` and 20 or more token characters) or an app token (digits, `|`, 20 or more token
/// characters) becomes `Redactor.marker`. Matches are found in the original text first and
/// merged, so overlapping secrets leave no fragment of either behind.
public struct Redactor: Sendable {
    /// What a removed secret reads as.
    public static let marker = "[redacted]"
    /// Shorter secrets are not searched for: they would match ordinary words (a 3-letter
    /// password would take every "the" with it). Their longer derived forms still are.
    public static let minimumLength = 4
    /// Token characters a token-shaped match needs after `EAA` or after an app ID's `|`.
    private static let minimumShapedLength = 20

    /// The byte strings to remove, each at least `minimumLength` long, in the order added.
    private var needles: [[UInt8]] = []
    /// The same, to skip duplicates without a linear search (a login may add thousands).
    private var known: Set<[UInt8]> = []

    /// A redactor for `secrets` (empty ones and short ones are ignored) and token shapes.
    public init(secrets: [Secret] = []) {
        add(secrets.map(\.reveal))
    }

    /// This redactor and `secrets` too.
    public func adding(_ secrets: [Secret]) -> Redactor {
        var copy = self
        copy.add(secrets.map(\.reveal))
        return copy
    }

    /// This redactor and SMTP credentials in every form an SMTP exchange carries them: the
    /// password, AUTH PLAIN's base64 of `\0user\0password` and of `user\0user\0password`, and
    /// AUTH LOGIN's base64 of the password and of the user.
    public func addingSMTPCredentials(user: String?, password: Secret?) -> Redactor {
        var copy = self
        let secret = password?.reveal ?? ""
        var forms: [String] = [secret]
        if !secret.isEmpty { forms += Self.base64(secret) }
        if let user, !user.isEmpty {
            forms += Self.base64(user)
            if !secret.isEmpty {
                forms += Self.base64("\0\(user)\0\(secret)")
                forms += Self.base64("\(user)\0\(user)\0\(secret)")
            }
        }
        copy.add(forms)
        return copy
    }

    /// `text` with every secret and every token-shaped run replaced by `marker`.
    public func redact(_ text: String) -> String {
        let bytes = Array(text.utf8)
        var ranges = Self.shapedRanges(in: bytes)
        for needle in needles where needle.count <= bytes.count {
            ranges += Self.occurrences(of: needle, in: bytes)
        }
        guard !ranges.isEmpty else { return text }
        ranges.sort { $0.lowerBound < $1.lowerBound }
        var output: [UInt8] = []
        output.reserveCapacity(bytes.count)
        var position = 0
        var index = 0
        while index < ranges.count {
            // Merge every range that overlaps or touches this one: one marker, no fragments.
            var merged = ranges[index]
            index += 1
            while index < ranges.count, ranges[index].lowerBound <= merged.upperBound {
                merged = merged.lowerBound..<max(merged.upperBound, ranges[index].upperBound)
                index += 1
            }
            output += bytes[position..<merged.lowerBound]
            output += Self.marker.utf8
            position = merged.upperBound
        }
        output += bytes[position...]
        // Secrets and shapes are whole UTF-8 sequences, so cuts fall between characters.
        return String(decoding: output, as: UTF8.self)
    }

    /// `redact(_:)` of a value that may be absent.
    public func redact(_ text: String?) -> String? {
        text.map { redact($0) }
    }

    // MARK: Building

    private mutating func add(_ secrets: [String]) {
        for secret in secrets {
            let bytes = Array(secret.utf8)
            insert(bytes)
            // Most tokens need no percent-encoding: their encoded form is the same needle.
            if !bytes.allSatisfy(Self.isUnescaped) { insert(Array(Self.percentEncoded(secret).utf8)) }
        }
    }

    private mutating func insert(_ bytes: [UInt8]) {
        guard bytes.count >= Self.minimumLength, known.insert(bytes).inserted else { return }
        needles.append(bytes)
    }

    /// A byte `percentEncoded` keeps as it is.
    private static func isUnescaped(_ byte: UInt8) -> Bool {
        isTokenCharacter(byte) || byte == UInt8(ascii: ".") || byte == UInt8(ascii: "~")
    }

    /// Base64 as SMTP AUTH sends it, and without its `=` padding, for a server that strips it.
    private static func base64(_ text: String) -> [String] {
        let encoded = Data(text.utf8).base64EncodedString()
        var unpadded = Substring(encoded)
        while unpadded.last == "=" { unpadded = unpadded.dropLast() }
        return [encoded, String(unpadded)]
    }

    /// The form a secret has in a URL or a form body (`APPID%7CSECRET`).
    private static func percentEncoded(_ text: String) -> String {
        var encoded = ""
        for byte in text.utf8 {
            if isTokenCharacter(byte) || byte == UInt8(ascii: ".") || byte == UInt8(ascii: "~") {
                encoded.unicodeScalars.append(Unicode.Scalar(byte))
            } else {
                encoded +=
                    "%" + String(byte >> 4, radix: 16, uppercase: true)
                    + String(byte & 0x0F, radix: 16, uppercase: true)
            }
        }
        return encoded
    }

    // MARK: Searching

    private static func occurrences(of needle: [UInt8], in bytes: [UInt8]) -> [Range<Int>] {
        guard let first = needle.first else { return [] }
        var found: [Range<Int>] = []
        var start = 0
        let lastStart = bytes.count - needle.count
        while start <= lastStart {
            guard bytes[start] == first else {
                start += 1
                continue
            }
            var matched = true
            for offset in 1..<needle.count where bytes[start + offset] != needle[offset] {
                matched = false
                break
            }
            if matched {
                found.append(start..<start + needle.count)
                start += needle.count
            } else {
                start += 1
            }
        }
        return found
    }

    /// Runs shaped like a Facebook access token (`EAA` + 20 or more token characters) or an
    /// app token (digits, `|` or `%7C`, 20 or more token characters), each to its last token
    /// character.
    private static func shapedRanges(in bytes: [UInt8]) -> [Range<Int>] {
        var found: [Range<Int>] = []
        var index = 0
        while index < bytes.count {
            let byte = bytes[index]
            if byte == UInt8(ascii: "E"), index + 2 < bytes.count, bytes[index + 1] == UInt8(ascii: "A"),
                bytes[index + 2] == UInt8(ascii: "A")
            {
                let end = tokenRunEnd(bytes, from: index + 3)
                if end - (index + 3) >= minimumShapedLength {
                    found.append(index..<end)
                    index = end
                    continue
                }
            }
            if isDigit(byte), index == 0 || !isDigit(bytes[index - 1]) {
                var digitsEnd = index
                while digitsEnd < bytes.count, isDigit(bytes[digitsEnd]) { digitsEnd += 1 }
                if let secretStart = afterSeparator(bytes, at: digitsEnd) {
                    let end = tokenRunEnd(bytes, from: secretStart)
                    if end - secretStart >= minimumShapedLength {
                        found.append(index..<end)
                        index = end
                        continue
                    }
                }
                index = digitsEnd
                continue
            }
            index += 1
        }
        return found
    }

    /// Where the secret of an app token starts after `|` or its percent-encoded `%7C`.
    private static func afterSeparator(_ bytes: [UInt8], at index: Int) -> Int? {
        guard index < bytes.count else { return nil }
        if bytes[index] == UInt8(ascii: "|") { return index + 1 }
        if index + 2 < bytes.count, bytes[index] == UInt8(ascii: "%"), bytes[index + 1] == UInt8(ascii: "7"),
            bytes[index + 2] | 0x20 == UInt8(ascii: "c")
        {
            return index + 3
        }
        return nil
    }

    private static func tokenRunEnd(_ bytes: [UInt8], from start: Int) -> Int {
        var end = start
        while end < bytes.count, isTokenCharacter(bytes[end]) { end += 1 }
        return end
    }

    private static func isDigit(_ byte: UInt8) -> Bool {
        byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")
    }

    /// Graph's tokens are letters and digits; `-` and `_` cover URL-safe forms.
    private static func isTokenCharacter(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "_"):
            true
        default:
            false
        }
    }
}
