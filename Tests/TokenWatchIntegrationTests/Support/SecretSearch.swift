import Foundation

/// Looks for secrets wherever a run leaves text: what a process printed, and the bytes of every
/// file under a directory (the database and its `-wal`, reports, metrics, mail), in every form a
/// secret travels in — as it is, base64 (padded or not) and percent-encoded, plus given forms
/// such as SMTP AUTH blobs.
struct SecretSearch {
    /// Each form to look for, with the secret it comes from (for messages).
    let forms: [(form: String, of: String)]

    /// - Parameters:
    ///   - secrets: looked for in every form derived from them.
    ///   - extraForms: looked for as they are (e.g. AUTH PLAIN's base64 of `\0user\0password`).
    init(secrets: [String], extraForms: [String] = []) {
        var forms: [(String, String)] = []
        for secret in secrets {
            for form in Self.forms(of: secret) where !forms.contains(where: { $0.0 == form }) {
                forms.append((form, secret))
            }
        }
        for form in extraForms where !forms.contains(where: { $0.0 == form }) { forms.append((form, form)) }
        self.forms = forms
    }

    /// A secret as it is, base64 with and without padding, and percent-encoded.
    static func forms(of secret: String) -> [String] {
        let base64 = Data(secret.utf8).base64EncodedString()
        var unpadded = base64
        while unpadded.hasSuffix("=") { unpadded.removeLast() }
        let percent = secret.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? secret
        var forms: [String] = []
        for form in [secret, base64, unpadded, percent] where !forms.contains(form) { forms.append(form) }
        return forms
    }

    /// "name: form (of secret)" for each form found in each named text.
    func findings(in texts: [String: String]) -> [String] {
        texts.sorted { $0.key < $1.key }.flatMap { name, text in
            forms.filter { text.contains($0.form) }.map { "\(name): \($0.form) (of \($0.of))" }
        }
    }

    /// Every regular file under `directory`, read as bytes and searched; also which files were
    /// read, so a test can show the database, its `-wal`, the reports and the mail were among them.
    func findings(under directory: String) -> (findings: [String], searched: [String]) {
        var files: [String] = []
        let enumerator = FileManager.default.enumerator(
            at: URL(fileURLWithPath: directory), includingPropertiesForKeys: [.isRegularFileKey, .isSymbolicLinkKey])
        while let url = enumerator?.nextObject() as? URL {
            let values = try? url.resourceValues(forKeys: [.isRegularFileKey, .isSymbolicLinkKey])
            if values?.isRegularFile == true, values?.isSymbolicLink != true { files.append(url.path) }
        }
        let root = URL(fileURLWithPath: directory).path + "/"
        let relative = files.map { $0.hasPrefix(root) ? String($0.dropFirst(root.count)) : $0 }.sorted()
        return (
            findings(inFiles: files.sorted()).map { $0.hasPrefix(root) ? String($0.dropFirst(root.count)) : $0 },
            relative
        )
    }

    /// "path: form (of secret)" for each form found in the bytes of each file.
    func findings(inFiles paths: [String]) -> [String] {
        paths.flatMap { path -> [String] in
            guard let data = FileManager.default.contents(atPath: path) else { return [] }
            return forms.filter { data.range(of: Data($0.form.utf8)) != nil }.map {
                "\(path): \($0.form) (of \($0.of))"
            }
        }
    }
}
