import TokenWatchModel
import TokenWatchStore

/// `check --dry-run`: each page's verdict, nothing written.
public enum DryRunOutput {
    public static func table(_ verdicts: [(target: CheckTarget, verdict: Verdict)]) -> String {
        let order: [String: Int] = ["Invalid": 0, "Unknown": 1, "Valid": 2]
        let rows = verdicts.map { item -> [String] in
            let (word, why): (String, String) =
                switch item.verdict {
                case .valid: ("Valid", "")
                case .invalid(let reason, _, let error):
                    ("Invalid", reason.sentence + (error.map { " (\($0.codeText))" } ?? ""))
                case .unknown(let why, _): ("Unknown", why)
                }
            let change = item.target.status.label == word ? "" : " (was \(item.target.status.label))"
            return [item.target.pageName, item.target.pageID, item.target.company, word + change, why]
        }.sorted {
            (order[$0[3].components(separatedBy: " ")[0]] ?? 3, $0[2], $0[0]) < (
                order[$1[3].components(separatedBy: " ")[0]] ?? 3, $1[2], $1[0]
            )
        }
        return TextTable.render(header: ["PAGE NAME", "PAGE ID", "COMPANY", "VERDICT", "WHY"], rows: rows)
    }
}
