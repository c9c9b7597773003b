import Foundation
import TokenWatchTestSupport

/// Reads a workbook back with Python's openpyxl, an independent xlsx reader, to prove what a
/// spreadsheet program will see: each cell's value and type, and the sheets' settings.
enum PythonXLSX {

    /// One sheet as openpyxl sees it.
    struct Sheet: Decodable {
        /// Every row, every cell as text: a date as `YYYY-MM-DDTHH:MM:SSZ`, a blank as "".
        var rows: [[String]]
        /// openpyxl's data type per cell: `s` string, `n` number, `d` date, `f` formula.
        var types: [[String]]
        /// Number formats per cell.
        var formats: [[String]]
        /// Whether each cell's font is bold.
        var bold: [[Bool]]
        var freezePanes: String?
        var autoFilter: String?
        var widths: [String: Double]
    }

    static let script = """
        import datetime, json, sys, openpyxl
        from openpyxl.utils.escape import unescape
        book = openpyxl.load_workbook(sys.argv[1])
        def text(value):
            if value is None:
                return ""
            if isinstance(value, datetime.datetime):
                return value.strftime("%Y-%m-%dT%H:%M:%SZ")
            if isinstance(value, float) and value.is_integer():
                return str(int(value))
            # OOXML writes CR and other control characters as _x000D_, which Excel decodes;
            # openpyxl decodes it in shared strings only, not in the inline strings of a
            # streamed (constant-memory) workbook: decode it the way Excel does.
            return unescape(value) if isinstance(value, str) else str(value)
        sheets = {}
        for sheet in book.worksheets:
            rows, types, formats, bold = [], [], [], []
            for row in sheet.iter_rows():
                rows.append([text(cell.value) for cell in row])
                types.append([cell.data_type if cell.value is not None else "" for cell in row])
                formats.append([cell.number_format for cell in row])
                bold.append([bool(cell.font.b) for cell in row])
            widths = {key: dim.width for key, dim in sheet.column_dimensions.items() if dim.width}
            sheets[sheet.title] = {
                "rows": rows, "types": types, "formats": formats, "bold": bold, "freezePanes": sheet.freeze_panes,
                "autoFilter": sheet.auto_filter.ref, "widths": widths,
            }
        json.dump({"order": book.sheetnames, "sheets": sheets}, sys.stdout)
        """

    struct Workbook: Decodable {
        var order: [String]
        var sheets: [String: Sheet]
    }

    static func read(_ path: String) async throws -> Workbook {
        try JSONDecoder().decode(Workbook.self, from: await PythonScript.run(script, arguments: [path]))
    }
}
