import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// Where `pages import` reads its CSV: bytes already in memory, or an open file descriptor
/// (a file, or standard input) read a chunk at a time so that a 1,000,000-row file is never
/// held whole.
public enum ImportSource: Sendable {
    case data(Data)
    /// Read to its end; not closed.
    case fileDescriptor(Int32)

    /// Bytes read per `read(2)`.
    static let chunkSize = 1 << 16

    /// Hands every chunk to `body`, in order. Blocks on the descriptor: call it off the
    /// cooperative pool (the import runs it on the database's writer thread).
    func forEachChunk(_ body: (UnsafeBufferPointer<UInt8>) throws -> Void) throws {
        switch self {
        case .data(let data):
            try data.withUnsafeBytes { raw in try body(raw.bindMemory(to: UInt8.self)) }
        case .fileDescriptor(let descriptor):
            var buffer = [UInt8](repeating: 0, count: Self.chunkSize)
            while true {
                let count = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
                if count == 0 { return }
                if count < 0 {
                    if errno == EINTR { continue }
                    throw ImportReadError(errno: errno)
                }
                try buffer.withUnsafeBufferPointer { try body(UnsafeBufferPointer(rebasing: $0[0..<count])) }
            }
        }
    }
}

/// The import file could not be read to its end; nothing was written.
public struct ImportReadError: Error, Sendable, CustomStringConvertible {
    public var errno: Int32

    public var description: String { "cannot read the import file: \(String(cString: strerror(errno)))" }
}
