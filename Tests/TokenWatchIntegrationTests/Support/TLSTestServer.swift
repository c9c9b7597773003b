import Foundation

/// An HTTPS server on 127.0.0.1 (Python's http.server wrapped in its ssl module) with a
/// self-signed certificate made for it by openssl, valid for 127.0.0.1 and localhost: for
/// tests that certificates are verified, and that `caFile` makes a private CA trusted.
final class TLSTestServer {
    let port: Int
    /// The server's certificate (PEM), usable as a CA file.
    let certificatePath: String
    private let directory: URL
    private let process: Process
    private let stdin: Pipe
    private let exit: ProcessExit

    var baseURL: String { "https://127.0.0.1:\(port)" }

    private init(port: Int, certificatePath: String, directory: URL, process: Process, stdin: Pipe, exit: ProcessExit) {
        self.port = port
        self.certificatePath = certificatePath
        self.directory = directory
        self.process = process
        self.stdin = stdin
        self.exit = exit
    }

    deinit {
        if process.isRunning { process.terminate() }
    }

    /// Makes a certificate and starts the server; returns once it listens.
    static func start() async throws -> TLSTestServer {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("tls-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let certificate = directory.appendingPathComponent("cert.pem").path
        let key = directory.appendingPathComponent("key.pem").path
        try await runToCompletion([
            "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
            "-keyout", key, "-out", certificate, "-days", "1", "-subj", "/CN=TokenWatch test",
            "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
        ])

        // Answers every GET with 200 "secure"; exits when stdin closes.
        let script = """
            import http.server, os, ssl, sys, threading
            class Handler(http.server.BaseHTTPRequestHandler):
                def do_GET(self):
                    body = b"secure"
                    self.send_response(200)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                def log_message(self, *args):
                    pass
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(sys.argv[1], sys.argv[2])
            server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
            server.socket = context.wrap_socket(server.socket, server_side=True)
            print(server.server_address[1], flush=True)
            threading.Thread(target=lambda: (sys.stdin.read(), os._exit(0)), daemon=True).start()
            server.serve_forever()
            """
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", script, certificate, key]
        let stdout = Pipe()
        let stdin = Pipe()
        process.standardOutput = stdout
        process.standardInput = stdin
        process.standardError = FileHandle(forWritingAtPath: "/dev/null")
        let exit = ProcessExit()
        process.terminationHandler = { _ in exit.markExited() }
        try process.run()
        do {
            let line = try await readFirstLine(of: stdout, timeoutSeconds: 30)
            guard let port = Int(line), port > 0 else { throw ChildProcessError.noPort(line) }
            return TLSTestServer(
                port: port, certificatePath: certificate, directory: directory, process: process, stdin: stdin,
                exit: exit)
        } catch {
            process.terminate()
            throw error
        }
    }

    /// Stops the server, waits for it to exit, and removes the certificate.
    func stop() async {
        try? stdin.fileHandleForWriting.close()
        if process.isRunning { process.terminate() }
        await exit.wait()
        try? FileManager.default.removeItem(at: directory)
    }
}
