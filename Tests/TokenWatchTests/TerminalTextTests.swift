import Foundation
import Testing

@testable import TokenWatch
@testable import TokenWatchModel

@Suite("Terminal text")
struct TerminalTextTests {
    @Test func everyControlAScreenActsOnIsReplaced() {
        #expect(TerminalText.sanitise("Evil\u{1b}[2J\u{7}Name") == "Evil?[2J?Name")
        #expect(TerminalText.sanitise("a\r\nb\tc\u{7f}d\u{85}e\u{9b}f") == "a??b?c?d?e?f")
        #expect(TerminalText.sanitise("left\u{202e}right\u{2066}x\u{2028}y") == "left?right?x?y")
        // Printable text, accents and emoji stay as they are.
        #expect(TerminalText.sanitise("Café “Ünïcode” 🙂 page") == "Café “Ünïcode” 🙂 page")
    }

    @Test func linesKeepTheirBreaksOnly() {
        #expect(TerminalText.sanitiseLines("one\u{1b}[K\ntwo\r\n\nthree") == "one?[K\ntwo?\n\nthree")
    }

    @Test func jsonKeepsTheValueWithControlsEscaped() throws {
        let value = "x\u{7f}\u{9b}\u{202e}y"
        let json = TerminalText.escapingForJSON("[\n  \"\(value)\"\n]")
        #expect(json == "[\n  \"x\\u007f\\u009b\\u202ey\"\n]")
        let decoded = try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String]
        #expect(decoded == [value])
    }

    @Test func logLinesUseTheSameDefinition() {
        #expect(LogLine.escapeControls("a\u{9b}b\u{202e}c") == "a\\u{9B}b\\u{202E}c")
        #expect(LogLine.jsonString("a\u{9b}b") == "\"a\\u009bb\"")
    }
}
