import ArgumentParser
import Foundation
import TokenWatch
import TokenWatchMail
import TokenWatchModel
import TokenWatchStore

struct OwnersCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "owners", abstract: "The Owners of each company: who gets the digests.",
        subcommands: [Add.self, Remove.self, List.self])

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Add Owner addresses to a company (created if new).")
        @OptionGroup var global: GlobalOptions
        @Option(help: "The company.") var company: String
        @Argument(help: "Email addresses.") var emails: [String]

        func validate() throws {
            if emails.isEmpty { throw ValidationError("give at least one email address") }
            for email in emails {
                if let problem = MailAddress.problem(with: email) {
                    throw ValidationError("address \"\(email)\": \(problem)")
                }
            }
        }

        func run() async throws {
            try await execute {
                let configuration = try global.loadConfiguration(logger: global.makeLogger())
                let workspace = try await Workspace.open(configuration)
                let added = try await workspace.database.addOwners(company: company, emails: emails, now: Date())
                for email in emails {
                    writeOutput(added.contains(email) ? "added \(email)" : "already an Owner: \(email)")
                }
                return .ok
            }
        }
    }

    struct Remove: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Remove Owner addresses from a company.")
        @OptionGroup var global: GlobalOptions
        @Option(help: "The company.") var company: String
        @Argument(help: "Email addresses.") var emails: [String]

        func run() async throws {
            try await execute {
                let configuration = try global.loadConfiguration(logger: global.makeLogger())
                let workspace = try await Workspace.open(configuration)
                let removed = try await workspace.database.removeOwners(company: company, emails: emails)
                for email in emails {
                    writeOutput(removed.contains(email) ? "removed \(email)" : "not an Owner: \(email)")
                }
                return removed.count == emails.count ? .ok : .dataError
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List Owners, by company.")
        @OptionGroup var global: GlobalOptions
        @Option(help: "Only this company.") var company: String?

        func run() async throws {
            try await execute {
                let configuration = try global.loadConfiguration(logger: global.makeLogger())
                let workspace = try await Workspace.open(configuration, mode: .readOnly)
                let owners = try await workspace.database.owners(company: company)
                writeOutput(
                    TextTable.render(header: ["COMPANY", "OWNER"], rows: owners.map { [$0.company, $0.email] }))
                return .ok
            }
        }
    }
}
