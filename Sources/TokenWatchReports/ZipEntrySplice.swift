import Foundation
import TokenWatchModel

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// Writes a zip archive that is `archive` with one entry taken, as it is, from `donor`.
///
/// The spreadsheet's Pages sheet (tens of megabytes of XML) is compressed while the digests
/// go out; its Summary sheet holds the run's outcome, decided after them. libxlsxwriter
/// compresses a whole workbook at once when it is closed, at a level a caller cannot choose,
/// so the report's last step used to be zlib on one core for most of a second. Now the pages'
/// workbook is closed early with an empty Summary sheet, a small workbook with the same
/// formats gets the real one, and the archive is put together from the two: every entry's
/// compressed bytes are copied, none is compressed again.
///
/// Only what libxlsxwriter writes is read: a single-disk archive without zip64 records.
enum ZipEntrySplice {
    /// Writes `output`: `archive`'s entries in their order, `entry` replaced by the entry of
    /// that name in `donor`. Each of `sameIn` must be byte-identical in both (by CRC and size),
    /// or the donor's entry may not mean the same in the archive.
    static func replace(
        entry: String, in archive: String, from donor: String, into output: String, sameIn: [String]
    ) throws(ReportError) {
        let source = try ZipReader(path: archive)
        defer { source.closeFile() }
        let other = try ZipReader(path: donor)
        defer { other.closeFile() }
        guard let replacement = other.entries.first(where: { $0.name == entry }),
            source.entries.contains(where: { $0.name == entry })
        else { throw .cannotWrite(path: output, reason: "spreadsheet: no \(entry) to replace") }
        for name in sameIn {
            let mine = source.entries.first { $0.name == name }
            let theirs = other.entries.first { $0.name == name }
            guard let mine, let theirs, mine.crc == theirs.crc, mine.compressedSize == theirs.compressedSize else {
                throw .cannotWrite(path: output, reason: "spreadsheet: the two workbooks' \(name) differ")
            }
        }
        // The stamped spreadsheet keeps this file's mode: a report's.
        let descriptor = open(output, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, ReportWriter.openMode)
        guard descriptor >= 0 else { throw .cannotWrite(path: output, reason: ReportWriter.describe(errno)) }
        defer { close(descriptor) }
        do throws(ReportError) {
            try write(entry: entry, replacement: replacement, source: source, other: other, descriptor, output)
        } catch {
            // Nothing half-written stays behind.
            _ = unlink(output)
            throw error
        }
    }

    private static func write(
        entry: String, replacement: ZipReader.Entry, source: ZipReader, other: ZipReader, _ descriptor: Int32,
        _ output: String
    ) throws(ReportError) {
        var writer = ZipWriter(descriptor: descriptor, path: output)
        var central: [UInt8] = []
        for original in source.entries {
            let (reader, record) = original.name == entry ? (other, replacement) : (source, original)
            let offset = writer.offset
            try reader.copyLocalRecord(of: record, to: &writer)
            central += record.centralRecord(localOffset: offset)
        }
        let centralOffset = writer.offset
        try writer.append(central)
        var end: [UInt8] = []
        ZipReader.append32(0x0605_4b50, to: &end)
        ZipReader.append16(0, to: &end)  // this disk
        ZipReader.append16(0, to: &end)  // the disk the central directory starts on
        ZipReader.append16(UInt16(source.entries.count), to: &end)
        ZipReader.append16(UInt16(source.entries.count), to: &end)
        ZipReader.append32(UInt32(central.count), to: &end)
        ZipReader.append32(UInt32(centralOffset), to: &end)
        ZipReader.append16(0, to: &end)  // no comment
        try writer.append(end)
    }
}

/// Appends to a file descriptor, counting the bytes written.
struct ZipWriter {
    let descriptor: Int32
    let path: String
    private(set) var offset = 0

    init(descriptor: Int32, path: String) {
        self.descriptor = descriptor
        self.path = path
    }

    mutating func append(_ bytes: [UInt8]) throws(ReportError) {
        try append(bytes[...])
    }

    mutating func append(_ bytes: ArraySlice<UInt8>) throws(ReportError) {
        // withUnsafeBytes does not throw typed errors: the failure's errno comes out as a value.
        let failure = bytes.withUnsafeBytes { buffer -> Int32? in
            guard let base = buffer.baseAddress else { return nil }
            var done = 0
            while done < buffer.count {
                let count = write(descriptor, base + done, buffer.count - done)
                if count < 0, errno == EINTR { continue }
                guard count > 0 else { return errno }
                done += count
            }
            return nil
        }
        if let failure { throw .cannotWrite(path: path, reason: ReportWriter.describe(failure)) }
        offset += bytes.count
    }
}

/// The central directory of a zip archive and the means to copy an entry's local record.
struct ZipReader {
    /// One central directory record.
    struct Entry {
        var name: String
        var crc: UInt32
        var compressedSize: Int
        var localOffset: Int
        /// The central record as read, its local header offset to be patched.
        var record: [UInt8]

        func centralRecord(localOffset: Int) -> [UInt8] {
            var copy = record
            ZipReader.put32(UInt32(localOffset), into: &copy, at: 42)
            return copy
        }
    }

    let path: String
    let descriptor: Int32
    let entries: [Entry]

