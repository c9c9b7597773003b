/// The version of this build, shown by `--version`, in the User-Agent and in reports.
public enum TokenWatchVersion {
    public static let current = "0.1.0"
}
