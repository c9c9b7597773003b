import Foundation

/// `tokenwatch-bench SUBCOMMAND [options]`: measurements of TokenWatch's machinery.
/// Subcommands: `engine` (the libcurl event loop against a local delaying server).
@main
struct Bench {
    static func main() async {
        let arguments = Array(CommandLine.arguments.dropFirst())
        let code: Int32
        switch arguments.first {
        case "engine":
            code = await EngineBench.run(arguments: Array(arguments.dropFirst()))
        default:
            FileHandle.standardError.write(Data(Self.usage.utf8))
            code = arguments.first.map { ["-h", "--help", "help"].contains($0) } == true ? 0 : 64
        }
        exit(code)
    }

    static let usage = """
        usage: tokenwatch-bench <subcommand> [options]

        subcommands:
          engine [--requests N] [--delay-ms MS] [--rounds R]
                 N concurrent requests (default 200) through CurlHTTPClient against a loopback
                 server that answers each after MS milliseconds (default 50), R rounds (default 2:
                 the first opens connections, later ones reuse them).

        """
}
