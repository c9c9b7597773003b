import TokenWatchModel

extension PageStatus {
    /// Reports list the pages that need someone first: invalid, then undecided, then the rest.
    var reportRank: Int {
        switch self {
        case .invalid: 0
        case .unknown: 1
        case .valid: 2
        case .disconnected: 3
        }
    }
}

extension ReportInput {
    /// The pages in report order: invalid, unknown, valid, disconnected; within a status by
    /// company, then page name (case-insensitively), then page ID so the order is total.
    var orderedPages: [PageRecord] {
        pages.sorted { a, b in
            if a.status != b.status { return a.status.reportRank < b.status.reportRank }
            for (x, y) in [(a.company, b.company), (a.pageName, b.pageName)] {
                let (lx, ly) = (x.lowercased(), y.lowercased())
                if lx != ly { return lx < ly }
                if x != y { return x < y }
            }
            // Page IDs are digits: the shorter one is the smaller number.
            if a.pageID.count != b.pageID.count { return a.pageID.count < b.pageID.count }
            return a.pageID < b.pageID
        }
    }
}
