import Foundation
import Testing

@testable import TokenWatchModel
@testable import TokenWatchReports
@testable import TokenWatchStore
@testable import TokenWatchTemplates

@Suite("Template set")
struct TemplateSetTests {
    @Test("the built-in templates parse, and the report is the built-in one")
    func builtIns() throws {
        let templates = try TemplateSet()
        #expect(templates.origins[.report] == "built-in")
        #expect(templates.origins[.reportPage] == "built-in")
        // The frame holds the rows' place; the row template renders a page.
        #expect(templates.render(.report, HTMLReport.context(for: ReportFixtures.input)).contains("<caption>"))
        #expect(HTMLReport.render(ReportFixtures.input, templates: templates).contains("Acme Careers"))
    }

    @Test("a file in the overrides directory replaces the built-in template, still HTML-escaped")
    func override() throws {
        let temp = try TemporaryDirectory()
        defer { temp.cleanup() }
        let path = temp.file("report.html.mustache")
        try Data("<ul>{{#pages}}<li>{{pageName}} is {{statusLabel}}</li>{{/pages}}</ul>".utf8)
            .write(to: URL(fileURLWithPath: path))
        let templates = try TemplateSet(overridesDirectory: temp.path)
        #expect(templates.origins[.report] == path)
        #expect(templates.origins[.digestText] == "built-in")
        var input = ReportFixtures.input
        input.pages = [
            PageRecord(company: "C", pageID: "1", pageName: "<b>Bold</b> & co", tokenUpdatedAt: input.generatedAt)
        ]
        let html = HTMLReport.render(input, templates: templates)
        #expect(html == "<ul><li>&lt;b&gt;Bold&lt;/b&gt; &amp; co is Unknown</li></ul>")
    }

    @Test("a broken override is TemplateError.parse naming the file and line")
    func brokenOverride() throws {
        let temp = try TemporaryDirectory()
        defer { temp.cleanup() }
        let path = temp.file("report.html.mustache")
        try Data("<!doctype html>\n<p>{{title}}</p>\n<p>{{/pages}}</p>\n".utf8).write(to: URL(fileURLWithPath: path))
        #expect {
            try TemplateSet(overridesDirectory: temp.path)
        } throws: { error in
            guard case .parse(let errorPath, let line, _, _) = error as? TemplateError else { return false }
            return errorPath == path && line == 3
        }
        do {
            _ = try TemplateSet(overridesDirectory: temp.path)
            Issue.record("a broken override must not load")
        } catch {
            #expect(error.description.hasPrefix("template \(path), line 3, column"))
        }
    }

    @Test("an override that is not UTF-8 is named")
    func notUTF8() throws {
        let temp = try TemporaryDirectory()
        defer { temp.cleanup() }
        let path = temp.file("report.html.mustache")
        try Data([0x3C, 0x70, 0x3E, 0xE9, 0xFF]).write(to: URL(fileURLWithPath: path))
        #expect(throws: TemplateError.notUTF8(path: path)) {
            try TemplateSet(overridesDirectory: temp.path)
        }
    }

    @Test("export writes the built-in templates and refuses to overwrite them")
    func export() throws {
        let temp = try TemporaryDirectory()
        defer { temp.cleanup() }
        let directory = temp.file("templates")
        let written = try TemplateSet.exportBuiltIns(to: directory)
        #expect(written.count == TemplateSet.Name.allCases.count)
        let exported = try String(contentsOfFile: directory + "/report.html.mustache", encoding: .utf8)
        #expect(exported == TemplateSet.Name.report.builtInSource)
        #expect(throws: TemplateError.alreadyExists(path: directory + "/report.html.mustache")) {
            try TemplateSet.exportBuiltIns(to: directory)
        }
        // The exported report, used as an override, renders exactly like the built-in one.
        let context = HTMLReport.context(for: ReportFixtures.input)
        #expect(
            try TemplateSet(overridesDirectory: directory).render(.report, context)
                == (try TemplateSet()).render(.report, context))
    }

    @Test("the report template never renders a value unescaped")
    func noTripleMustache() {
        let source = TemplateSet.Name.report.builtInSource
        #expect(!source.contains("{{{"))
        #expect(!source.contains("{{&"))
    }
}
