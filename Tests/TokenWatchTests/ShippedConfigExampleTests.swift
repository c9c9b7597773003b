import Foundation
import Testing

@testable import TokenWatch

/// The example config in cron/ must stay loadable and mention every setting.
@Suite struct ShippedConfigExampleTests {
    static let example = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("cron/tokenwatch.env.example").path

    @Test func theExampleParsesAndNamesOnlyKnownKeys() throws {
        let text = try String(contentsOfFile: Self.example, encoding: .utf8)
        let active = try EnvironmentFile.parse(Array(text.utf8), path: Self.example)
        #expect(active.warnings.isEmpty)
        #expect(active.entries.allSatisfy { ConfigurationLoader.isKnown($0.key) })

        // Uncommenting any example setting gives a valid line for a known key.
        let uncommented = text.split(separator: "\n", omittingEmptySubsequences: false)
            .map { $0.hasPrefix("#TOKENWATCH_") ? String($0.dropFirst()) : String($0) }
            .joined(separator: "\n")
        let all = try EnvironmentFile.parse(Array(uncommented.utf8), path: Self.example)
        let keys = Set(all.entries.map(\.key))
        #expect(keys.allSatisfy(ConfigurationLoader.isKnown))
        // Secrets are shown only through their _FILE variants.
        let documented = Set(ConfigurationLoader.knownKeys.map(\.name))
            .subtracting(["TOKENWATCH_APP_SECRET", "TOKENWATCH_SMTP_PASSWORD", "TOKENWATCH_DB_PASSWORD"])
        #expect(documented.subtracting(keys).isEmpty, "missing from the example: \(documented.subtracting(keys))")
    }

    @Test func theExampleLoadsOnceItsSecretFilesExist() throws {
        let dir = try OpsScratchDirectory()
        let appSecret = try dir.write("app_secret", "0123456789abcdef0123456789abcdef\n")
        let smtpPassword = try dir.write("smtp_password", "hunter2\n")
        let text = try String(contentsOfFile: Self.example, encoding: .utf8)
            .replacingOccurrences(of: "/etc/tokenwatch/app_secret", with: appSecret)
            .replacingOccurrences(of: "/etc/tokenwatch/smtp_password", with: smtpPassword)
        let config = try ConfigurationLoader.load(
            flags: [:], environment: [:], configFile: try dir.write("tokenwatch.env", text))
        #expect(config.appToken?.reveal == "123456789012345|0123456789abcdef0123456789abcdef")
        #expect(config.mailFrom == "TokenWatch <tokenwatch@example.com>")
        #expect(config.smtpPassword?.reveal == "hunter2")
    }
}
