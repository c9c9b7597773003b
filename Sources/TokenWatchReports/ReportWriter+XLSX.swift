import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

extension ReportWriter {
    /// Places the spreadsheet as `<stem>.xlsx` beside the HTML and CSV pair just written, and
    /// replaces `latest.xlsx`, with the same atomic, never-overwriting steps as the pair.
    func placeSpreadsheet(_ bytes: [UInt8], beside files: inout ReportFiles, in directory: String)
        throws(ReportError)
    {
        let temporary = try Self.writeTemporary(bytes, in: directory)
        defer { _ = unlink(temporary) }
        let path = Self.path(directory, files.stem + ".xlsx")
        guard try Self.publish(temporary, at: path) != nil else {
            // The stem was free for the HTML and CSV; a file already holding the spreadsheet's
            // name is not ours to replace.
            throw .cannotWrite(path: path, reason: "a file of that name already exists")
        }
        let latest = Self.path(directory, "latest.xlsx")
        try Self.replace(latest, with: bytes, in: directory)
        files.xlsx = path
        files.latestXLSX = latest
    }
}
