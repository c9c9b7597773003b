/// What a digest says beyond its pages: the platform's name as Owners know it, and where the
/// causes only the platform can fix are sent.
public struct DigestOptions: Sendable, Equatable {
    /// TOKENWATCH_PRODUCT_NAME: in subjects ("disconnected from Talkpush") and footers.
    public var productName: String
    /// TOKENWATCH_OPS_EMAIL: pages whose cause only the platform can fix go there instead of
    /// to the Owners; nil names them to the Owners as "your platform's team is on it".
    public var opsEmail: String?
    /// TOKENWATCH_NOTIFY_RECOVERY: a "Back to Valid" notice is a mail of its own; otherwise it
    /// rides along with the Owner's next digest.
    public var recoveryAlone: Bool

    public init(productName: String = "TokenWatch", opsEmail: String? = nil, recoveryAlone: Bool = false) {
        self.productName = productName.isEmpty ? "TokenWatch" : productName
        self.opsEmail = opsEmail?.isEmpty == true ? nil : opsEmail
        self.recoveryAlone = recoveryAlone
    }
}
