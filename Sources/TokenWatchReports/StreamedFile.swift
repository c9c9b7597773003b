import Foundation
import TokenWatchSystem

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// A hidden temporary file in the reports directory that a report is written into piece by
/// piece, so a report of 100,000 pages never has to be one string or one byte array. Named
/// like `AtomicFile`'s temporaries (`.<hint>.<random>.tmp`: no glob or pruning picks it up),
/// flushed by `finish()`, and published by the caller with `AtomicFile`'s link or rename.
struct StreamedFile {
    let path: String
    private let descriptor: Int32

    /// Creates the file, readable as `ReportWriter.mode` says (0644 before the umask).
    static func create(in directory: String, hint: String) throws(ReportError) -> StreamedFile {
        for _ in 0..<100 {
            let name = ".\(hint)." + String(UInt64.random(in: 0...UInt64.max), radix: 16) + ".tmp"
            let path = AtomicFile.path(directory, name)
            let descriptor = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, ReportWriter.openMode)
            if descriptor >= 0 { return StreamedFile(path: path, descriptor: descriptor) }
            let code = errno
            if code == EEXIST { continue }
            throw .cannotWrite(path: directory, reason: ReportWriter.describe(code))
        }
        throw .cannotWrite(path: directory, reason: "no free temporary file name")
    }

    /// Creates the file at `path`, which must not exist yet (a name `create(in:hint:)`'s way).
    static func create(at path: String) throws(ReportError) -> StreamedFile {
        let descriptor = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, ReportWriter.openMode)
        guard descriptor >= 0 else { throw .cannotWrite(path: path, reason: ReportWriter.describe(errno)) }
        return StreamedFile(path: path, descriptor: descriptor)
    }

    /// Appends `text` as UTF-8.
    func append(_ text: String) throws(ReportError) {
        var text = text
        let failure: Int32? = text.withUTF8 { buffer -> Int32? in
            guard let base = buffer.baseAddress else { return nil }
            return Self.writeAll(descriptor, base, buffer.count)
        }
        if let failure { throw .cannotWrite(path: path, reason: ReportWriter.describe(failure)) }
    }

    /// Appends `bytes`.
    func append(_ bytes: [UInt8]) throws(ReportError) {
        let failure: Int32? = bytes.withUnsafeBytes { buffer -> Int32? in
            guard let base = buffer.baseAddress else { return nil }
            return Self.writeAll(descriptor, base, buffer.count)
        }
        if let failure { throw .cannotWrite(path: path, reason: ReportWriter.describe(failure)) }
    }

    /// Flushes and closes the file; it stays under its temporary name.
    func finish() throws(ReportError) {
        var failure: Int32?
        if fsync(descriptor) != 0 { failure = errno }
        if close(descriptor) != 0, failure == nil { failure = errno }
        if let failure { throw .cannotWrite(path: path, reason: ReportWriter.describe(failure)) }
    }

    /// Closes and deletes the file (after a failure).
    func discard() {
        _ = close(descriptor)
        _ = unlink(path)
    }

    /// `write(2)` until every byte is written; the errno of a failure, nil on success.
    private static func writeAll(_ descriptor: Int32, _ base: UnsafeRawPointer, _ count: Int) -> Int32? {
        var offset = 0
        while offset < count {
            let written = write(descriptor, base + offset, count - offset)
            if written < 0 {
                if errno == EINTR { continue }
                return errno
            }
            offset += written
        }
        return nil
    }

    /// Copies the finished file at `source` into a new temporary file in `directory`, flushed;
    /// returns its path. `latest.html` is such a copy, renamed over the previous one.
    static func copy(_ source: String, in directory: String, hint: String) throws(ReportError) -> String {
        let input = open(source, O_RDONLY | O_CLOEXEC)
        guard input >= 0 else { throw .cannotWrite(path: source, reason: ReportWriter.describe(errno)) }
        defer { close(input) }
        let file = try create(in: directory, hint: hint)
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        while true {
            let count = buffer.withUnsafeMutableBytes { read(input, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                let code = errno
                file.discard()
                throw .cannotWrite(path: source, reason: ReportWriter.describe(code))
            }
            if count == 0 { break }
            let failure = buffer.withUnsafeBytes { bytes -> Int32? in
                guard let base = bytes.baseAddress else { return nil }
                return writeAll(file.descriptor, base, count)
            }
            if let failure {
                file.discard()
                throw .cannotWrite(path: file.path, reason: ReportWriter.describe(failure))
            }
        }
        do {
            try file.finish()
        } catch {
            _ = unlink(file.path)
            throw error
        }
        return file.path
    }
}
