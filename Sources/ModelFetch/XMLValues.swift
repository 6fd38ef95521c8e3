import Foundation

#if canImport(FoundationXML)
import FoundationXML
#endif

/// Collects the text of elements with the given names, in document order (listing pages).
///
/// ```swift
/// let page = XMLValues(data: body, names: ["Key", "NextContinuationToken"])
/// if page.valid { keys += page.values["Key"] ?? [] }
/// ```
final class XMLValues: NSObject, XMLParserDelegate {
    private(set) var values: [String: [String]] = [:]
    /// False when the document is not well-formed XML (an error page, a truncated body).
    private(set) var valid = false
    private let names: Set<String>
    private var current: String?
    private var text = ""

    init(data: Data, names: Set<String>) {
        self.names = names
        super.init()
        let parser = XMLParser(data: data)
        parser.delegate = self
        valid = parser.parse()
    }

    func parser(_ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?, attributes: [String: String] = [:])
    {
        if names.contains(name) {
            current = name
            text = ""
        }
    }

    func parser(_ parser: XMLParser, foundCharacters string: String) {
        if current != nil { text += string }
    }

    func parser(_ parser: XMLParser, didEndElement name: String, namespaceURI: String?, qualifiedName: String?) {
        if name == current {
            values[name, default: []].append(text)
            current = nil
        }
    }
}
