import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// Reads a file a command was given (an import file, a token file), saying the operating
/// system's reason when it cannot: "No such file or directory", "Permission denied", "Is a
/// directory".
enum InputFile {
    /// Opens `path` for reading: a descriptor the caller closes. A directory or a file that
    /// cannot be opened is a `CommandFailure` naming the path and the system's reason.
    static func open(_ path: String, what: String) throws(CommandFailure) -> Int32 {
        let descriptor = openForReading(path)
        guard descriptor >= 0 else { throw failure(path, what: what, errno) }
        var info = stat()
        if fstat(descriptor, &info) == 0, (info.st_mode & S_IFMT) == S_IFDIR {
            close(descriptor)
            throw failure(path, what: what, EISDIR)
        }
        return descriptor
    }

    static func read(_ path: String, what: String) throws(CommandFailure) -> Data {
        let descriptor = openForReading(path)
        guard descriptor >= 0 else { throw failure(path, what: what, errno) }
        defer { close(descriptor) }
        var info = stat()
        if fstat(descriptor, &info) == 0, (info.st_mode & S_IFMT) == S_IFDIR {
            throw failure(path, what: what, EISDIR)
        }
        do {
            return try FileHandle(fileDescriptor: descriptor, closeOnDealloc: false).readToEnd() ?? Data()
        } catch {
            throw CommandFailure(.dataError, "cannot read \(what) \(path): \(error.localizedDescription)")
        }
    }

    static func failure(_ path: String, what: String, _ code: Int32) -> CommandFailure {
        CommandFailure(.dataError, "cannot read \(what) \(path): \(String(cString: strerror(code)))")
    }
}

/// open(2) for reading; outside `InputFile`, whose own `open` would shadow it.
private func openForReading(_ path: String) -> Int32 {
    open(path, O_RDONLY | O_CLOEXEC)
}
