import Testing

@testable import GraphSimulator

/// The simulator's fast reading of a batch item's `relative_url` answers exactly what the
/// general route and form decoding would, or steps aside.
@Suite("Simulator batch item query")
struct GraphSimulatorItemQueryTests {
    static let urls = [
        "debug_token?input_token=simtok_valid_104000000000001",
        "debug_token?input_token=A&access_token=1234567890|s3cret",
        "debug_token?access_token=x&input_token=first&input_token=second",
        "debug_token?input_token&access_token",
        "debug_token?input_token=a=b&&other=1&",
        "debug_token?",
        "debug_token?input_token=EAA%7Cx",
        "debug_token?input_token=a+b",
        "/debug_token?input_token=A",
        "v25.0/debug_token?input_token=A",
        "me/accounts?access_token=A",
        "debug_tokens?input_token=A",
        "debug_token",
    ]

    @Test("the fast path reads what the general path reads, or gives way", arguments: urls)
    func fastPathAgreesWithTheGeneralOne(url: String) {
        let question = url.firstIndex(of: "?")
        let path = SimulatorEngine.route(String(url[..<(question ?? url.endIndex)])).path
        let general = question.map { FormDecoding.parameters(String(url[url.index(after: $0)...])) } ?? [:]
        // The shape clients send is read fast; anything else is left to the general path.
        let plainShape = url.hasPrefix("debug_token?") && !url.contains("%") && !url.contains("+")
        guard let fast = SimulatorEngine.plainDebugTokenQuery(url) else {
            #expect(!plainShape, "\(url)")
            return
        }
        #expect(plainShape, "\(url)")
        #expect(path == "debug_token")
        #expect(fast == general.filter { ["input_token", "access_token"].contains($0.key) }, "\(url)")
    }
}
