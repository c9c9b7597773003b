import GRDB

extension AppDatabase {
    /// Closes the connection now, before the process exits. A command that only read calls it
    /// so that SQLite removes the `-wal` and `-shm` files it made: left to the process's exit,
    /// a connection still referenced by GRDB's queue at that moment is never closed, and a
    /// read-only command would leave them behind.
    public func close() {
        try? writer.close()
    }
}
