import ArgumentParser
import Foundation
import TokenWatch
import TokenWatchMail
import TokenWatchModel
import TokenWatchStore

struct OwnersCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "owners", abstract: "The Owners of each company: who gets the digests.",
        discussion: """
            Owners are bare email addresses (ann@acme.example); the form
            "Ann <ann@acme.example>" is not supported.
            """,
        subcommands: [Add.self, Remove.self, List.self])

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Add Owner addresses to a company.",
            discussion: """
                The company must have pages or Owners already, so that a typo
                never creates a second company; --create-company adds Owners to
                a company before its pages are imported.
                """)
        @OptionGroup var global: GlobalOptions
        @Option(help: "The company.") var company: String
        @Flag(name: .customLong("create-company"), help: "Create the company if it has no pages or Owners yet.")
        var createCompany = false
        @Argument(help: "Email addresses.") var emails: [String]

        func validate() throws {
            if emails.isEmpty { throw ValidationError("give at least one email address") }
            try OwnersCommand.validateAddresses(emails)
        }

        func run() async throws {
            try await execute {
                let configuration = try global.loadConfiguration(logger: global.makeLogger())
                let workspace = try await Workspace.open(configuration)
                if !createCompany {
                    try await workspace.requireCompany(
                        company, createHint: "To add Owners to a new company, pass --create-company.")
                }
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

        func validate() throws {
            if emails.isEmpty { throw ValidationError("give at least one email address") }
            try OwnersCommand.validateAddresses(emails)
        }

        func run() async throws {
            try await execute {
                let configuration = try global.loadConfiguration(logger: global.makeLogger())
                let workspace = try await Workspace.open(configuration)
                try await workspace.requireCompany(company)
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
                defer { workspace.database.close() }
                if let company { try await workspace.requireCompany(company) }
                let owners = try await workspace.database.owners(company: company)
                if owners.isEmpty, company == nil {
                    writeOutput("No Owners yet: add them with tokenwatch owners add --company C EMAIL")
                    return .ok
                }
                writeOutput(
                    TextTable.render(header: ["COMPANY", "OWNER"], rows: owners.map { [$0.company, $0.email] }))
                return .ok
            }
        }
    }
}

extension OwnersCommand {
    /// Every address must be a bare one. `Name <addr>` is refused with the bare address to
    /// use: Owners are digest recipients, which `MailAddress(address:)` takes bare.
    static func validateAddresses(_ emails: [String]) throws {
        for email in emails {
            if let parsed = try? MailAddress(mailbox: email, role: "Owner"), parsed.address != email {
                throw ValidationError(
                    "address \"\(email)\": the form Name <address> is not supported for Owners; give the bare address \(parsed.address)"
                )
            }
            if let problem = MailAddress.problem(with: email) {
                throw ValidationError("address \"\(email)\": \(problem)")
            }
        }
    }
}
