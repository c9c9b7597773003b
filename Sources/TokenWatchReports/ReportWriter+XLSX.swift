import Dispatch
import Foundation
import Synchronization

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

/// The spreadsheet of a report, rendered on a Dispatch thread of its own while the caller's
/// thread writes the HTML and the CSV: the two take about as long, and after the check the
/// second core is idle. Started by `init`, collected by `wait()`.
struct SpreadsheetRendering: Sendable {
    private final class Box: Sendable {
        let result = Mutex<Result<[UInt8], ReportError>?>(nil)
    }
    private let box = Box()
    private let done = DispatchGroup()

    init(_ input: ReportInput) {
        let box = self.box
        done.enter()
        DispatchQueue.global(qos: .utility).async { [done] in
            let rendered: Result<[UInt8], ReportError>
            do throws(ReportError) {
                rendered = .success(try XLSXReport.render(input))
            } catch {
                rendered = .failure(error)
            }
            box.result.withLock { $0 = rendered }
            done.leave()
        }
    }

    /// Blocks until the workbook is rendered: its bytes, or why it could not be.
    func wait() -> Result<[UInt8], ReportError> {
        done.wait()
        return box.result.withLock { $0 } ?? .failure(.cannotWrite(path: "spreadsheet", reason: "not rendered"))
    }
}
