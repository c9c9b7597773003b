import CCurl
import Synchronization
import TokenWatchModel

/// One libcurl easy handle and everything it needs while it runs: the buffers its callbacks
/// fill, the upload it reads from, the lists and error buffer libcurl points into.
///
/// HTTP (`CurlHTTPClient`) and SMTP (`SMTPTransport`) both build one, set their protocol's
/// options on it, and hand it to `CurlEventLoop.perform(_:)`; the loop runs it and returns a
/// `CurlTransferResult` value. The transfer itself never crosses back.
///
/// Ownership moves in one direction, which is what makes the `@unchecked Sendable` sound:
/// the creating task configures it (before submission no other thread knows it); submission
/// hands it to the loop thread through the loop's lock; from then on only the loop thread
/// touches the handle, the buffers and the callbacks' state, and it frees them itself when the
/// transfer ends. The one field other threads reach afterwards, `cancelRequested`, sits behind
/// its own lock.
package final class CurlTransfer: @unchecked Sendable {
    /// The easy handle; nil once the loop has cleaned it up.
    private(set) var handle: UnsafeMutableRawPointer?

    /// Received body bytes, and headers (HTTP) or server reply lines (SMTP), each capped.
    private(set) var body: [UInt8] = []
    private(set) var headerLines: [String] = []
    private var headerBytes = 0
    package let maxBodyBytes: Int
    package let maxHeaderBytes: Int
    private(set) var exceededLimit = false

    /// Bytes READFUNCTION hands to libcurl (SMTP DATA, or a streamed HTTP body).
    private var upload: [UInt8] = []
    private var uploadOffset = 0

    private var lists: [UnsafeMutablePointer<curl_slist>] = []
    private let errorBuffer: UnsafeMutablePointer<CChar>
    private let errorBufferSize: Int

    /// Set from any thread by `requestCancel()`; read by the loop thread.
    private let cancelFlag = Mutex(false)

    /// Creates the easy handle with the options every TokenWatch transfer shares. Returns nil
    /// when libcurl cannot allocate one.
    package init?(maxBodyBytes: Int, maxHeaderBytes: Int = 256 * 1024) {
        CurlEventLoop.initialiseLibcurlOnce()
        guard let handle = curl_easy_init() else { return nil }
        self.handle = handle
        self.maxBodyBytes = max(0, maxBodyBytes)
        self.maxHeaderBytes = max(0, maxHeaderBytes)
        errorBufferSize = max(Int(tw_error_size()), 256)
        errorBuffer = .allocate(capacity: errorBufferSize)
        errorBuffer.initialize(repeating: 0, count: errorBufferSize)
    }

    deinit {
        // Only reached with a live handle when the transfer was never submitted (a setup
        // error); the loop cleans up every handle it ran, on its own thread.
        releaseHandle()
        errorBuffer.deallocate()
    }

    // MARK: Setup (creating task, before submission)

    /// Sets the options every transfer needs: callbacks with this object as their context,
    /// the error buffer, no signals, timeouts.
    package func setCommonOptions(totalTimeoutSeconds: Double, connectTimeoutSeconds: Double) throws(CurlSetupError) {
        let context = Unmanaged.passUnretained(self).toOpaque()
        try check(
            tw_easy_setopt_pointer(handle, CURLOPT_ERRORBUFFER, UnsafeMutableRawPointer(errorBuffer)), "ERRORBUFFER")
        // Signals are process-wide and the loop is one thread among many.
        try set(CURLOPT_NOSIGNAL, 1)
        try check(tw_easy_setopt_write_function(handle, curlWriteCallback), "WRITEFUNCTION")
        try check(tw_easy_setopt_pointer(handle, CURLOPT_WRITEDATA, context), "WRITEDATA")
        try check(tw_easy_setopt_header_function(handle, curlHeaderCallback), "HEADERFUNCTION")
        try check(tw_easy_setopt_pointer(handle, CURLOPT_HEADERDATA, context), "HEADERDATA")
        try check(tw_easy_setopt_read_function(handle, curlReadCallback), "READFUNCTION")
        try check(tw_easy_setopt_pointer(handle, CURLOPT_READDATA, context), "READDATA")
        let total = Self.milliseconds(totalTimeoutSeconds)
        try set(CURLOPT_TIMEOUT_MS, total)
        try set(CURLOPT_CONNECTTIMEOUT_MS, min(total, Self.milliseconds(connectTimeoutSeconds)))
    }

    /// Sets a numeric option.
    package func set(_ option: CURLoption, _ value: Int) throws(CurlSetupError) {
        try check(tw_easy_setopt_long(handle, option, value), Self.name(option))
    }

    /// Sets a `curl_off_t` option (the *_LARGE sizes).
    package func set(_ option: CURLoption, offset value: Int) throws(CurlSetupError) {
        try check(tw_easy_setopt_off(handle, option, curl_off_t(value)), Self.name(option))
    }

    /// Sets a string option; libcurl copies strings (all but POSTFIELDS, which we never use).
    package func set(_ option: CURLoption, _ value: String) throws(CurlSetupError) {
        let code = value.withCString { tw_easy_setopt_string(handle, option, $0) }
        try check(code, Self.name(option))
    }

    /// Sets a list option (HTTPHEADER, MAIL_RCPT); the list lives as long as the transfer.
    package func set(_ option: CURLoption, list values: [String]) throws(CurlSetupError) {
        var list: UnsafeMutablePointer<curl_slist>?
        for value in values {
            guard let appended = curl_slist_append(list, value) else {
                curl_slist_free_all(list)
                throw CurlSetupError(option: Self.name(option), reason: "out of memory")
            }
            list = appended
        }
        guard let list else { return }
        lists.append(list)
        try check(tw_easy_setopt_slist(handle, option, list), Self.name(option))
    }

    /// A request body libcurl copies at once (POST).
    package func setCopiedPostFields(_ bytes: [UInt8]) throws(CurlSetupError) {
        // The size first: with it set, COPYPOSTFIELDS copies exactly that many bytes, NULs included.
        try set(CURLOPT_POSTFIELDSIZE_LARGE, offset: bytes.count)
        if bytes.isEmpty {
            try set(CURLOPT_COPYPOSTFIELDS, "")
            return
        }
        let code = bytes.withUnsafeBytes { raw in
            tw_easy_setopt_pointer(handle, CURLOPT_COPYPOSTFIELDS, UnsafeMutableRawPointer(mutating: raw.baseAddress))
        }
        try check(code, "COPYPOSTFIELDS")
    }

    /// Bytes to upload through READFUNCTION (SMTP DATA); also sets UPLOAD and the size.
    package func setUpload(_ bytes: [UInt8]) throws(CurlSetupError) {
        upload = bytes
        uploadOffset = 0
        try set(CURLOPT_UPLOAD, 1)
        try set(CURLOPT_INFILESIZE_LARGE, offset: bytes.count)
    }

    private func check(_ code: CURLcode, _ option: String) throws(CurlSetupError) {
        guard code == CURLE_OK else {
            throw CurlSetupError(option: option, reason: Self.reason(code))
        }
    }

    // MARK: Cancellation (any thread)

    /// Marks the transfer cancelled; the loop drops it at its next turn, even when the mark
    /// comes before the transfer reached the loop.
    package func requestCancel() { cancelFlag.withLock { $0 = true } }

    package var cancelRequested: Bool { cancelFlag.withLock { $0 } }

    // MARK: Loop thread only

    /// Attaches the loop's share object (TLS sessions); done by the loop before adding it.
    package func attach(share: UnsafeMutableRawPointer) -> CURLcode {
        tw_easy_setopt_share(handle, share)
    }

    /// Reads what the finished transfer produced; call before `releaseHandle()`.
    package func result(code: CURLcode) -> CurlTransferResult {
        var responseCode = 0
        if let handle {
            var value = 0
            if tw_easy_getinfo_long(handle, CURLINFO_RESPONSE_CODE, &value) == CURLE_OK { responseCode = value }
        }
        let detail = String(cString: errorBuffer).trimmingSpaces()
        return CurlTransferResult(
            code: code, reason: Self.reason(code), detail: detail, responseCode: responseCode,
            headerLines: headerLines, body: body, exceededLimit: exceededLimit)
    }

    /// Frees the easy handle and the lists it pointed into.
    package func releaseHandle() {
        if let handle {
            curl_easy_cleanup(handle)
            self.handle = nil
        }
        for list in lists { curl_slist_free_all(list) }
        lists.removeAll()
    }

    // MARK: Callbacks (loop thread, inside curl_multi_perform)

    /// False stops the transfer (libcurl then fails it with CURLE_WRITE_ERROR).
    fileprivate func receiveBody(_ bytes: UnsafeRawBufferPointer) -> Bool {
        guard bytes.count <= maxBodyBytes - body.count else {
            exceededLimit = true
            return false
        }
        body.append(contentsOf: bytes)
        return true
    }

    fileprivate func receiveHeader(_ bytes: UnsafeRawBufferPointer) -> Bool {
        guard bytes.count <= maxHeaderBytes - headerBytes else {
            exceededLimit = true
            return false
        }
        headerBytes += bytes.count
        // Line ends trimmed as bytes: "\r\n" is one Character, which hasSuffix("\n") misses.
        var end = bytes.count
        while end > 0, bytes[end - 1] == 0x0A || bytes[end - 1] == 0x0D { end -= 1 }
        headerLines.append(String(decoding: UnsafeRawBufferPointer(rebasing: bytes[..<end]), as: UTF8.self))
        return true
    }

    fileprivate func fillUpload(_ buffer: UnsafeMutableRawBufferPointer) -> Int {
        let count = min(buffer.count, upload.count - uploadOffset)
        guard count > 0 else { return 0 }
        upload.withUnsafeBytes { source in
            buffer.copyMemory(from: UnsafeRawBufferPointer(rebasing: source[uploadOffset..<uploadOffset + count]))
        }
        uploadOffset += count
        return count
    }

    // MARK: Helpers

    package static func milliseconds(_ seconds: Double) -> Int {
        guard seconds.isFinite, seconds > 0 else { return 1 }
        return Int(min(seconds * 1000, Double(Int32.max)).rounded(.up))
    }

    /// curl's own words for a result code.
    package static func reason(_ code: CURLcode) -> String {
        guard let text = curl_easy_strerror(code) else { return "curl error \(code.rawValue)" }
        return String(cString: text)
    }

    private static func name(_ option: CURLoption) -> String { "option \(option.rawValue)" }
}