    init(path: String) throws(ReportError) {
        self.path = path
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw .cannotWrite(path: path, reason: ReportWriter.describe(errno)) }
        self.descriptor = descriptor
        do throws(ReportError) {
            entries = try Self.readCentralDirectory(descriptor, path: path)
        } catch {
            close(descriptor)
            throw error
        }
    }

    /// Closes the archive: the reader is not used afterwards.
    func closeFile() { close(descriptor) }

    static func unreadable(_ path: String, _ why: String) -> ReportError {
        .cannotWrite(path: path, reason: "spreadsheet archive: \(why)")
    }

    static func readCentralDirectory(_ descriptor: Int32, path: String) throws(ReportError) -> [Entry] {
        var status = stat()
        guard fstat(descriptor, &status) == 0 else {
            throw .cannotWrite(path: path, reason: ReportWriter.describe(errno))
        }
        let size = Int(status.st_size)
        // The end record is the last 22 bytes when there is no comment (libxlsxwriter writes none).
        guard size >= 22 else { throw unreadable(path, "too short") }
        let end = try read(descriptor, path: path, at: size - 22, count: 22)
        guard u32(end, 0) == 0x0605_4b50, u16(end, 20) == 0 else { throw unreadable(path, "no end record") }
        let count = Int(u16(end, 10))
        let centralSize = Int(u32(end, 12))
        let centralOffset = Int(u32(end, 16))
        guard u16(end, 4) == 0, u16(end, 6) == 0, count == Int(u16(end, 8)), count != 0xFFFF,
            centralOffset != 0xFFFF_FFFF, centralOffset + centralSize == size - 22
        else { throw unreadable(path, "a multi-disk or zip64 archive") }
        let central = try read(descriptor, path: path, at: centralOffset, count: centralSize)
        var entries: [Entry] = []
        var position = 0
        for _ in 0..<count {
            guard position + 46 <= central.count, u32(central, position) == 0x0201_4b50 else {
                throw unreadable(path, "a broken central directory")
            }
            let nameLength = Int(u16(central, position + 28))
            let extraLength = Int(u16(central, position + 30))
            let commentLength = Int(u16(central, position + 32))
            let length = 46 + nameLength + extraLength + commentLength
            guard position + length <= central.count else { throw unreadable(path, "a broken central directory") }
            let record = Array(central[position..<(position + length)])
            let compressed = u32(record, 20)
            let local = u32(record, 42)
            guard compressed != 0xFFFF_FFFF, u32(record, 24) != 0xFFFF_FFFF, local != 0xFFFF_FFFF else {
                throw unreadable(path, "a zip64 entry")
            }
            entries.append(
                Entry(
                    name: String(decoding: record[46..<(46 + nameLength)], as: UTF8.self), crc: u32(record, 16),
                    compressedSize: Int(compressed), localOffset: Int(local), record: record))
            position += length
        }
        return entries
    }

    /// Copies `entry`'s local header, data and data descriptor (if any) to `writer`.
    func copyLocalRecord(of entry: Entry, to writer: inout ZipWriter) throws(ReportError) {
        let header = try Self.read(descriptor, path: path, at: entry.localOffset, count: 30)
        guard Self.u32(header, 0) == 0x0403_4b50 else { throw Self.unreadable(path, "a broken local header") }
        var length = 30 + Int(Self.u16(header, 26)) + Int(Self.u16(header, 28)) + entry.compressedSize
        if Self.u16(header, 6) & 0x0008 != 0 {
            // A data descriptor follows the data: crc and sizes, with or without its signature.
            let next = try Self.read(descriptor, path: path, at: entry.localOffset + length, count: 4)
            length += Self.u32(next, 0) == 0x0807_4b50 ? 16 : 12
        }
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        var copied = 0
        while copied < length {
            let want = min(buffer.count, length - copied)
            let count = buffer.withUnsafeMutableBytes {
                pread(descriptor, $0.baseAddress, want, off_t(entry.localOffset + copied))
            }
            if count < 0, errno == EINTR { continue }
            guard count > 0 else { throw Self.unreadable(path, "cut short") }
            try writer.append(buffer[0..<count])
            copied += count
        }
    }

    static func read(_ descriptor: Int32, path: String, at offset: Int, count: Int) throws(ReportError) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        var done = 0
        while done < count {
            let got = bytes.withUnsafeMutableBytes { buffer -> Int in
                guard let base = buffer.baseAddress else { return -1 }
                return pread(descriptor, base + done, count - done, off_t(offset + done))
            }
            if got < 0, errno == EINTR { continue }
            guard got > 0 else { throw unreadable(path, "cut short") }
            done += got
        }
        return bytes
    }

    static func u16(_ bytes: [UInt8], _ at: Int) -> UInt16 { UInt16(bytes[at]) | UInt16(bytes[at + 1]) << 8 }

    static func u32(_ bytes: [UInt8], _ at: Int) -> UInt32 {
        UInt32(bytes[at]) | UInt32(bytes[at + 1]) << 8 | UInt32(bytes[at + 2]) << 16 | UInt32(bytes[at + 3]) << 24
    }

    static func append16(_ value: UInt16, to bytes: inout [UInt8]) {
        bytes += [UInt8(value & 0xFF), UInt8(value >> 8)]
    }

    static func append32(_ value: UInt32, to bytes: inout [UInt8]) {
        bytes += [UInt8(value & 0xFF), UInt8(value >> 8 & 0xFF), UInt8(value >> 16 & 0xFF), UInt8(value >> 24)]
    }

    static func put32(_ value: UInt32, into bytes: inout [UInt8], at: Int) {
        bytes[at] = UInt8(value & 0xFF)
        bytes[at + 1] = UInt8(value >> 8 & 0xFF)
        bytes[at + 2] = UInt8(value >> 16 & 0xFF)
        bytes[at + 3] = UInt8(value >> 24)
    }
}
