import Mustache

/// Renders console pages: a page template inside the layout. Values are escaped by Mustache; only the rendered page
/// body is inserted unescaped into the layout.
public struct ConsoleRenderer: Sendable {
    let library: MustacheLibrary

    public init() {
        var templates: [String: MustacheTemplate] = [:]
        for (name, text) in Templates.all { templates[name] = try! MustacheTemplate(string: text) }
        library = MustacheLibrary(templates: templates)
    }

    /// `page` names a template; `model` is its context. `layout` gets title, user, csrf, flash and nav state.
    public func render(page: String, title: String, model: [String: Any], user: String?, role: String?, csrf: String?,
                       flash: String? = nil, error: String? = nil, section: String) -> String {
        let body = library.render(model, withTemplate: page) ?? ""
        var layout: [String: Any] = ["title": title, "content": body, "section_\(section)": true]
        if let user { layout["user"] = user }
        if let role { layout["role"] = role }
        if let csrf { layout["csrf"] = csrf }
        if let flash { layout["flash"] = flash }
        if let error { layout["error"] = error }
        return library.render(layout, withTemplate: "layout") ?? body
    }
}
