import CCurl
import Foundation
import Synchronization
import TokenWatchModel

/// One dedicated OS thread driving a libcurl multi handle: every HTTP and SMTP transfer of
/// the process runs on it, none blocks Swift's cooperative thread pool.
///
/// Async callers hand a `CurlTransfer` to `perform(_:)`; it travels through a lock-protected
/// queue, `curl_multi_wakeup` interrupts the thread's `curl_multi_poll`, and the caller's
/// continuation is resumed with the result when `curl_multi_info_read` reports it done.
/// Cancelling the awaiting task removes its transfer from the multi handle.
///
/// All transfers share the one multi handle, hence its connection cache (keep-alive, HTTP/2
/// multiplexing when the server offers it) and, through a share object, TLS sessions.
/// `maxTotalConnections` caps the sockets open at once; transfers beyond it wait inside libcurl
/// (their timeouts run while they wait).
///
/// `shared` lives for the whole process; loops made with `init` (tests, the benchmark) end
/// with `shutdown()`, which stops the thread and fails whatever is still running as cancelled.
public final class CurlEventLoop: @unchecked Sendable {
    // Why @unchecked Sendable is sound: `multi`, `share` and the two tables of running
    // transfers are touched only by the loop thread (`run()` and what it calls) — with the one
    // exception of `curl_multi_wakeup`, which libcurl documents as callable from any thread and
    // which we call only while holding `state`'s lock and only before the loop has marked
    // itself stopped under that same lock (so never on a cleaned-up handle). Everything else
    // other threads reach lives in `state`, a Mutex.

    /// The process-wide loop, started on first use. Never shut it down before process exit.
    public static let shared = CurlEventLoop()

    /// The default cap on sockets open at once.
    public static let defaultMaxTotalConnections = 64

    private let multi: UnsafeMutableRawPointer?
    private let share: UnsafeMutableRawPointer?
    private let state = Mutex(State())

    /// Loop thread only.
    private var running: [ObjectIdentifier: Running] = [:]
    private var transferByHandle: [UnsafeMutableRawPointer: ObjectIdentifier] = [:]

    private struct Running {
        package var transfer: CurlTransfer
        package var continuation: CheckedContinuation<CurlTransferEnd, Never>
    }

    private struct State {
        package var submitted: [Running] = []
        package var cancelled: [CurlTransfer] = []
        package var stopRequested = false
        /// Set by the loop thread, under the lock, before it cleans up the multi handle.
        package var stopped = false
        /// Set once the thread has cleaned up and is about to exit.
        package var finished = false
        package var shutdownWaiters: [CheckedContinuation<Void, Never>] = []
    }

    /// Starts the loop's thread.
    /// - Parameter maxTotalConnections: sockets open at once across all transfers.
    public init(maxTotalConnections: Int = CurlEventLoop.defaultMaxTotalConnections) {
        Self.initialiseLibcurlOnce()
        let multi = curl_multi_init()
        let share = curl_share_init()
        if let share {
            // Sessions resumed across connections save a TLS handshake's round trips. The share
            // is used only from the loop thread, so it needs no lock callbacks.
            _ = tw_share_setopt_long(share, CURLSHOPT_SHARE, Int(CURL_LOCK_DATA_SSL_SESSION.rawValue))
        }
        if let multi {
            _ = tw_multi_setopt_long(multi, CURLMOPT_PIPELINING, tw_pipe_multiplex())
            _ = tw_multi_setopt_long(multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, max(1, maxTotalConnections))
        }
        self.multi = multi
        self.share = share
        guard multi != nil else {
            // Nothing can run: every transfer fails to start, shutdown returns at once.
            if let share { curl_share_cleanup(share) }
            state.withLock {
                $0.stopped = true
                $0.finished = true
            }
            return
        }
        let thread = Thread { [self] in self.run() }
        thread.name = "TokenWatch.curl"
        thread.start()
    }

    /// `curl_global_init` is not thread-safe and must run once before anything else in
    /// libcurl; a static `let` is initialised exactly once, under a lock, on first use.
    private static let globalInit: CURLcode = tw_global_init()

    package static func initialiseLibcurlOnce() {
        _ = globalInit
    }

    // MARK: Any thread

