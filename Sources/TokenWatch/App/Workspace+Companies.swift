import Foundation
import TokenWatchStore

/// A `--company` that names no company of this installation: a usage error (64) that names
/// the nearest known names, so a typo never silently creates a second company or lists nothing.
public struct UnknownCompany: Error, Sendable, Equatable, CustomStringConvertible {
    /// The name as given.
    public var name: String
    /// Known names nearest to it, closest first (at most three).
    public var suggestions: [String]
    /// What to do instead when the company is meant to be new (`owners add --create-company`).
    public var createHint: String?

    public init(name: String, suggestions: [String], createHint: String? = nil) {
        self.name = name
        self.suggestions = suggestions
        self.createHint = createHint
    }

    public var description: String {
        var text = "no company named \(name.debugDescription) has pages or Owners"
        switch suggestions.count {
        case 0: break
        case 1: text += "; did you mean \(suggestions[0].debugDescription)?"
        default: text += "; did you mean one of " + suggestions.map(\.debugDescription).joined(separator: ", ") + "?"
        }
        if let createHint { text += "\n" + createHint }
        return text
    }
}

extension Workspace {
    /// Throws `UnknownCompany` unless a company of exactly this name has pages or Owners.
    public func requireCompany(_ name: String, createHint: String? = nil) async throws {
        let names = try await database.companyNames()
        guard !names.contains(name) else { return }
        throw UnknownCompany(name: name, suggestions: Self.nearest(to: name, in: names), createHint: createHint)
    }

    /// Throws `UnknownCompany` when no company of exactly this name exists but one of a
    /// similar name does: a new company is fine, a typo of a known one is not.
    public func refuseNearMiss(_ name: String, createHint: String) async throws {
        let names = try await database.companyNames()
        guard !names.contains(name) else { return }
        let near = Self.nearest(to: name, in: names)
        guard !near.isEmpty else { return }
        throw UnknownCompany(name: name, suggestions: near, createHint: createHint)
    }

    /// Up to three names close to `name`: the same name in another case first, then by edit
    /// distance (case-insensitive) within a third of the name's length.
    static func nearest(to name: String, in names: [String]) -> [String] {
        let wanted = name.lowercased()
        let limit = max(2, wanted.count / 3)
        let scored = names.compactMap { candidate -> (String, Int)? in
            let lower = candidate.lowercased()
            if lower == wanted { return (candidate, -1) }
            if lower.hasPrefix(wanted) || wanted.hasPrefix(lower) { return (candidate, 0) }
            let distance = ConfigurationLoader.editDistance(wanted, lower)
            return distance <= limit ? (candidate, distance) : nil
        }
        return scored.sorted { ($0.1, $0.0) < ($1.1, $1.0) }.prefix(3).map(\.0)
    }
}
