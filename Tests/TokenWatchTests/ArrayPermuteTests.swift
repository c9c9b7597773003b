import Testing

@testable import TokenWatchModel

@Suite("Array.permute")
struct ArrayPermuteTests {
    @Test("moving elements in place gives what a reordered copy gives, for every kind of permutation")
    func matchesACopy() {
        var generator = SystemRandomNumberGenerator()
        let cases: [[Int]] = [[], [0], [1, 0], [0, 1, 2], [2, 0, 1], [1, 2, 0], [3, 2, 1, 0]]
        let random = (0..<50).map { _ in Array(0..<Int.random(in: 1...300, using: &generator)).shuffled() }
        for order in cases + random {
            var elements = order.indices.map { "element \($0)" }
            let expected = order.map { elements[$0] }
            elements.permute(by: order)
            #expect(elements == expected, "\(order.prefix(8))")
        }
    }
}
