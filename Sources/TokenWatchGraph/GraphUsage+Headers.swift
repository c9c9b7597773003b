import TokenWatchHTTP
import TokenWatchModel

extension GraphUsage {
    /// Reads `X-App-Usage`, `X-Page-Usage` and `X-Business-Use-Case-Usage`: the highest of
    /// `call_count`, `total_time` and `total_cputime` over every header and entry (figures above
    /// 100 are kept as they are), and the longest `estimated_time_to_regain_access`.
    /// Headers that are missing or not JSON count as absent.
    init(response: HTTPResponse) {
        var highest: Int?
        var regain: Int?
        func note(_ entry: [String: JSONValue]) {
            for key in ["call_count", "total_time", "total_cputime"] {
                if let value = entry[key]?.roundedUpInt { highest = max(highest ?? value, value) }
            }
            if let minutes = entry["estimated_time_to_regain_access"]?.roundedUpInt {
                regain = max(regain ?? minutes, minutes)
            }
        }
        for header in response.headers {
            switch header.name {
            case "x-app-usage", "x-page-usage":
                if let entry = JSONValue.parse(header.value)?.object { note(entry) }
            case "x-business-use-case-usage":
                // {"<business or page id>": [{"type": "pages", "call_count": 95, …}, …], …}
                for (_, entries) in JSONValue.parse(header.value)?.object ?? [:] {
                    for entry in entries.array ?? [] {
                        if let entry = entry.object { note(entry) }
                    }
                }
            default:
                continue
            }
        }
        self.init(highestPercent: highest, minutesToRegainAccess: regain)
    }
}
