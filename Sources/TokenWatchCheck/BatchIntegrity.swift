import TokenWatchGraph
import TokenWatchModel
import TokenWatchStore

/// Whether a batch answer may be believed item by item (SPEC.md step 4): one item per token
/// sent, and no item naming another page of the same batch.
///
/// Graph answers a batch in request order, so position is all that ties an item to a page.
/// An answer whose items were reordered (a broken proxy, a replay, a server bug) would give
/// each page another page's verdict — "token of another page" for every valid page, and an
/// email to their Owners. Such an answer is not believed at all: its pages are undecided and
/// retried, never invalid. (The client already refuses a non-200 answer.)
public enum BatchIntegrity {
    /// Why the answer cannot be believed, in plain words naming Page IDs only; nil when it can.
    ///
    /// An item whose `profile_id` is another page of the batch is a sign of reordering, unless
    /// that page was sent the very same token (one token stored for two pages: then the same
    /// answer for both is right, and the verdict rules name it "token of another page").
    public static func problem(targets: [CheckTarget], outcomes: [DebugTokenOutcome]) -> String? {
        problem(targets: targets, tokens: targets.map(\.token), outcomes: outcomes)
    }

    /// The same, with the tokens that were sent (`tokens[i]` for `targets[i]`): the targets'
    /// own tokens stay sealed until their batch is sent, so the engine passes the opened ones.
    public static func problem(targets: [CheckTarget], tokens: [Secret], outcomes: [DebugTokenOutcome]) -> String? {
        guard outcomes.count == targets.count else {
            return "the batch answer has \(outcomes.count) items for \(targets.count) tokens"
        }
        guard targets.count > 1, tokens.count == targets.count else { return nil }
        var tokensByPage: [String: Set<String>] = [:]
        for (target, token) in zip(targets, tokens) { tokensByPage[target.pageID, default: []].insert(token.reveal) }
        for (index, (target, outcome)) in zip(targets, outcomes).enumerated() {
            guard case .info(let info) = outcome, let named = info.profileID, named != target.pageID,
                let namedTokens = tokensByPage[named], !namedTokens.contains(tokens[index].reveal)
            else { continue }
            return
                "the item for page \(target.pageID) names page \(named) of the same batch: the answer is out of order"
        }
        return nil
    }
}
