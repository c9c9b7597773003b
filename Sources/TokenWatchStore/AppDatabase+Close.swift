import GRDB
import TokenWatchSystem

extension AppDatabase {
    /// Closes the connection now, before the process exits. A command that only read calls it
    /// so that SQLite removes the `-wal` and `-shm` files it made: left to the process's exit,
    /// a connection still referenced by GRDB's queue at that moment is never closed, and a
    /// read-only command would leave them behind.
    public func close() {
        try? writer.close()
    }
}

extension AppDatabase {
    /// Copies the pages the write-ahead log holds into the database file, on a connection of
    /// its own: a passive checkpoint, which waits for nobody and blocks nobody (readers keep
    /// their snapshots, the writer keeps appending). After a check it runs while the report's
    /// spreadsheet is finished, on the core the HTML left idle; the checkpoint SQLite makes when
    /// the last connection closes then finds little left to copy. At 100,000 pages that copy
    /// was the run's last 0.3 s, after everything else was done. Failing is harmless: closing
    /// still copies whatever is left, as before.
    public func checkpoint() async {
        guard mode != .readOnly else { return }
        let path = self.path
        // Opening a connection is file I/O: off the cooperative pool.
        _ = try? await BlockingWork.run {
            let connection = try DatabaseQueue(path: path, configuration: Self.baseConfiguration())
            defer { try? connection.close() }
            _ = try connection.writeWithoutTransaction { db in try db.checkpoint(.passive) }
        }
    }
}
