import Foundation
import Testing

@testable import TokenWatchMail

/// The digest's quoted-printable encoder and body trimming work on bytes; these are the
/// String versions they replaced, kept here as the reference the bytes must match.
@Suite("Mail byte encoders match their String references")
struct MailBytesEquivalenceTests {
    static func referenceQP(_ text: String) -> String {
        let normalised = text.replacingOccurrences(of: "\r\n", with: "\n").replacingOccurrences(of: "\r", with: "\n")
        var output: [String] = []
        for line in normalised.split(separator: "\n", omittingEmptySubsequences: false) {
            output.append(contentsOf: referenceLine(Substring(line)))
        }
        return output.joined(separator: "\r\n")
    }

    static func referenceLine(_ line: Substring) -> [String] {
        let fromPrefix = Array("From ".unicodeScalars)
        func escape(_ byte: UInt8) -> String {
            let hex = Array("0123456789ABCDEF".utf8)
            return String(decoding: [UInt8(ascii: "="), hex[Int(byte >> 4)], hex[Int(byte & 0x0F)]], as: UTF8.self)
        }
        var physical: [String] = []
        var current = ""
        let scalars = Array(line.unicodeScalars)
        for (position, scalar) in scalars.enumerated() {
            let isLast = position == scalars.count - 1
            var piece = ""
            let atLineStart = current.isEmpty
            switch scalar.value {
            case 0x20, 0x09:
                piece = isLast ? escape(UInt8(scalar.value)) : String(Character(scalar))
            case 0x2E where atLineStart:
                piece = escape(0x2E)
            case 0x46 where atLineStart && scalars[position...].starts(with: fromPrefix):
                piece = escape(0x46)
            case 0x21...0x7E where scalar.value != 0x3D:
                piece = String(Character(scalar))
            default:
                for byte in String(Character(scalar)).utf8 { piece += escape(byte) }
            }
            let limit = isLast ? QuotedPrintable.lineLimit : QuotedPrintable.lineLimit - 1
            if current.utf8.count + piece.utf8.count > limit, !current.isEmpty {
                physical.append(current + "=")
                current = ""
                if scalar.value == 0x2E {
                    piece = escape(0x2E)
                } else if scalar.value == 0x46, scalars[position...].starts(with: fromPrefix) {
                    piece = escape(0x46)
                }
            }
            current += piece
        }
        physical.append(current)
        return physical
    }

    static func referenceTrimmed(_ rendered: String) -> String {
        var lines = rendered.replacingOccurrences(of: "\r\n", with: "\n").split(
            separator: "\n", omittingEmptySubsequences: false)
        while let first = lines.first, first.allSatisfy({ $0 == " " || $0 == "\t" }) { lines.removeFirst() }
        while let last = lines.last, last.allSatisfy({ $0 == " " || $0 == "\t" }) { lines.removeLast() }
        return lines.map { String($0) }.joined(separator: "\n") + "\n"
    }

    static func samples() -> [String] {
        var samples = [
            "", "\n", "\r\n", "\r", " ", "\t\n", "a", "a\n", "\n\na\n\n", " \n b \n ", "From here\nFrom\n.\n..",
            String(repeating: "é", count: 200), String(repeating: " ", count: 100) + "x",
            String(repeating: "x", count: 74) + ".From the start" + String(repeating: "🚀", count: 40),
            "line\r\nwith\rmixed\nbreaks\r\r\n\n", "x\u{301} \u{301}\n \u{301}\n", "tab\tend\t", "=3D=\u{7F}\u{1}",
        ]
        var generator = SystemRandomNumberGenerator()
        let alphabet = Array(" \t\r\n.=Fromé🚀x\u{301}\u{7F}".unicodeScalars) + Array("From ".unicodeScalars)
        for _ in 0..<2_000 {
            let length = Int.random(in: 0...180, using: &generator)
            samples.append(
                String(
                    String.UnicodeScalarView(
                        (0..<length).map { _ in alphabet.randomElement(using: &generator) ?? "x" })))
        }
        return samples
    }

    @Test("quoted-printable: the same text as the String encoder, hostile and random input")
    func quotedPrintable() {
        for sample in Self.samples() {
            #expect(QuotedPrintable.encode(sample) == Self.referenceQP(sample), "\(sample.debugDescription)")
        }
    }

    @Test("trimmed bodies: the same text as the String version")
    func trimmed() {
        for sample in Self.samples() {
            #expect(DigestComposer.trimmedBody(sample) == Self.referenceTrimmed(sample), "\(sample.debugDescription)")
        }
    }
}
