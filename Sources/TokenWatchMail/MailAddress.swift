import TokenWatchModel

/// An email address with an optional display name, validated so that nothing can be injected
/// into a header or an SMTP command through it.
///
/// Only plain ASCII `dot-atom@domain` addresses are accepted: no quoted local parts, no
/// address literals, no internationalised addresses (they would need SMTPUTF8). The display
/// name is free text; control characters in it are turned into spaces.
public struct MailAddress: Sendable, Equatable {
    /// The name shown before the address, if any, with control characters neutralised.
    public var displayName: String?
    /// The bare address (`local@domain`).
    public var address: String

    /// The part after the `@`.
    public var domain: String {
        address.split(separator: "@", omittingEmptySubsequences: false).last.map(String.init) ?? ""
    }

    /// Validates a bare address. `role` names it in the error ("recipient", "TOKENWATCH_MAIL_FROM").
    public init(address: String, role: String) throws(MailError) {
        if let problem = Self.problem(with: address) {
            throw MailError.configuration("\(role) \(Self.quoted(address)) is not a usable email address: \(problem)")
        }
        self.address = address
        self.displayName = nil
    }

    /// Parses `addr@example.com`, `Name <addr@example.com>` or `"Name" <addr@example.com>`.
    public init(mailbox: String, role: String) throws(MailError) {
        let trimmed = mailbox.trimmingSpaces()
        guard trimmed.last == ">", let open = trimmed.lastIndex(of: "<") else {
            try self.init(address: trimmed, role: role)
            return
        }
        let inner = String(trimmed[trimmed.index(after: open)..<trimmed.index(before: trimmed.endIndex)])
        try self.init(address: inner, role: role)
        var name = String(trimmed[..<open]).trimmingSpaces()
        if name.count >= 2, name.first == "\"", name.last == "\"" {
            name = Self.unquote(String(name.dropFirst().dropLast()))
        }
        let clean = HeaderText.neutralised(name)
        self.displayName = clean.isEmpty ? nil : clean
    }

    /// Why `address` is not acceptable, or nil when it is.
    public static func problem(with address: String) -> String? {
        if address.isEmpty { return "it is empty" }
        if address.utf8.count > 254 { return "it is longer than 254 characters" }
        for scalar in address.unicodeScalars {
            if scalar.value < 0x21 || scalar.value == 0x7F {
                return "it contains a space, a line break or a control character"
            }
            if scalar.value > 0x7E { return "only ASCII addresses are supported" }
            if "<>()[]\\,;:\"".unicodeScalars.contains(scalar) {
                return "it contains \"\(Character(scalar))\""
            }
        }
        let parts = address.split(separator: "@", omittingEmptySubsequences: false)
        guard parts.count == 2 else { return "it must contain exactly one @" }
        let local = parts[0]
        let domain = parts[1]
        if local.isEmpty || local.count > 64 { return "the part before @ must have 1 to 64 characters" }
        if local.hasPrefix(".") || local.hasSuffix(".") || local.contains("..") {
            return "the part before @ has a misplaced dot"
        }
        let labels = domain.split(separator: ".", omittingEmptySubsequences: false)
        for label in labels {
            if label.isEmpty || label.count > 63 { return "the domain \"\(domain)\" is malformed" }
            if label.hasPrefix("-") || label.hasSuffix("-") { return "the domain \"\(domain)\" is malformed" }
            if !label.unicodeScalars.allSatisfy(Self.isDomainScalar) {
                return "the domain \"\(domain)\" may hold only letters, digits, hyphens and dots"
            }
        }
        return nil
    }

    private static func isDomainScalar(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x30...0x39, 0x41...0x5A, 0x61...0x7A, 0x2D: true
        default: false
        }
    }

    private static func unquote(_ text: String) -> String {
        var result = ""
        var escaped = false
        for character in text {
            if escaped {
                result.append(character)
                escaped = false
            } else if character == "\\" {
                escaped = true
            } else {
                result.append(character)
            }
        }
        return result
    }

    /// A value safe to show in an error message: escaped, quoted, and cut short.
    static func quoted(_ value: String) -> String {
        let short = value.count > 80 ? String(value.prefix(80)) + "…" : value
        return short.debugDescription
    }
}
