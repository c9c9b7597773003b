import Foundation
import Testing

@testable import TokenWatchMail
@testable import TokenWatchModel

@Suite("File transport")
struct MailFileTransportTests {
    private func temporaryDirectory() -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("tokenwatch-mail-\(UUID().uuidString)").path
    }

    @Test("Writes one .eml per message, creating the directory; the file parses as the same message")
    func writesParsableFile() async throws {
        let directory = temporaryDirectory() + "/nested/mail"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let transport = FileTransport(directory: directory, now: { MailFixtures.now })
        let message = try MailFixtures.composer().compose(
            MailFixtures.digest([MailFixtures.entry(name: "Café Ünïcode 🚀")]), now: MailFixtures.now)

        let path = try await transport.send(message)
        #expect(path.hasPrefix(directory + "/"))
        let name = URL(fileURLWithPath: path).lastPathComponent
        #expect(name.hasPrefix("20251129T043300Z-digest."))
        #expect(name.hasSuffix("_alerts.example.com.eml"))
        #expect(!name.contains("@") && !name.contains("<"))

        let written = try #require(FileManager.default.contents(atPath: path))
        #expect(Array(written) == message.data)
        let fromFile = try await PythonEmail.parse(Array(written))
        let fromMemory = try await PythonEmail.parse(message.data)
        #expect(fromFile.subject?.hasSuffix("Facebook Page \"Café Ünïcode 🚀\" disconnected from TokenWatch") == true)
        #expect(fromFile.messageID == fromMemory.messageID)
        #expect(fromFile.parts.map(\.content) == fromMemory.parts.map(\.content))
        // No temporary file is left behind.
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory) == [name])
    }

    @Test("Never overwrites: the same message twice gets a second file")
    func neverOverwrites() async throws {
        let directory = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let transport = FileTransport(directory: directory, now: { MailFixtures.now })
        let message = try MailFixtures.composer().compose(
            MailFixtures.digest([MailFixtures.entry()]), now: MailFixtures.now)
        let first = try await transport.send(message)
        let second = try await transport.send(message)
        let third = try await transport.send(message)
        #expect(first != second && second != third)
        #expect(second.hasSuffix("-2.eml"))
        #expect(third.hasSuffix("-3.eml"))
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory).count == 3)
        #expect(FileManager.default.contents(atPath: first) == FileManager.default.contents(atPath: second))
    }

    @Test("Concurrent sends all land in distinct files")
    func concurrent() async throws {
        let directory = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let transport = FileTransport(directory: directory, now: { MailFixtures.now })
        let message = try MailFixtures.composer().compose(
            MailFixtures.digest([MailFixtures.entry()]), now: MailFixtures.now)
        let paths = try await withThrowingTaskGroup(of: String.self) { group in
            for _ in 0..<16 { group.addTask { try await transport.send(message) } }
            var paths: [String] = []
            for try await path in group { paths.append(path) }
            return paths
        }
        #expect(Set(paths).count == 16)
        #expect(
            try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.hasSuffix(".eml") }.count == 16)
    }

    @Test("A directory that cannot be created or written is MailError.cannotWrite")
    func cannotWrite() async throws {
        let directory = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        // A regular file where the directory should be.
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let blocker = directory + "/blocker"
        #expect(FileManager.default.createFile(atPath: blocker, contents: Data("x".utf8)))
        let message = try MailFixtures.composer().compose(
            MailFixtures.digest([MailFixtures.entry()]), now: MailFixtures.now)
        let transport = FileTransport(directory: blocker + "/mail")
        do {
            _ = try await transport.send(message)
            Issue.record("expected an error")
        } catch let error as MailError {
            guard case .cannotWrite(let path, _) = error else {
                Issue.record("unexpected \(error)")
                return
            }
            #expect(path.hasPrefix(blocker))
            #expect(!error.isTransient)
        }
    }

    @Test("Message-IDs become safe file names")
    func sanitised() {
        #expect(FileTransport.sanitised("digest.abc@example.com") == "digest.abc_example.com")
        #expect(FileTransport.sanitised("../../etc/passwd") == "_.._etc_passwd")
        #expect(FileTransport.sanitised("...") == "message")
        #expect(FileTransport.sanitised("a/b\\c d\u{0}é") == "a_b_c_d__")
        #expect(FileTransport.sanitised(String(repeating: "x", count: 500)).count == 120)
    }
}
