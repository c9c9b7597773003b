import Foundation

/// The parsers of the settings whose values are more than a number: each is the one place
/// that says what the setting accepts.
enum SettingParsers {
    /// An http(s) base URL with a host, without credentials, query, fragment or an API version
    /// (the version is TOKENWATCH_GRAPH_VERSION); trailing slashes dropped. Never echoed: a URL
    /// can carry credentials.
    static let graphURL: @Sendable (String) -> Result<String, SettingProblem> = { value in
        guard let url = URLComponents(string: value), let scheme = url.scheme?.lowercased(),
            scheme == "http" || scheme == "https", let host = url.host, !host.isEmpty
        else {
            return .failure(
                SettingProblem(reason: "not an http or https URL with a host, like https://graph.facebook.com"))
        }
        guard url.user == nil, url.password == nil else {
            return .failure(SettingProblem(reason: "the URL must not contain a user or password"))
        }
        guard url.query == nil, url.fragment == nil else {
            return .failure(SettingProblem(reason: "the URL must not have a query or fragment"))
        }
        if let port = url.port, !(1...65_535).contains(port) {
            return .failure(SettingProblem(reason: "the port must be a number from 1 to 65535"))
        }
        let last = url.path.split(separator: "/").last.map(String.init) ?? ""
        if case .success = graphVersion(last) {
            return .failure(
                SettingProblem(
                    reason:
                        "the URL ends in an API version (\(last)); give the base URL alone and set TOKENWATCH_GRAPH_VERSION"
                ))
        }
        var normalized = value.trimmingCharacters(in: .whitespaces)
        while normalized.hasSuffix("/") { normalized.removeLast() }
        return .success(normalized)
    }

    /// `v` and two numbers: `v25.0`.
    static let graphVersion: @Sendable (String) -> Result<String, SettingProblem> = { value in
        let parts = value.dropFirst().split(separator: ".", omittingEmptySubsequences: false)
        guard value.first == "v", parts.count == 2,
            parts.allSatisfy({ !$0.isEmpty && $0.count <= 4 && $0.allSatisfy { $0.isASCII && $0.isNumber } })
        else {
            return .failure(SettingProblem(reason: "\(quotedValue(value)) is not a Graph API version like v25.0"))
        }
        return .success(value)
    }

    /// A comma-separated list of permission names, duplicates dropped.
    static let scopes: @Sendable (String) -> Result<[String], SettingProblem> = { value in
        var scopes: [String] = []
        for item in value.split(separator: ",", omittingEmptySubsequences: false) {
            let scope = item.trimmingCharacters(in: .whitespaces)
            guard !scope.isEmpty else {
                return .failure(
                    SettingProblem(reason: "the list has an empty permission name (a doubled or trailing comma?)"))
            }
            guard scope.allSatisfy({ $0.isASCII && ($0.isLowercase || $0.isNumber || $0 == "_") }) else {
                return .failure(
                    SettingProblem(reason: "\(quotedValue(scope)) is not a permission name like pages_messaging"))
            }
            if !scopes.contains(scope) { scopes.append(scope) }
        }
        return .success(scopes)
    }

    /// A name for subjects and footers: one line of plain text, at most 60 characters.
    static let productName: @Sendable (String) -> Result<String, SettingProblem> = { value in
        let name = value.trimmingCharacters(in: .whitespaces)
        guard !name.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else {
            return .failure(SettingProblem(reason: "the name must be one line without control characters"))
        }
        guard name.count <= 60 else { return .failure(SettingProblem(reason: "the name is longer than 60 characters")) }
        return .success(name)
    }

    /// `1`/`0` (also `true`/`false`, `yes`/`no`, `on`/`off`).
    static let flag: @Sendable (String) -> Result<Bool, SettingProblem> = { value in
        switch value.trimmingCharacters(in: .whitespaces).lowercased() {
        case "1", "true", "yes", "on": return .success(true)
        case "0", "false", "no", "off": return .success(false)
        default: return .failure(SettingProblem(reason: "\(quotedValue(value)) is not 1 or 0"))
        }
    }
}
