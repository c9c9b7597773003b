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
    /// `pages` itself when `putInReportOrder()` already sorted them.
    var orderedPages: [PageRecord] {
        if isInReportOrder { return pages }
        return Self.reportOrder(of: pages).map { pages[$0] }
    }

    /// Sorts `pages` into report order in place, once: the HTML, the CSV and the spreadsheet
    /// then read them as they are, and 100,000 pages are not sorted (or copied) three times.
    /// `ReportWriter.write` does it when the caller has not.
    public mutating func putInReportOrder() {
        guard !isInReportOrder else { return }
        // Pages read in report order already (the store's pagesInReportOrder, exact for ASCII
        // names) are checked in one pass and kept: no keys, no permutation.
        if Self.isSortedForReport(pages) {
            isInReportOrder = true
            return
        }
        pages.permute(by: Self.reportOrder(of: pages))
        isInReportOrder = true
    }

    /// The pages whose row shows their log and permissions (every page but the compact
    /// ones): the only pages whose `recentEvents` and `logEntryCounts` the report reads.
    public var pageIDsShownInFull: [String] {
        pages.compactMap { HTMLReport.isCompact($0, in: self) ? nil : $0.pageID }
    }

    /// True when every page comes before or with the next in report order.
    static func isSortedForReport(_ pages: [PageRecord]) -> Bool {
        guard pages.count > 1 else { return true }
        for index in 1..<pages.count where precedes(pages[index], pages[index - 1]) { return false }
        return true
    }

    /// Report order as one comparison, lower-casing as it goes (for a single pass).
    static func precedes(_ a: PageRecord, _ b: PageRecord) -> Bool {
        if a.status != b.status { return a.status.reportRank < b.status.reportRank }
        if a.company != b.company {
            let (x, y) = (a.company.lowercased(), b.company.lowercased())
            return x != y ? x < y : a.company < b.company
        }
        if a.pageName != b.pageName {
            let (x, y) = (a.pageName.lowercased(), b.pageName.lowercased())
            return x != y ? x < y : a.pageName < b.pageName
        }
        if a.pageID.count != b.pageID.count { return a.pageID.count < b.pageID.count }
        return a.pageID < b.pageID
    }

    /// The indices of `pages` in report order. Each page's lower-cased company and name are
    /// computed once, not twice per comparison (which, at 100,000 pages, lower-cased 7 million
    /// strings per sort).
    static func reportOrder(of pages: [PageRecord]) -> [Int] {
        struct Key {
            var rank: Int
            var company: String
            var lowerCompany: String
            var name: String
            var lowerName: String
        }
        let keys = pages.map {
            Key(
                rank: $0.status.reportRank, company: $0.company, lowerCompany: $0.company.lowercased(),
                name: $0.pageName, lowerName: $0.pageName.lowercased())
        }
        return pages.indices.sorted { i, j in
            let (a, b) = (keys[i], keys[j])
            if a.rank != b.rank { return a.rank < b.rank }
            if a.lowerCompany != b.lowerCompany { return a.lowerCompany < b.lowerCompany }
            if a.company != b.company { return a.company < b.company }
            if a.lowerName != b.lowerName { return a.lowerName < b.lowerName }
            if a.name != b.name { return a.name < b.name }
            // Page IDs are digits: the shorter one is the smaller number.
            let (x, y) = (pages[i].pageID, pages[j].pageID)
            if x.count != y.count { return x.count < y.count }
            return x < y
        }
    }
}
