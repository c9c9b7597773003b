import Foundation
import Testing
import TokenWatchTestSupport

@testable import TokenWatchReports

/// `ZipEntrySplice` against archives Python's zipfile writes and reads: an independent
/// implementation of the format on both sides.
@Suite("Zip entry splice")
struct ZipEntrySpliceTests {
    /// Writes a deflated archive at `path` with `entries` in order; `streamed` writes it
    /// through a stream that cannot seek, so every entry carries a data descriptor.
    static func makeArchive(_ path: String, _ entries: [(String, String)], streamed: Bool = false) async throws {
        let script = """
            import io, json, sys, zipfile
            path, streamed, entries = sys.argv[1], sys.argv[2] == "1", json.load(sys.stdin)
            class Unseekable(io.RawIOBase):
                def __init__(self, f): self.f = f
                def writable(self): return True
                def write(self, b): return self.f.write(b)
            with open(path, "wb") as f:
                target = Unseekable(f) if streamed else f
                with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as z:
                    for name, text in entries:
                        z.writestr(name, text)
            """
        let list = try JSONEncoder().encode(entries.map { [$0.0, $0.1] })
        _ = try await PythonScript.run(script, arguments: [path, streamed ? "1" : "0"], input: list)
    }

    /// The entries Python reads from `path`, in order, after `testzip()` checked every CRC.
    static func readArchive(_ path: String) async throws -> [[String]] {
        let script = """
            import json, sys, zipfile
            with zipfile.ZipFile(sys.argv[1]) as z:
                assert z.testzip() is None, z.testzip()
                print(json.dumps([[i.filename, z.read(i).decode()] for i in z.infolist()]))
            """
        return try JSONDecoder().decode([[String]].self, from: try await PythonScript.run(script, arguments: [path]))
    }

    @Test(
        "the entry comes from the donor, every other from the archive, in the archive's order",
        arguments: [false, true])
    func replacesOneEntry(streamed: Bool) async throws {
        let directory = try TestDirectory()
        let big = String(repeating: "<row>page</row>", count: 50_000)
        try await Self.makeArchive(
            directory.file("a.zip"),
            [("first.xml", "one"), ("sheet2.xml", "placeholder"), ("big.xml", big), ("styles.xml", "s")],
            streamed: streamed)
        try await Self.makeArchive(
            directory.file("b.zip"), [("sheet1.xml", "other"), ("styles.xml", "s"), ("sheet2.xml", "the summary")],
            streamed: streamed)
        try ZipEntrySplice.replace(
            entry: "sheet2.xml", in: directory.file("a.zip"), from: directory.file("b.zip"),
            into: directory.file("out.zip"), sameIn: ["styles.xml"])
        let read = try await Self.readArchive(directory.file("out.zip"))
        #expect(read.map { $0[0] } == ["first.xml", "sheet2.xml", "big.xml", "styles.xml"])
        #expect(read.map { $0[1] } == ["one", "the summary", big, "s"])
    }

    @Test("an entry that must be the same in both, and differs, refuses the splice and leaves no file")
    func differingSharedEntryRefuses() async throws {
        let directory = try TestDirectory()
        try await Self.makeArchive(directory.file("a.zip"), [("sheet2.xml", "x"), ("styles.xml", "bold at 1")])
        try await Self.makeArchive(directory.file("b.zip"), [("sheet2.xml", "y"), ("styles.xml", "bold at 2")])
        #expect(throws: ReportError.self) {
            try ZipEntrySplice.replace(
                entry: "sheet2.xml", in: directory.file("a.zip"), from: directory.file("b.zip"),
                into: directory.file("out.zip"), sameIn: ["styles.xml"])
        }
        #expect(!FileManager.default.fileExists(atPath: directory.file("out.zip")))
    }

    @Test("a file that is not a zip archive, or is cut short, is refused")
    func brokenArchivesAreRefused() async throws {
        let directory = try TestDirectory()
        try await Self.makeArchive(directory.file("b.zip"), [("sheet2.xml", "y")])
        try await Self.makeArchive(
            directory.file("a.zip"), [("sheet2.xml", "x"), ("big.xml", String(repeating: "z", count: 9_000))])
        let whole = try Data(contentsOf: URL(fileURLWithPath: directory.file("a.zip")))
        try Data("not a zip at all, but long enough to look for an end record".utf8).write(
            to: URL(fileURLWithPath: directory.file("text.zip")))
        try whole.prefix(whole.count - 30).write(to: URL(fileURLWithPath: directory.file("cut.zip")))
        for broken in ["text.zip", "cut.zip"] {
            #expect(throws: ReportError.self) {
                try ZipEntrySplice.replace(
                    entry: "sheet2.xml", in: directory.file(broken), from: directory.file("b.zip"),
                    into: directory.file("out-\(broken)"), sameIn: [])
            }
            #expect(!FileManager.default.fileExists(atPath: directory.file("out-\(broken)")))
        }
    }
}
