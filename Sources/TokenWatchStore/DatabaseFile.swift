import Foundation

/// What is at a database path, judged from its first bytes before SQLite sees it: SQLite
/// takes an empty file for a new database and would write a schema into it.
enum DatabaseFile {
    /// Refuses what is not an SQLite database file without handing it to SQLite: a directory,
    /// a FIFO or device, an empty file (SQLite would take it for a new database and write a
    /// schema into it), anything without SQLite's 16-byte header.
    static func checkHeader(_ path: String) throws(StoreError) {
        let fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)
        guard fd >= 0 else {
            throw StoreError.cannotOpen(path: path, reason: String(cString: strerror(errno)))
        }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else {
            throw StoreError.cannotOpen(path: path, reason: String(cString: strerror(errno)))
        }
        guard info.st_mode & S_IFMT == S_IFREG else {
            let what = info.st_mode & S_IFMT == S_IFDIR ? "a directory" : "not a regular file"
            throw StoreError.notATokenWatchDatabase(path: path, why: what)
        }
        guard info.st_size > 0 else { throw StoreError.notATokenWatchDatabase(path: path, why: "an empty file") }
        var header = [UInt8](repeating: 0, count: sqliteHeader.count)
        let count = header.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, 0) }
        guard count == sqliteHeader.count, header == sqliteHeader else {
            throw StoreError.notATokenWatchDatabase(path: path, why: "not an SQLite database")
        }
    }

    /// "SQLite format 3" and a NUL: the first bytes of every SQLite 3 database file.
    static let sqliteHeader: [UInt8] = Array("SQLite format 3".utf8) + [0]
}
