import TokenWatchStore

/// The sample companies, Owners and pages of `tokenwatch demo`: every verdict TokenWatch
/// can reach, under names a newcomer can tell apart. Each token follows the simulator's
/// convention `simtok_<behaviour>_<page id>_<suffix>`, so the simulator answers for it as Graph
/// would for such a token.
public enum DemoDataset {
    public struct Company: Sendable {
        public var name: String
        public var owners: [String]
    }

    public struct Page: Sendable {
        public var company: String
        public var pageID: String
        public var name: String
        /// The simulator behaviour (`valid`, `password-changed`, …).
        public var behaviour: String
        public var token: String { "simtok_\(behaviour)_\(pageID)_demo" }
    }

    public static let companies = [
        Company(name: "Acme Outfitters", owners: ["owner@acme-outfitters.example", "ops@acme-outfitters.example"]),
        Company(name: "Bistro Lumière", owners: ["patron@bistro-lumiere.example"]),
        Company(name: "Kairos Travel", owners: ["it@kairos-travel.example"]),
        // No Owner on purpose: the report warns that nobody can be told.
        Company(name: "Nordlicht Care", owners: []),
    ]

    /// (company index, page name, behaviour)
    private static let layout: [(Int, String, String)] = [
        (0, "Acme Outfitters", "valid"), (0, "Acme Outdoor Deals", "valid"), (0, "Acme Support", "password-changed"),
        (0, "Acme Careers", "valid"), (0, "Acme Kids", "missing-messaging"), (0, "Acme Outlet Berlin", "valid"),
        (0, "Acme Outlet Lyon", "logged-out"), (0, "Acme Climbing Club", "valid"), (0, "Acme Rentals", "expiring-soon"),
        (0, "Acme Workshop", "flaky-1"),
        (1, "Bistro Lumière", "valid"), (1, "Bistro Lumière Réservations", "role-removed"),
        (1, "Bistro Lumière Traiteur", "valid"), (1, "Bistro Lumière Cave", "checkpoint"),
        (1, "Bistro Lumière Brunch", "data-access-expired"), (1, "Bistro Lumière Events", "app-removed"),
        (1, "Bistro Lumière Jobs", "valid"), (1, "Bistro Lumière Terrasse", "data-access-soon"),
        (2, "Kairos Travel", "valid"), (2, "Kairos Travel Greece", "valid"), (2, "Kairos Travel Cyprus", "expired"),
        (2, "Kairos Cruises", "revoked"), (2, "Kairos Business Trips", "user"), (2, "Kairos Last Minute", "valid"),
        (2, "Kairos Ski", "other-page"), (2, "Kairos Weddings", "other-app"), (2, "Kairos Insurance", "unconfirmed"),
        (2, "Kairos Student Travel", "invalid"), (2, "Kairos Visa Help", "garbage"), (2, "Kairos Rewards", "valid"),
        (2, "Kairos Family", "permission-error"), (2, "Kairos Islands", "system-error"),
        (3, "Nordlicht Care", "valid"), (3, "Nordlicht Care Hamburg", "valid"),
        (3, "Nordlicht Pflege Jobs", "password-changed"),
        (3, "Nordlicht Care Kiel", "valid"), (3, "Nordlicht Nachbarschaft", "valid"),
        (3, "Nordlicht Care Lübeck", "expiring-soon"),
        (3, "Nordlicht Angehörige", "valid"), (3, "Nordlicht Archive", "valid"),
    ]

    /// The pages, with Page IDs in the shape of real ones.
    public static let pages: [Page] = layout.enumerated().map { index, entry in
        Page(
            company: companies[entry.0].name, pageID: String(104_000_000_000_001 + index * 7919), name: entry.1,
            behaviour: entry.2)
    }

    /// A page connected and then disconnected, to show how the report lists it.
    public static let disconnectedPageName = "Nordlicht Archive"
}
