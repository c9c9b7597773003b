import Foundation
import GraphSimulator
import Testing
import TokenWatchTestSupport

@testable import TokenWatchModel

/// The digests as Owners and the platform team receive them from `tokenwatch check`: the
/// subject with the company and the platform's name, causes only the platform can fix sent to
/// TOKENWATCH_OPS_EMAIL, and a page that is Valid again announced once.
@Suite("Digest wording (binary)", .serialized)
struct DigestWordingBinaryTests {
    let harness: PipelineHarness

    init() async throws {
        harness = try await PipelineHarness()
    }

    func check(_ extra: [String: String] = [:]) async throws -> TokenWatchBinary.Result {
        try await TokenWatchBinary.run(
            ["check"],
            environment: harness.binaryEnvironment(["TOKENWATCH_PRODUCT_NAME": "Talkpush"].merging(extra) { $1 }))
    }

    /// Subject, recipients and text part of every `.eml` file not in `seen`, decoded by
    /// Python's email package.
    func newMail(since seen: [String]) async throws -> [(subject: String, to: String, text: String)] {
        let script = """
            import email, email.policy, json, sys
            out = []
            for path in sys.argv[1:]:
                with open(path, "rb") as f:
                    message = email.message_from_binary_file(f, policy=email.policy.default)
                text = message.get_body(preferencelist=("plain",)).get_content()
                out.append([str(message["subject"]), str(message["to"]), text])
            json.dump(out, sys.stdout)
            """
        let files = harness.mailFiles.filter { !seen.contains($0) }
        guard !files.isEmpty else { return [] }
        let data = try await PythonScript.run(
            script, arguments: files.map { harness.directory.file("mail") + "/" + $0 })
        let rows = try JSONDecoder().decode([[String]].self, from: data)
        return rows.map { (subject: $0[0], to: $0[1], text: $0[2]) }
    }

    @Test func ownersGetWhatTheyCanFixAndThePlatformTeamTheRest() async throws {
        try await harness.seed(
            [("7001", .passwordChanged), ("7002", .otherApp)], company: "Acme Outfitters",
            owners: ["ann@acme.example", "bob@acme.example"])
        let result = try await check(["TOKENWATCH_OPS_EMAIL": "ops@platform.example"])
        #expect(result.status == 0, "\(result.all)")
        let mail = try await newMail(since: [])
        let owners = mail.filter { $0.to.hasSuffix("@acme.example") }
        #expect(owners.count == 2)
        for owner in owners {
            #expect(owner.subject == "Acme Outfitters: Facebook Page \"Page 7001\" disconnected from Talkpush")
            #expect(owner.text.contains("== Reconnect now =="))
            #expect(owner.text.contains("keeping this Page selected"))
            #expect(!owner.text.contains("7002"))
            #expect(!owner.text.contains("TokenWatch"))
        }
        // One mail to the platform team for the company, not one per Owner.
        let ops = mail.filter { $0.to == "ops@platform.example" }
        #expect(ops.count == 1)
        #expect(ops.first?.subject.contains("Page 7002") == true)
        #expect(ops.first?.subject.hasSuffix("for the platform team") == true)
        #expect(ops.first?.text.contains("another Facebook app") == true)

        // Once the platform fixed it, the Owners hear nothing: they were never told.
        let seen = harness.mailFiles
        try await harness.seed([("7002", .valid)], company: "Acme Outfitters", owners: [])
        let fixed = try await check(["TOKENWATCH_OPS_EMAIL": "ops@platform.example", "TOKENWATCH_NOTIFY_RECOVERY": "1"])
        await harness.stop()
        #expect(fixed.status == 0, "\(fixed.all)")
        #expect(harness.mailFiles == seen)
    }

    @Test func aRecoveredPageIsAnnouncedOnceWithNotifyRecovery() async throws {
        try await harness.seed([("7101", .passwordChanged)], company: "Acme Outfitters")
        #expect(try await check().status == 0)
        let first = harness.mailFiles
        #expect(first.count == 1)
        // The Owner reconnects: a new, valid token.
        try await harness.seed([("7101", .valid)], company: "Acme Outfitters", owners: [])
        let recovered = try await check(["TOKENWATCH_NOTIFY_RECOVERY": "1"])
        #expect(recovered.status == 0, "\(recovered.all)")
        let mail = try await newMail(since: first)
        #expect(mail.count == 1)
        #expect(mail.first?.subject == "Acme Outfitters: Facebook Page \"Page 7101\" is connected to Talkpush again")
        #expect(mail.first?.text.contains("== Back to Valid ==") == true)
        #expect(mail.first?.text.contains("Reconnect now") == false)
        // Told once: the next runs send nothing more.
        let seen = harness.mailFiles
        #expect(try await check(["TOKENWATCH_NOTIFY_RECOVERY": "1"]).status == 0)
        #expect(try await check(["TOKENWATCH_NOTIFY_RECOVERY": "1"]).status == 0)
        await harness.stop()
        #expect(harness.mailFiles == seen)
    }

    @Test func withoutNotifyRecoveryTheNextDigestSaysSo() async throws {
        try await harness.seed([("7201", .loggedOut)], company: "Acme Outfitters")
        #expect(try await check().status == 0)
        try await harness.seed([("7201", .valid)], company: "Acme Outfitters", owners: [])
        // Recovered, but no mail of its own, and the run is complete (exit 0), not pending.
        let quiet = try await check()
        #expect(quiet.status == 0, "\(quiet.all)")
        let before = harness.mailFiles
        #expect(before.count == 1)
        try await harness.seed([("7202", .expired)], company: "Acme Outfitters", owners: [])
        #expect(try await check().status == 0)
        await harness.stop()
        let mail = try await newMail(since: before)
        #expect(mail.count == 1)
        let text = mail.first?.text ?? ""
        #expect(
            mail.first?.subject
                == "Acme Outfitters: Facebook Page \"Page 7202\" disconnected from Talkpush, 1 back to Valid")
        let reconnect = text.range(of: "== Reconnect now ==")
        let back = text.range(of: "== Back to Valid ==")
        #expect(reconnect != nil && back != nil)
        if let reconnect, let back {
            #expect(text[reconnect.upperBound..<back.lowerBound].contains("Page 7202"))
            #expect(text[back.upperBound...].contains("Page 7201"))
        }
    }

    @Test func anExportedTemplateCanBeOverridden() async throws {
        let directory = harness.directory.file("templates")
        let export = try await TokenWatchBinary.run(
            ["templates", "export", directory], environment: harness.binaryEnvironment())
        #expect(export.status == 0, "\(export.all)")
        let subject = directory + "/digest.subject.mustache"
        let exported = try String(contentsOfFile: subject, encoding: .utf8)
        #expect(exported.contains("{{product_name}}"))
        try Data("Action needed at {{product_name}}: {{subject_companies}}\n".utf8).write(
            to: URL(fileURLWithPath: subject))
        try await harness.seed([("7301", .revoked)], company: "Acme Outfitters")
        let result = try await check(["TOKENWATCH_TEMPLATES_DIR": directory])
        await harness.stop()
        #expect(result.status == 0, "\(result.all)")
        let mail = try await newMail(since: [])
        #expect(mail.map(\.subject) == ["Action needed at Talkpush: Acme Outfitters"])
        #expect(mail.first?.text.contains("== Reconnect now ==") == true)
    }
}
