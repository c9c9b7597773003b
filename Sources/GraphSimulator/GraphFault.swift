/// A way the simulated Graph API misbehaves, switched on while it runs with
/// `GraphSimulator.setFault(_:forRequests:)`.
///
/// Several faults of different kinds can be active together; setting a fault replaces an
/// active one of the same kind. Whole-request faults take precedence in this order: dropped
/// connection, 503 HTML page, 500 outage, 401 transient, 500 echoing outage, 400 echoing
/// rejection, then the checks of the request itself (app token, proof), then the rate limit.
/// The faults that rearrange a batch answer (reversed, missing or extra items) and `redirect`
/// apply to answers that got that far.
///
/// The `echoing…` faults answer as Graph does when it quotes a token back in its message
/// ("Malformed access token EAA…"): what a client must never log, store, render or print.
public enum GraphFault: Sendable, Hashable {
    /// Every HTTP response is delayed by this many milliseconds (without blocking other
    /// requests).
    case latency(milliseconds: Int)
    /// The whole request fails with HTTP 500 and
    /// `{"error":{"code":1,"message":"An unknown error occurred","type":"OAuthException","is_transient":true,…}}`
    /// — a batch gets this one top-level error instead of its array.
    case outage
    /// The whole request fails with HTTP 503 and an HTML page.
    case htmlOutage
    /// The connection is closed without any answer.
    case dropConnection
    /// The whole request fails with HTTP 401 carrying the transient code 2 (a real-world
    /// mismatch: decide by the body, not the status).
    case transientUnauthorized
    /// Once this many calls have been answered (each batch item and each plain request counts
    /// one; counted from when the fault was set), requests are refused with HTTP 403, code 4
    /// "(#4) Application request limit reached" and `X-App-Usage` call_count ≥ 100.
    /// A batch is admitted whole or refused whole.
    case rateLimit(afterCalls: Int)
    /// Answers still succeed, but the usage header reports `percent` (90 or more asks a
    /// client to stop).
    case highUsage(percent: Int, header: UsageHeader)
    /// Every `every`-th item of a batch (1-based positions every, 2×every …) is `null`, as
    /// when it did not complete within the batch's time limit.
    case nullItems(every: Int)
    /// The response body is cut in half (HTTP 200, Content-Length of the cut body).
    case truncatedBody
    /// Every `every`-th item of a batch has a `body` string that is not JSON (the first half
    /// of the real one).
    case malformedItems(every: Int)
    /// A batch answer's items come in reverse order (HTTP 200, each item well formed): a
    /// client that trusts positions gives every page another page's answer.
    case reversedItems
    /// A batch answer lacks its last item: one item fewer than requests sent.
    case missingItem
    /// A batch answer carries one item more than requests sent (a copy of its first).
    case extraItem
    /// The whole request is answered HTTP 302 with a `Location` header and the real batch
    /// array as its body: JSON, but not a batch answer.
    case redirect
    /// The whole request is refused with HTTP 400, code 190,
    /// "Malformed access token <the request's access token>": for a batch or `debug_token` the
    /// app token `APPID|SECRET`, for `me/accounts` the user token.
    case echoingRejection
    /// The whole request fails with HTTP 500 and the transient code 1, the message quoting
    /// every token of the request: the access token and each `input_token`.
    case echoingOutage
    /// Every `debug_token` item (in a batch or alone) is answered HTTP 500 with the transient
    /// code 2, the message quoting the item's input token.
    case echoingTransientItems
    /// Every `debug_token` item (in a batch or alone) is answered HTTP 200 with `is_valid`
    /// false and a `data.error` (code 190) whose message quotes the input token.
    case echoingInvalidItems

    /// Which usage header `highUsage` reports in.
    public enum UsageHeader: Sendable, Hashable {
        /// `X-App-Usage`.
        case app
        /// `X-Page-Usage`.
        case page
        /// `X-Business-Use-Case-Usage`.
        case businessUseCase
    }

    /// Faults of the same kind replace each other.
    enum Kind: Hashable {
        case latency, outage, htmlOutage, dropConnection, transientUnauthorized, rateLimit
        case highUsage, nullItems, truncatedBody, malformedItems
        case reversedItems, missingItem, extraItem, redirect
        case echoingRejection, echoingOutage, echoingTransientItems, echoingInvalidItems
    }

    var kind: Kind {
        switch self {
        case .latency: .latency
        case .outage: .outage
        case .htmlOutage: .htmlOutage
        case .dropConnection: .dropConnection
        case .transientUnauthorized: .transientUnauthorized
        case .rateLimit: .rateLimit
        case .highUsage: .highUsage
        case .nullItems: .nullItems
        case .truncatedBody: .truncatedBody
        case .malformedItems: .malformedItems
        case .reversedItems: .reversedItems
        case .missingItem: .missingItem
        case .extraItem: .extraItem
        case .redirect: .redirect
        case .echoingRejection: .echoingRejection
        case .echoingOutage: .echoingOutage
        case .echoingTransientItems: .echoingTransientItems
        case .echoingInvalidItems: .echoingInvalidItems
        }
    }
}