    /// Runs one transfer to its end. Cancelling the calling task removes the transfer from
    /// libcurl and returns `.cancelled`.
    package func perform(_ transfer: CurlTransfer) async -> CurlTransferEnd {
        await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                submit(transfer, continuation)
            }
        } onCancel: {
            cancel(transfer)
        }
    }

    /// Stops the thread once it has cancelled what is still running, and returns when it has
    /// cleaned up. Transfers submitted afterwards end as cancelled at once.
    public func shutdown() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let finished = state.withLock { state -> Bool in
                if state.finished { return true }
                state.shutdownWaiters.append(continuation)
                if !state.stopRequested {
                    state.stopRequested = true
                    if !state.stopped, let multi { _ = curl_multi_wakeup(multi) }
                }
                return false
            }
            if finished { continuation.resume() }
        }
    }

    private func submit(_ transfer: CurlTransfer, _ continuation: CheckedContinuation<CurlTransferEnd, Never>) {
        let accepted = state.withLock { state -> Bool in
            guard !state.stopRequested, !state.stopped, let multi else { return false }
            state.submitted.append(Running(transfer: transfer, continuation: continuation))
            _ = curl_multi_wakeup(multi)
            return true
        }
        if !accepted { continuation.resume(returning: .cancelled) }
    }

    private func cancel(_ transfer: CurlTransfer) {
        // The flag first: if the loop has not seen the transfer yet, it finds the flag when it
        // does; if it has, the queued request below removes it.
        transfer.requestCancel()
        state.withLock { state in
            guard !state.stopped, let multi else { return }
            state.cancelled.append(transfer)
            _ = curl_multi_wakeup(multi)
        }
    }

    // MARK: Loop thread

    private func run() {
        guard let multi else { return }
        while true {
            let (submitted, cancelled, stop) = state.withLock { state in
                defer {
                    state.submitted.removeAll()
                    state.cancelled.removeAll()
                }
                return (state.submitted, state.cancelled, state.stopRequested)
            }
            if stop {
                for entry in submitted { end(entry, .cancelled) }
                break
            }
            for entry in submitted { start(entry, multi: multi) }
            for transfer in cancelled { finish(ObjectIdentifier(transfer), multi: multi, code: nil) }

            var stillRunning: Int32 = 0
            _ = curl_multi_perform(multi, &stillRunning)
            collectFinished(multi: multi)
            // Returns on socket activity, on libcurl's next timer, on curl_multi_wakeup, or
            // after a second at most.
            _ = curl_multi_poll(multi, nil, 0, 1000, nil)
        }
        tearDown(multi: multi)
    }

    private func start(_ entry: Running, multi: UnsafeMutableRawPointer) {
        let transfer = entry.transfer
        guard !transfer.cancelRequested else { return end(entry, .cancelled) }
        guard let handle = transfer.handle else { return end(entry, .failedToStart("the transfer has no easy handle")) }
        if let share { _ = transfer.attach(share: share) }
        let code = curl_multi_add_handle(multi, handle)
        guard code == CURLM_OK else {
            let reason = curl_multi_strerror(code).map { String(cString: $0) } ?? "curl multi error \(code.rawValue)"
            return end(entry, .failedToStart(reason))
        }
        let id = ObjectIdentifier(transfer)
        running[id] = entry
        transferByHandle[handle] = id
    }

    private func collectFinished(multi: UnsafeMutableRawPointer) {
        var remaining: Int32 = 0
        while let message = curl_multi_info_read(multi, &remaining) {
            // Read everything out of the message first: removing the handle invalidates it.
            guard message.pointee.msg == CURLMSG_DONE, let handle = message.pointee.easy_handle else { continue }
            let code = tw_msg_result(message)
            if let id = transferByHandle[handle] {
                finish(id, multi: multi, code: code)
            } else {
                _ = curl_multi_remove_handle(multi, handle)
            }
        }
    }

    /// Ends a running transfer: with libcurl's result when `code` is given, else as cancelled.
    /// Does nothing for a transfer that is not running (already finished, or refused).
    private func finish(_ id: ObjectIdentifier, multi: UnsafeMutableRawPointer, code: CURLcode?) {
        guard let entry = running.removeValue(forKey: id) else { return }
        if let handle = entry.transfer.handle {
            transferByHandle[handle] = nil
            _ = curl_multi_remove_handle(multi, handle)
        }
        if let code {
            end(entry, .completed(entry.transfer.result(code: code)))
        } else {
            end(entry, .cancelled)
        }
    }

    private func end(_ entry: Running, _ outcome: CurlTransferEnd) {
        entry.transfer.releaseHandle()
        entry.continuation.resume(returning: outcome)
    }

    private func tearDown(multi: UnsafeMutableRawPointer) {
        let late = state.withLock { state in
            state.stopped = true
            defer {
                state.submitted.removeAll()
                state.cancelled.removeAll()
            }
            return state.submitted
        }
        for entry in late { end(entry, .cancelled) }
        for id in Array(running.keys) { finish(id, multi: multi, code: nil) }
        _ = curl_multi_cleanup(multi)
        if let share { _ = curl_share_cleanup(share) }
        let waiters = state.withLock { state in
            state.finished = true
            defer { state.shutdownWaiters.removeAll() }
            return state.shutdownWaiters
        }
        for waiter in waiters { waiter.resume() }
    }
}
