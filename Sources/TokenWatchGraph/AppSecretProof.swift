import Crypto
import Foundation
import TokenWatchModel

/// Graph's `appsecret_proof`: the lowercase hex of HMAC-SHA256 keyed with the app secret over
/// the request's access token. Apps with "Require App Secret" refuse calls without it; it
/// proves the caller holds the secret without sending it.
public enum AppSecretProof {
    /// The proof for `accessToken` (for a batch: its top-level access token, the app token).
    public static func make(accessToken: Secret, appSecret: Secret) -> String {
        let key = SymmetricKey(data: Data(appSecret.reveal.utf8))
        let code = HMAC<SHA256>.authenticationCode(for: Data(accessToken.reveal.utf8), using: key)
        return code.map { byte in
            let hex = String(byte, radix: 16)
            return byte < 16 ? "0" + hex : hex
        }.joined()
    }
}
