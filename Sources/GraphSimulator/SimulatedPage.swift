/// A Page that `me/accounts` lists for a registered user token.
public struct SimulatedPage: Sendable, Hashable {
    /// The Page ID.
    public var id: String
    /// The Page name.
    public var name: String
    /// The Page access token handed out for it.
    public var accessToken: String
    /// What the person may do on the Page (`MESSAGING`, `MANAGE` …).
    public var tasks: [String]

    /// A Page listed by `me/accounts`; `tasks` defaults to what a Page admin has.
    public init(
        id: String, name: String, accessToken: String,
        tasks: [String] = ["ADVERTISE", "ANALYZE", "CREATE_CONTENT", "MESSAGING", "MODERATE", "MANAGE"]
    ) {
        self.id = id
        self.name = name
        self.accessToken = accessToken
        self.tasks = tasks
    }
}
