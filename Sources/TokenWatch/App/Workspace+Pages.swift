import Foundation
import TokenWatchCheck
import TokenWatchGraph
import TokenWatchMail
import TokenWatchModel
import TokenWatchStore

/// Input that cannot be taken, every problem named with where it is. Nothing was written.
public struct InputRejected: Error, Sendable, Equatable, CustomStringConvertible {
    public var problems: [String]
    /// What the file looks like beside what is expected (a header it cannot read), if useful.
    public var hint: String?

    public init(_ problems: [String], hint: String? = nil) {
        self.problems = problems
        self.hint = hint
    }

    public var description: String {
        "nothing was written; \(problems.count) problem\(problems.count == 1 ? "" : "s"):\n"
            + problems.map { "  \($0)" }.joined(separator: "\n") + (hint.map { "\n" + $0 } ?? "")
    }
}

/// What a "Log in with Facebook" connect did.
public struct LoginConnectResult: Sendable {
    public var summary: UpsertSummary
    /// Pages of the company that the login did not grant again: Meta invalidates a
    /// deselected page's token. Page ID → name.
    public var notGranted: [(pageID: String, name: String)]
    /// Those of them that were disconnected (`--disconnect-missing`).
    public var disconnected: [String]
}

extension Workspace {
    /// `pages import`: all rows or none. Problems in the file (with line numbers) and rows
    /// that conflict with stored pages are all reported at once.
    public func importPages(csv: Data, source: String, actor: String, now: Date) async throws -> UpsertSummary {
        try await importPages(from: .data(csv), source: source, actor: actor, now: now)
    }

    /// `pages import` from a file or stdin, streamed: the file is read, checked and written a
    /// chunk at a time inside one transaction, so memory holds a chunk and the page IDs seen
    /// (to name duplicates), not the file. Any problem in the file or any conflicting row rolls
    /// the whole import back: nothing is written, and every problem is named with its line.
    ///
    /// - Parameter progress: called now and then with the records read so far (for a progress
    ///   line on a terminal); from the database's writer thread.
    public func importPages(
        from input: ImportSource, source: String, actor: String, now: Date,
        progress: (@Sendable (Int) -> Void)? = nil
    ) async throws -> UpsertSummary {
        /// Rows written per call into the store.
        let chunkRows = 1_000
        do {
            return try await database.upsertPages(cipher: cipher, actor: actor, now: now) { write in
                var stream = PageImportStream(source: source)
                var reported = 0
                // The file's first bytes, kept to explain a header the parser cannot read.
                var head: [UInt8] = []
                func flush(_ rows: [PageImportRow]) throws {
                    guard !rows.isEmpty, !stream.hasProblems else { return }
                    for start in stride(from: 0, to: rows.count, by: chunkRows) {
                        try write(
                            rows[start..<min(start + chunkRows, rows.count)].map {
                                PageUpsert(
                                    company: $0.company, pageID: $0.pageID, pageName: $0.pageName,
                                    token: $0.accessToken, source: "\(source) line \($0.line)")
                            })
                    }
                }
                try input.forEachChunk { chunk in
                    if head.count < HeaderProblems.headLimit {
                        head.append(contentsOf: chunk.prefix(HeaderProblems.headLimit - head.count))
                    }
                    stream.feed(chunk)
                    try flush(stream.takeRows())
                    if let progress, stream.recordsRead - reported >= 10_000 {
                        reported = stream.recordsRead
                        progress(reported)
                    }
                }
                stream.finish()
                try flush(stream.takeRows())
                if stream.hasProblems { throw HeaderProblems(problems: stream.problems, head: Data(head)) }
            }
        } catch let failure as HeaderProblems {
            let problems = failure.problems.problems
            let aboutHeader = problems.contains(where: \.isAboutHeader)
            throw InputRejected(
                problems.map(\.description), hint: aboutHeader ? ImportHeaderHint.describe(failure.head) : nil)
        } catch let conflict as UpsertConflict {
            throw InputRejected(conflict.problems)
        } catch let failure as ImportReadError {
            throw InputRejected(["\(source): \(failure)"])
        }
    }

    /// `pages connect --page-id`: one page with a token from stdin or a file.
    public func connect(company: String, pageID: String, name: String, token: Secret, actor: String, now: Date)
        async throws -> UpsertSummary
    {
        var problems: [String] = []
        if company.trimmingCharacters(in: .whitespaces).isEmpty { problems.append("--company is empty") }
        if pageID.isEmpty || !pageID.allSatisfy(\.isASCII) || !pageID.allSatisfy(\.isNumber) {
            problems.append("--page-id must be the Page's numeric ID")
        }
        if name.trimmingCharacters(in: .whitespaces).isEmpty { problems.append("--name is empty") }
        if token.isEmpty { problems.append("the access token is empty") }
        if token.reveal.contains(where: \.isWhitespace) { problems.append("the access token contains whitespace") }
        if !problems.isEmpty { throw InputRejected(problems) }
        return try await upsert(
            [PageUpsert(company: company, pageID: pageID, pageName: name, token: token, source: "--page-id")],
            actor: actor, now: now)
    }

