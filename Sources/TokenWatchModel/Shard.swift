/// One of `count` parts of the fleet, for a check split across processes (`check --shard I/N`,
/// or a Kubernetes Indexed Job's `JOB_COMPLETION_INDEX` with `TOKENWATCH_SHARDS=N`).
///
/// A page belongs to the shard `hash(page ID) mod count`, where the hash is 64-bit FNV-1a over
/// the ID's UTF-8 bytes: stable across processes, machines, releases and database backends
/// (Swift's `hashValue` is seeded per process and would scatter pages differently each run).
public struct Shard: Sendable, Hashable, CustomStringConvertible {
    /// 0-based, below `count`.
    public let index: Int
    /// How many shards the fleet is split into, at least 1.
    public let count: Int

    /// nil unless `0 <= index < count`.
    public init?(index: Int, count: Int) {
        guard count >= 1, index >= 0, index < count else { return nil }
        self.index = index
        self.count = count
    }

    /// `I/N` as written on the command line, e.g. `2/4`; nil for anything else.
    public init?(_ text: String) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let index = Int(parts[0]), let count = Int(parts[1]) else { return nil }
        self.init(index: index, count: count)
    }

    /// `I/N`.
    public var description: String { "\(index)/\(count)" }

    /// Whether the page with this ID is this shard's.
    public func contains(pageID: String) -> Bool {
        Int(Self.hash(pageID) % UInt64(count)) == index
    }

    /// 64-bit FNV-1a of the UTF-8 bytes of `pageID`.
    public static func hash(_ pageID: String) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in pageID.utf8 {
            hash ^= UInt64(byte)
            hash &*= 0x0000_0100_0000_01b3
        }
        return hash
    }
}
