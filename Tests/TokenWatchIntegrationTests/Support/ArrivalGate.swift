/// Holds test-server handlers until `expected` of them are inside at once (or until
/// `openAll()`), and records the most that were inside together. Proves concurrency by
/// counting, never by timing.
actor ArrivalGate {
    private let expected: Int
    private var held: [CheckedContinuation<Void, Never>] = []
    private var arrivalWatchers: [(count: Int, continuation: CheckedContinuation<Void, Never>)] = []
    private var isOpen = false
    private(set) var inside = 0
    private(set) var arrived = 0
    private(set) var maxInside = 0

    init(expected: Int = .max) { self.expected = expected }

    /// Waits at the gate until enough handlers are inside or it is opened.
    func pass() async {
        inside += 1
        arrived += 1
        maxInside = max(maxInside, inside)
        notifyWatchers()
        if inside >= expected { openAll() }
        if !isOpen { await withCheckedContinuation { held.append($0) } }
        inside -= 1
    }

    /// Lets every held handler through, now and later.
    func openAll() {
        isOpen = true
        let waiting = held
        held.removeAll()
        for continuation in waiting { continuation.resume() }
    }

    /// Returns once `count` handlers have arrived in total.
    func waitForArrivals(_ count: Int) async {
        if arrived >= count { return }
        await withCheckedContinuation { arrivalWatchers.append((count, $0)) }
    }

    private func notifyWatchers() {
        let ready = arrivalWatchers.filter { $0.count <= arrived }
        arrivalWatchers.removeAll { $0.count <= arrived }
        for watcher in ready { watcher.continuation.resume() }
    }
}