/// What a finished transfer produced. A value: safe to hand from the loop thread to any task.
package struct CurlTransferResult: Sendable {
    /// libcurl's result code (`CURLE_OK` when the exchange completed).
    package var code: CURLcode
    /// `curl_easy_strerror` of the code.
    package var reason: String
    /// What libcurl wrote into CURLOPT_ERRORBUFFER, often more precise; may be empty.
    package var detail: String
    /// CURLINFO_RESPONSE_CODE: the HTTP status, or the last SMTP reply code.
    package var responseCode: Int
    /// Header lines of every response (HTTP, interim ones included) or the server's reply
    /// lines (SMTP), without line ends.
    package var headerLines: [String]
    package var body: [UInt8]
    /// True when the size cap stopped the transfer.
    package var exceededLimit: Bool

    package var succeeded: Bool { code == CURLE_OK }

    /// "reason (detail)" or just the reason, through `redactor`. libcurl's error buffer
    /// quotes what servers answered (an SMTP server may echo a client's AUTH blob), so its
    /// words leave a transfer only redacted.
    package func explanation(redactedBy redactor: Redactor) -> String {
        redactor.redact(detail.isEmpty || detail == reason ? reason : "\(reason) (\(detail))")
    }
}

/// How a submitted transfer ended, seen from the task that awaited it.
package enum CurlTransferEnd: Sendable {
    case completed(CurlTransferResult)
    /// The awaiting task was cancelled, or the loop shut down first.
    case cancelled
    /// The loop could not start it (libcurl refused to add it).
    case failedToStart(String)
}

