#if canImport(Glibc)
    import Glibc
#endif

/// Hands freed heap memory back to the system between the phases of a run.
///
/// A check of 1,000,000 pages frees a million sealed tokens (small allocations) when its
/// targets go; glibc keeps those pages resident in its arenas, and the report then loads a
/// million page records on top of them: the process's peak was the two phases' sum.
/// glibc's `malloc_trim` returns the free pages (looked up at run time: the Glibc module
/// does not declare it); elsewhere this does nothing.
public enum MemoryRelease {
    public static func trim() {
        #if canImport(Glibc)
            guard let symbol = dlsym(dlopen(nil, RTLD_NOW), "malloc_trim") else { return }
            typealias Trim = @convention(c) (Int) -> Int32
            _ = unsafeBitCast(symbol, to: Trim.self)(0)
        #endif
    }
}
