import Testing

@testable import TokenWatch

@Suite struct EnvironmentFileTests {
    private func parse(_ text: String) throws(ConfigurationError) -> [String: String] {
        let file = try EnvironmentFile.parse(Array(text.utf8), path: "t.env")
        return Dictionary(file.entries.map { ($0.key, $0.value) }, uniquingKeysWith: { _, later in later })
    }

    private func failure(_ text: String) -> ConfigurationError? {
        do {
            _ = try parse(text)
            return nil
        } catch {
            return error
        }
    }

    @Test func readsValuesLikeSystemd() throws {
        let values = try parse(
            """
            A=plain value   
            B='single $HOME \\n "kept"'
            C="double \\"q\\" \\$HOME \\\\ \\x"
            D=  spaced
            E=
            F=with\\
            continuation
            G="multi
            line"
            H="continued \\
            here"
            A=later wins
            """)
        #expect(values["A"] == "later wins")
        #expect(values["B"] == #"single $HOME \n "kept""#)
        #expect(values["C"] == #"double "q" $HOME \ \x"#)
        #expect(values["D"] == "spaced")
        #expect(values["E"] == "")
        #expect(values["F"] == "withcontinuation")
        #expect(values["G"] == "multi\nline")
        #expect(values["H"] == "continued here")
    }

    @Test func linesAreCountedFromOneAndCRLFIsFine() throws {
        let file = try EnvironmentFile.parse(Array("# c\r\n\r\nA=1\r\nB='x'\r\n".utf8), path: "t.env")
        #expect(file.entries == [.init(key: "A", value: "1", line: 3), .init(key: "B", value: "x", line: 4)])
    }

    @Test func exportPrefixIsToleratedWithAWarning() throws {
        let file = try EnvironmentFile.parse(Array("export  A=1\nexportB=2\n".utf8), path: "t.env")
        #expect(file.entries.map(\.key) == ["A", "exportB"])
        #expect(file.warnings == [.exportPrefix(path: "t.env", line: 1, key: "A")])
    }

    @Test func refusesWhatSystemdWouldReadSurprisingly() {
        #expect(
            failure("A=1\nJUST_A_WORD\n")
                == .syntax(path: "t.env", line: 2, reason: "expected KEY=VALUE, found no '=' on this line"))
        #expect(
            failure("A=1\nJUST_A_WORD")
                == .syntax(path: "t.env", line: 2, reason: "expected KEY=VALUE, found no '=' on this line"))
        #expect(
            failure("A=\"x\" # comment\n")
                == .syntax(
                    path: "t.env", line: 1,
                    reason: "unexpected text after the closing quote (comments must be on their own line)"))
        #expect(
            failure("\n\nA='never closed\nB=2\n")
                == .syntax(path: "t.env", line: 3, reason: "the quote opened on this line is never closed"))
        #expect(
            failure("1A=x\n")?.description
                == "t.env:1: the name before '=' is not a valid variable name (letters, digits and _)")
        #expect(failure("A B=x\n") != nil)
        #expect(
            failure("# a comment \\\nA=1\n")?.description.hasPrefix("t.env:1: a comment ending in a backslash") == true)
        #expect(failure("A=1\u{0}\n") == .syntax(path: "t.env", line: 1, reason: "the file contains a NUL byte"))
        let latin1: [UInt8] = Array("A=caf".utf8) + [0xE9, 0x0A]
        #expect(throws: ConfigurationError.syntax(path: "t.env", line: 1, reason: "the file is not valid UTF-8")) {
            try EnvironmentFile.parse(latin1, path: "t.env")
        }
    }

    @Test func commentsAndBlankLinesAreIgnored() throws {
        #expect(try parse("# one\n; two\n   # indented\n\n\t\n").isEmpty)
        #expect(try parse("").isEmpty)
        #expect(try parse("A=x#not a comment\n")["A"] == "x#not a comment")
    }
}
