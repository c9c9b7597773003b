import Crypto
import Foundation
import TokenWatchModel

#if canImport(Glibc)
    import Glibc
#endif

/// Encrypts page tokens at rest with AES-GCM under a 32-byte key kept beside the database.
/// Each ciphertext is bound to its Page ID (as authenticated data), so a token copied onto
/// another row fails to decrypt instead of being checked as that page's.
public struct TokenCipher: Sendable {
    // Raw bytes rather than SymmetricKey, which is not Sendable in swift-crypto 3.x; a
    // SymmetricKey is rebuilt per call (a 32-byte copy).
    private let keyBytes: Data
    private var key: SymmetricKey { SymmetricKey(data: keyBytes) }
    /// The key file, for error messages.
    public let keyFile: String

    /// A cipher over an in-memory key (tests, the benchmark).
    public init(key: SymmetricKey, keyFile: String) {
        self.keyBytes = key.withUnsafeBytes { Data($0) }
        self.keyFile = keyFile
    }

    /// Reads the key from `path`: 32 raw bytes, or the same as base64 text (as
    /// `openssl rand -base64 32` writes it).
    public static func load(keyFile path: String) throws(StoreError) -> TokenCipher {
        guard FileManager.default.fileExists(atPath: path) else {
            throw StoreError.keyMissing(path: path)
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw StoreError.keyUnreadable(path: path, reason: "cannot be read (check its owner and mode)")
        }
        if data.count == 32 {
            return TokenCipher(key: SymmetricKey(data: data), keyFile: path)
        }
        let text = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        if let decoded = Data(base64Encoded: text), decoded.count == 32 {
            return TokenCipher(key: SymmetricKey(data: decoded), keyFile: path)
        }
        throw StoreError.keyUnreadable(
            path: path, reason: "is not a 32-byte key (\(data.count) bytes; expected 32 raw bytes or their base64)")
    }

    /// Creates a new random key file with mode 0600. Never overwrites an existing file:
    /// losing the key would make every stored token unreadable. Returns false when one exists.
    @discardableResult
    public static func createKeyFileIfMissing(at path: String) throws(StoreError) -> Bool {
        if FileManager.default.fileExists(atPath: path) { return false }
        let key = SymmetricKey(size: .bits256)
        let descriptor = Glibc.open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else {
            if errno == EEXIST { return false }
            throw StoreError.keyUnreadable(path: path, reason: "cannot be created: \(String(cString: strerror(errno)))")
        }
        defer { close(descriptor) }
        let written = key.withUnsafeBytes { buffer in write(descriptor, buffer.baseAddress, buffer.count) }
        guard written == 32, fsync(descriptor) == 0 else {
            unlink(path)
            throw StoreError.keyUnreadable(path: path, reason: "cannot be written: \(String(cString: strerror(errno)))")
        }
        return true
    }

    /// Seals a token for one page.
    public func seal(_ token: Secret, pageID: String) throws(StoreError) -> Data {
        do {
            let box = try AES.GCM.seal(Data(token.reveal.utf8), using: key, authenticating: Data(pageID.utf8))
            guard let combined = box.combined else { throw StoreError.cipher(keyFile: keyFile) }
            return combined
        } catch {
            throw StoreError.cipher(keyFile: keyFile)
        }
    }

    /// Opens a page's sealed token. Fails with `.wrongKey` when the key is not the one that
    /// sealed it (or the row was tampered with).
    public func unseal(_ sealed: Data, pageID: String) throws(StoreError) -> Secret {
        do {
            let box = try AES.GCM.SealedBox(combined: sealed)
            let plain = try AES.GCM.open(box, using: key, authenticating: Data(pageID.utf8))
            return Secret(String(decoding: plain, as: UTF8.self))
        } catch {
            throw StoreError.wrongKey(path: keyFile)
        }
    }

    /// A short value that proves a key is the database's own without revealing it: the
    /// database keeps one sealed with its key and checks it on open.
    static let keyCheckPlaintext = Secret("tokenwatch-key-check-v1")
}
