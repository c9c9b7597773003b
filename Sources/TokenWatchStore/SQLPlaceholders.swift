/// Placeholder lists for SQL built per call, made once per size.
///
/// GRDB's `databaseQuestionMarks(count:)` joins a fresh array of strings on every call; a
/// batch's commit built four such lists (and a multi-row VALUES list) per batch, which with
/// the scope lists joined twice per page was a sixth of the writer's time in a
/// 100,000-page first run. Lists up to `cachedCount` come from a table built on first use.
enum SQLPlaceholders {
    /// The largest list kept: twice a batch (50 pages), room for a page's two log entries.
    static let cachedCount = 128

    private static let lists: [String] = (0...cachedCount).map { build(count: $0, item: "?", separator: ",") }
    private static let eventRows: [String] = (0...cachedCount).map {
        build(count: $0, item: "(?, ?, ?, ?, ?, ?)", separator: ", ")
    }

    /// `?,?,…,?`: `count` placeholders, as `databaseQuestionMarks(count:)` writes them.
    static func list(_ count: Int) -> String {
        count <= cachedCount ? lists[max(0, count)] : build(count: count, item: "?", separator: ",")
    }

    /// `(?, ?, ?, ?, ?, ?), …`: `count` rows of six placeholders, for a multi-row INSERT.
    static func sixColumnRows(_ count: Int) -> String {
        count <= cachedCount
            ? eventRows[max(0, count)] : build(count: count, item: "(?, ?, ?, ?, ?, ?)", separator: ", ")
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