/// libcurl refused an option while a transfer was being set up. The description names the
/// option by number, never its value (which may be a password).
package struct CurlSetupError: Error, Sendable, CustomStringConvertible {
    package var option: String
    package var reason: String
    package var description: String { "libcurl refused \(option): \(reason)" }
}

// The C callbacks: non-capturing, their context is the transfer, passed unretained because
// the loop's table of running transfers holds it for as long as libcurl may call back.

private let curlWriteCallback: tw_data_callback = { buffer, size, count, context in
    guard let context else { return 0 }
    let transfer = Unmanaged<CurlTransfer>.fromOpaque(context).takeUnretainedValue()
    let (length, overflow) = size.multipliedReportingOverflow(by: count)
    guard !overflow else { return 0 }
    guard length > 0, let buffer else { return 0 }
    return transfer.receiveBody(UnsafeRawBufferPointer(start: buffer, count: length)) ? length : 0
}

private let curlHeaderCallback: tw_data_callback = { buffer, size, count, context in
    guard let context else { return 0 }
    let transfer = Unmanaged<CurlTransfer>.fromOpaque(context).takeUnretainedValue()
    let (length, overflow) = size.multipliedReportingOverflow(by: count)
    guard !overflow else { return 0 }
    guard length > 0, let buffer else { return 0 }
    return transfer.receiveHeader(UnsafeRawBufferPointer(start: buffer, count: length)) ? length : 0
}

private let curlReadCallback: tw_data_callback = { buffer, size, count, context in
    guard let context, let buffer else { return 0 }
    let transfer = Unmanaged<CurlTransfer>.fromOpaque(context).takeUnretainedValue()
    let (length, overflow) = size.multipliedReportingOverflow(by: count)
    guard !overflow else { return 0 }
    return transfer.fillUpload(UnsafeMutableRawBufferPointer(start: buffer, count: length))
}
