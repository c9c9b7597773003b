/// Placeholder lists for SQL built per call, made once per size, and the fixed sizes a
/// list of any length is cut into.
///
/// GRDB's `databaseQuestionMarks(count:)` joins a fresh array of strings on every call; a
/// batch's commit built four such lists (and a multi-row VALUES list) per batch, which with
/// the scope lists joined twice per page was a sixth of the writer's time in a
/// 100,000-page first run. Lists up to `cachedCount` come from a table built on first use.
///
/// A statement with one placeholder per row is a new statement for every length: SQLite
/// compiles it again (and GRDB's authorizer looks at it again) in the one writer every batch
/// waits for, and GRDB's statement cache keeps every length it met. Cut into `chunks`, any
/// length uses statements of at most `chunkSizes.count` lengths, each prepared once per run.
enum SQLPlaceholders {
    /// The largest list kept: the largest chunk.
    static let cachedCount = 256

    /// The lengths `chunks` cuts a list into, largest first: powers of two, so a list of n
    /// items takes at most n / 256 + 8 statements (a commit of 1,000 pages, seven).
    static let chunkSizes = [256, 128, 64, 32, 16, 8, 4, 2, 1]

    /// `0..<count` cut into consecutive ranges whose lengths are all in `chunkSizes`, the
    /// largest first.
    static func chunks(_ count: Int) -> [Range<Int>] {
        var ranges: [Range<Int>] = []
        var start = 0
        for size in chunkSizes {
            while count - start >= size {
                ranges.append(start..<start + size)
                start += size
            }
        }
        return ranges
    }

    private static let lists: [String] = (0...cachedCount).map { build(count: $0, item: "?", separator: ",") }
    private static let singleColumnRows: [String] = (0...cachedCount).map {
        build(count: $0, item: "(?)", separator: ",")
    }

    /// `?,?,…,?`: `count` placeholders, as `databaseQuestionMarks(count:)` writes them.
    static func list(_ count: Int) -> String {
        count <= cachedCount ? lists[max(0, count)] : build(count: count, item: "?", separator: ",")
    }

    /// `(?),(?),…,(?)`: `count` one-value rows, for a VALUES list.
    static func rows(_ count: Int) -> String {
        count <= cachedCount ? singleColumnRows[max(0, count)] : build(count: count, item: "(?)", separator: ",")
    }

    private static func build(count: Int, item: String, separator: String) -> String {
        var text = ""
        text.reserveCapacity(count * (item.utf8.count + separator.utf8.count))
        for index in 0..<count {
            if index > 0 { text += separator }
            text += item
        }
        return text
    }
}
