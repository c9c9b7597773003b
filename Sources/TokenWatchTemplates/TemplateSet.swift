import Foundation
import Mustache

/// The report and digest templates: built into the binary (`Templates/*.mustache`, embedded
/// as package resources), each replaceable by a file of the same name in the operator's
/// `TOKENWATCH_TEMPLATES_DIR`. All of them are parsed up front, so a broken template is a
/// configuration error before any network call.
public struct TemplateSet: Sendable {
    /// The templates TokenWatch renders, by file name.
    public enum Name: String, Sendable, CaseIterable {
        case report = "report.html.mustache"
        case reportPage = "report-page.html.mustache"
        case digestSubject = "digest.subject.mustache"
        case digestText = "digest.txt.mustache"
        case digestHTML = "digest.html.mustache"

        /// HTML templates escape every value; subject and text templates escape nothing.
        public var isHTML: Bool { self == .report || self == .reportPage || self == .digestHTML }

        /// The built-in source of this template.
        public var builtInSource: String {
            let bytes: [UInt8] =
                switch self {
                case .report: PackageResources.report_html_mustache
                case .reportPage: PackageResources.report_page_html_mustache
                case .digestSubject: PackageResources.digest_subject_mustache
                case .digestText: PackageResources.digest_txt_mustache
                case .digestHTML: PackageResources.digest_html_mustache
                }
            return String(decoding: bytes, as: UTF8.self)
        }
    }

    private let templates: [Name: MustacheTemplate]
    /// Where each template came from: "built-in" or the override file's path.
    public let origins: [Name: String]

    /// Loads the built-in templates, replacing each with `overridesDirectory/<name>` where
    /// such a file exists. Throws `TemplateError` naming the file and line that does not parse.
    public init(overridesDirectory: String? = nil) throws(TemplateError) {
        var templates: [Name: MustacheTemplate] = [:]
        var origins: [Name: String] = [:]
        for name in Name.allCases {
            var source = name.builtInSource
            var origin = "built-in"
            if let overridesDirectory {
                let path = URL(fileURLWithPath: overridesDirectory).appendingPathComponent(name.rawValue).path
                if FileManager.default.fileExists(atPath: path) {
                    guard let data = FileManager.default.contents(atPath: path) else {
                        throw TemplateError.unreadable(path: path)
                    }
                    guard let text = String(validating: data, as: UTF8.self) else {
                        throw TemplateError.notUTF8(path: path)
                    }
                    source = text
                    origin = path
                }
            }
            templates[name] = try Self.parse(source, name: name, origin: origin)
            origins[name] = origin
        }
        self.templates = templates
        self.origins = origins
    }

    /// Renders one template with a context of dictionaries, arrays, strings, numbers and Bools.
    public func render(_ name: Name, _ context: [String: Any]) -> String {
        // Every name is parsed in init, so the lookup cannot miss.
        templates[name]?.render(context) ?? ""
    }

    /// Writes the built-in templates into `directory` (created if missing) as a starting point
    /// for an operator's own. Existing files are not overwritten; returns the paths written.
    public static func exportBuiltIns(to directory: String) throws(TemplateError) -> [String] {
        let fileManager = FileManager.default
        do {
            try fileManager.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw TemplateError.cannotWrite(path: directory, reason: error.localizedDescription)
        }
        var written: [String] = []
        for name in Name.allCases {
            let path = URL(fileURLWithPath: directory).appendingPathComponent(name.rawValue).path
            if fileManager.fileExists(atPath: path) {
                throw TemplateError.alreadyExists(path: path)
            }
            do {
                try Data(name.builtInSource.utf8).write(to: URL(fileURLWithPath: path), options: .withoutOverwriting)
            } catch {
                throw TemplateError.cannotWrite(path: path, reason: error.localizedDescription)
            }
            written.append(path)
        }
        return written
    }

    private static func parse(_ source: String, name: Name, origin: String) throws(TemplateError) -> MustacheTemplate {
        // The pragma sits on the template's first line without a newline, so the line numbers
        // of parse errors stay those of the operator's file.
        let pragma = name.isHTML ? "{{% CONTENT_TYPE: HTML}}" : "{{% CONTENT_TYPE: TEXT}}"
        do {
            return try MustacheTemplate(string: pragma + source)
        } catch let error as MustacheTemplate.ParserError {
            throw TemplateError.parse(
                path: origin == "built-in" ? "built-in \(name.rawValue)" : origin,
                line: error.context.lineNumber, column: error.context.columnNumber,
                reason: String(describing: error.error))
        } catch {
            throw TemplateError.parse(path: origin, line: 0, column: 0, reason: String(describing: error))
        }
    }
}

/// A template could not be loaded. A configuration error (exit 78).
public enum TemplateError: Error, Sendable, Equatable, CustomStringConvertible {
    case parse(path: String, line: Int, column: Int, reason: String)
    case unreadable(path: String)
    case notUTF8(path: String)
    case alreadyExists(path: String)
    case cannotWrite(path: String, reason: String)

    public var description: String {
        switch self {
        case .parse(let path, let line, let column, let reason):
            "template \(path), line \(line), column \(column): does not parse (\(reason))"
        case .unreadable(let path): "template \(path): cannot be read"
        case .notUTF8(let path): "template \(path): is not valid UTF-8"
        case .alreadyExists(let path): "\(path) already exists; not overwritten"
        case .cannotWrite(let path, let reason): "cannot write \(path): \(reason)"
        }
    }
}
