import Foundation
import Testing
import TokenWatchTestSupport

/// The auditors' spreadsheet that `report` writes beside the CSV, read back with openpyxl.
@Suite("Spreadsheet report (binary)")
struct SpreadsheetBinaryTests {
    let directory: TestDirectory
    var env: [String: String]

    init() async throws {
        directory = try TestDirectory()
        env = [
            "TOKENWATCH_DB": directory.file("tw.sqlite3"), "TOKENWATCH_REPORTS_DIR": directory.file("reports"),
        ]
        if TestStore.isPostgres {
            env["TOKENWATCH_DB"] = try await PostgresServer.shared().createDatabase(named: "spreadsheet")
            env["TOKENWATCH_KEY_FILE"] = directory.file("tw.sqlite3.key")
        }
    }

    func tw(_ arguments: String...) async throws -> TokenWatchBinary.Result {
        try await TokenWatchBinary.run(arguments, environment: env, directory: directory.path)
    }

    func seed() async throws {
        #expect(try await tw("init").status == 0)
        let csv = directory.file("pages.csv")
        try Data(
            "company,page_id,page_name,access_token\nAcme Outfitters,61550123456789012,=Acme Jobs,EAAGsecretTokenXYZ789\n"
                .utf8
        ).write(to: URL(fileURLWithPath: csv))
        let imported = try await tw("pages", "import", csv)
        #expect(imported.status == 0, "\(imported.all)")
    }

    @Test func reportWritesASpreadsheetWithTheLongIDAsText() async throws {
        try await seed()
        let result = try await tw("report")
        #expect(result.status == 0, "\(result.all)")
        let reports = directory.file("reports")
        let names = try FileManager.default.contentsOfDirectory(atPath: reports)
        let xlsx = try #require(names.first { $0.hasPrefix("token-report-") && $0.hasSuffix(".xlsx") })
        #expect(names.contains("latest.xlsx"))
        #expect(result.stdout.contains(xlsx))
        let script = """
            import openpyxl, sys
            sheet = openpyxl.load_workbook(sys.argv[1])["Pages"]
            cell = sheet["B2"]
            print(cell.value, cell.data_type, sheet["C2"].value, sheet["C2"].data_type, sheet.freeze_panes)
            """
        let text = String(
            decoding: try await PythonScript.run(script, arguments: [reports + "/" + xlsx]), as: UTF8.self)
        #expect(text == "61550123456789012 s =Acme Jobs s A2\n")
    }
}
