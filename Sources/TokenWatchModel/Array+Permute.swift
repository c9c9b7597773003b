extension Array {
    /// Rearranges the elements in place so that the element at index `order[i]` ends up at
    /// position `i`, following each cycle of the permutation and moving every element once:
    /// a sorted copy of a million pages would hold them twice. `order` must be a permutation
    /// of `indices`.
    package mutating func permute(by order: [Int]) {
        var order = order
        for start in order.indices where order[start] != start {
            let first = self[start]
            var position = start
            while true {
                let source = order[position]
                order[position] = position
                if source == start {
                    self[position] = first
                    break
                }
                self[position] = self[source]
                position = source
            }
        }
    }
}