    /// `pages connect --user-token-stdin`: the server side of "Log in with Facebook". Every
    /// Page the user token grants is upserted for `company`; the company's pages that were
    /// not granted again are named (or disconnected with `disconnectMissing`).
    ///
    /// An empty company or user token, and a user token Graph rejects as invalid (code 190 or
    /// 102), are `InputRejected` (exit 65): the operator's input, not a failure of TokenWatch.
    /// Nothing is written then.
    public func connectFromLogin(
        company: String, userToken: Secret, graph: any GraphAPI, disconnectMissing: Bool, actor: String, now: Date
    ) async throws -> LoginConnectResult {
        var problems: [String] = []
        if company.trimmingCharacters(in: .whitespaces).isEmpty { problems.append("--company is empty") }
        if userToken.isEmpty {
            problems.append("the user token is empty")
        } else if userToken.reveal.unicodeScalars.contains(where: {
            $0.properties.isWhitespace || $0.properties.generalCategory == .control
        }) {
            // It goes into an HTTP header: a line break would start a header of its own.
            problems.append("the user token contains whitespace or control characters")
        }
        if !problems.isEmpty { throw InputRejected(problems) }

        let granted: GrantedPages
        do {
            granted = try await graph.grantedPages(userToken: userToken)
        } catch let failure as GraphClientError {
            // Graph quotes the user token back ("Malformed access token EAA…"). `GraphAPIClient`
            // redacts it already; the login knows the token too, so any `GraphAPI` is covered.
            let failure = failure.redacted(by: configuration.redactor.adding([userToken]))
            guard case .rejected(let error, let status, _, _) = failure else { throw failure }
            if [190, 102].contains(error.code) {
                throw InputRejected([
                    "Graph rejected the user token (HTTP \(status), \(error.codeText)): \(error.message); log in with Facebook again"
                ])
            }
            if VerdictRules.isOwnConfigurationError(error) {
                // 100/101/104 here concern our app (appsecret_proof, app ID), not the person.
                throw CheckError.credentialsRejected(error, httpStatus: status)
            }
            throw failure
        }
        // A login that grants nothing (a token without pages_show_list, a person who unticked
        // everything) must not disconnect a whole company in one go.
        if disconnectMissing && granted.pages.isEmpty {
            throw InputRejected([
                "the login granted no pages at all; refusing --disconnect-missing, which would disconnect every page of \(company)"
            ])
        }
        let before = try await database.watchedPageIDs(company: company)
        var summary = UpsertSummary()
        if !granted.pages.isEmpty {
            summary = try await upsert(
                granted.pages.map {
                    PageUpsert(
                        company: company, pageID: $0.pageID, pageName: $0.name, token: $0.accessToken, source: "login")
                }, actor: actor, now: now)
        }
        let grantedIDs = Set(granted.pages.map(\.pageID))
        let missing = before.filter { !grantedIDs.contains($0.key) }.sorted { $0.key < $1.key }
            .map { (pageID: $0.key, name: $0.value) }
        var disconnected: [String] = []
        if disconnectMissing {
            for page in missing
            where try await database.disconnect(
                pageID: page.pageID, reason: "not granted again in a Facebook login (deselected)", actor: actor,
                now: now)
            {
                disconnected.append(page.pageID)
            }
        }
        return LoginConnectResult(summary: summary, notGranted: missing, disconnected: disconnected)
    }

    /// Upserts in one transaction; rows that conflict with stored pages are input errors.
    private func upsert(_ pages: [PageUpsert], actor: String, now: Date) async throws -> UpsertSummary {
        do {
            return try await database.upsertPages(pages, cipher: cipher, actor: actor, now: now)
        } catch let conflict as UpsertConflict {
            throw InputRejected(conflict.problems)
        }
    }
}

extension PageImportProblem {
    /// The header is missing, or has a column wrong: what `ImportHeaderHint` explains.
    var isAboutHeader: Bool {
        switch kind {
        case .missingHeader, .missingColumn, .unknownColumn: true
        default: false
        }
    }
}

/// An import's problems with the file's first bytes, from which a header the parser could not
/// read is explained (which delimiter or column names it saw).
private struct HeaderProblems: Error {
    static let headLimit = 4096
    var problems: PageImportProblems
    var head: Data
}
