import Foundation
import TokenWatchModel

/// The renewal link template (`TOKENWATCH_RENEW_URL`): an http(s) URL in which `{page_id}`
/// is replaced by the percent-encoded Page ID.
public struct RenewLink: Sendable, Equatable {
    /// The template as configured.
    public let template: String

    /// Validates the template. Throws `MailError.configuration` naming TOKENWATCH_RENEW_URL
    /// when it is not an absolute http or https URL once `{page_id}` is filled in.
    public init(template: String) throws(MailError) {
        let hint = "TOKENWATCH_RENEW_URL must be an http:// or https:// URL, with {page_id} where the Page ID goes"
        if template.unicodeScalars.contains(where: {
            $0.value <= 0x20 || $0.value == 0x7F || "\"<>\\^`|".unicodeScalars.contains($0)
        }) {
            throw MailError.configuration("\(hint); it contains a space, a control character or one of \" < > \\ ^ ` |")
        }
        let sample = template.replacingOccurrences(of: "{page_id}", with: "0")
        guard sample.unicodeScalars.allSatisfy({ $0.isASCII }), !sample.contains("{"), !sample.contains("}") else {
            throw MailError.configuration(
                "\(hint); it may hold only ASCII characters and no braces other than {page_id}")
        }
        guard let components = URLComponents(string: sample),
            let scheme = components.scheme?.lowercased(), scheme == "http" || scheme == "https",
            let host = components.host, !host.isEmpty
        else {
            throw MailError.configuration(hint)
        }
        if components.user != nil || components.password != nil {
            throw MailError.configuration("\(hint); it must not carry a user name or password")
        }
        self.template = template
    }

    /// The link for one page.
    public func url(pageID: String) -> String {
        template.replacingOccurrences(of: "{page_id}", with: Self.percentEncoded(pageID))
    }

    /// `value` with every octet outside the RFC 3986 unreserved set percent-encoded, so it is
    /// safe in a path segment, a query value or a fragment.
    static func percentEncoded(_ value: String) -> String {
        let hex = Array("0123456789ABCDEF".utf8)
        var out: [UInt8] = []
        for byte in value.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"),
                UInt8(ascii: "~"):
                out.append(byte)
            default:
                out += [UInt8(ascii: "%"), hex[Int(byte >> 4)], hex[Int(byte & 0x0F)]]
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}
