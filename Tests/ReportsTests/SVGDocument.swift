// Parses the history plot with Foundation's XMLParser, independently of how it was written.
import Foundation
import TestSupport
#if canImport(FoundationXML)
import FoundationXML
#endif

/// The elements of an SVG document in document order.
struct SVGDocument {
    struct Element {
        let name: String
        let attributes: [String: String]
        /// The text directly inside the element.
        var text: String
        /// The `data-track` attribute of the enclosing track group, if any.
        let track: Int?
    }

    var elements: [Element] = []

    /// Parses `svg`.
    ///
    /// - throws: the parser's error when `svg` is not well-formed XML.
    init(_ svg: String) throws {
        let parser = XMLParser(data: Data(svg.utf8))
        let collector = Collector()
        parser.delegate = collector
        guard parser.parse() else {
            throw parser.parserError ?? ProcessFailure(description: "XMLParser failed without an error")
        }
        elements = collector.elements
    }

    /// Returns the elements named `name`, optionally only those in the group of `track`.
    func elements(named name: String, track: Int? = nil) -> [Element] {
        elements.filter { $0.name == name && (track == nil || $0.track == track) }
    }

    /// Returns the text of the `text` elements inside the group with class `groupClass`.
    func texts(inGroup groupClass: String) -> [String] {
        elements.filter { $0.name == "text" && $0.attributes["group"] == groupClass }.map(\.text)
    }

    private final class Collector: NSObject, XMLParserDelegate {
        var elements: [Element] = []
        /// Indices into `elements` of the open elements, outermost first.
        var open: [Int] = []

        func parser(_ parser: XMLParser, didStartElement elementName: String, namespaceURI: String?,
                    qualifiedName: String?, attributes: [String: String]) {
            let enclosing = open.map { elements[$0] }
            var attributes = attributes
            // Record the class of the nearest enclosing group so tests can pick axis labels.
            if let group = enclosing.last(where: { $0.name == "g" }), let groupClass = group.attributes["class"] {
                attributes["group"] = groupClass
            }
            let track = enclosing.last { $0.attributes["data-track"] != nil }.flatMap { Int($0.attributes["data-track"]!) }
            elements.append(Element(name: elementName, attributes: attributes, text: "", track: track))
            open.append(elements.count - 1)
        }

        func parser(_ parser: XMLParser, didEndElement elementName: String, namespaceURI: String?, qualifiedName: String?) {
            open.removeLast()
        }

        func parser(_ parser: XMLParser, foundCharacters string: String) {
            if let current = open.last { elements[current].text += string }
        }
    }
}
