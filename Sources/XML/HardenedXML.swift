internal import CLibXML2
import GatehouseCore

/// Limits applied before and while parsing untrusted XML.
package struct XMLLimits: Sendable {
    package var maxBytes: Int
    package var maxDepth: Int
    package var maxNodes: Int
    package init(maxBytes: Int = 256 * 1024, maxDepth: Int = 64, maxNodes: Int = 10_000) {
        self.maxBytes = maxBytes
        self.maxDepth = maxDepth
        self.maxNodes = maxNodes
    }
}

package struct XMLRefusal: Error, Sendable, Equatable, CustomStringConvertible {
    package let reason: String
    package var description: String { reason }
}

/// A parsed XML document, parsed with no DTD loading, no entity substitution and no network access, and
/// refused outright if it contains a DOCTYPE at all (SAML never needs one; XXE and billion-laughs need one).
/// The libxml2 tree is not thread-safe, so the document is not `Sendable` and never leaves its task.
package final class XMLDocument {
    let doc: xmlDocPtr

    package init(parsing bytes: [UInt8], limits: XMLLimits = XMLLimits()) throws(XMLRefusal) {
        guard bytes.count <= limits.maxBytes else {
            throw XMLRefusal(reason: "document larger than \(limits.maxBytes) bytes")
        }
        guard !bytes.isEmpty else { throw XMLRefusal(reason: "empty document") }
        // XML_PARSE_NONET: no network; no NOENT (entities stay unsubstituted); no DTDLOAD/DTDATTR; NOBLANKS off to keep
        // the exact text for canonicalization.
        let options = Int32(XML_PARSE_NONET.rawValue | XML_PARSE_NOERROR.rawValue | XML_PARSE_NOWARNING.rawValue)
        let parsed: xmlDocPtr? = bytes.withUnsafeBufferPointer { buf in
            buf.withMemoryRebound(to: CChar.self) {
                xmlReadMemory($0.baseAddress, Int32($0.count), "untrusted.xml", nil, options)
            }
        }
        guard let parsed else { throw XMLRefusal(reason: "not well-formed XML") }
        if parsed.pointee.intSubset != nil || parsed.pointee.extSubset != nil {
            xmlFreeDoc(parsed)
            throw XMLRefusal(reason: "a DOCTYPE is not allowed")
        }
        guard let root = xmlDocGetRootElement(parsed) else {
            xmlFreeDoc(parsed)
            throw XMLRefusal(reason: "no root element")
        }
        var nodes = 0
        if let problem = XMLDocument.checkShape(root, depth: 1, nodes: &nodes, limits: limits) {
            xmlFreeDoc(parsed)
            throw XMLRefusal(reason: problem)
        }
        doc = parsed
    }

    deinit { xmlFreeDoc(doc) }

    private static func checkShape(_ node: xmlNodePtr, depth: Int, nodes: inout Int, limits: XMLLimits) -> String? {
        if depth > limits.maxDepth { return "nesting deeper than \(limits.maxDepth)" }
        var child = node.pointee.children
        while let c = child {
            nodes += 1
            if nodes > limits.maxNodes { return "more than \(limits.maxNodes) nodes" }
            if c.pointee.type == XML_ENTITY_REF_NODE || c.pointee.type == XML_ENTITY_NODE {
                return "entity references are not allowed"
            }
            if c.pointee.type == XML_ELEMENT_NODE,
                let p = checkShape(c, depth: depth + 1, nodes: &nodes, limits: limits)
            {
                return p
            }
            child = c.pointee.next
        }
        return nil
    }

    /// The root element's local name.
    package var rootName: String {
        guard let root = xmlDocGetRootElement(doc), let name = root.pointee.name else { return "" }
        return String(cString: name)
    }

    /// The whole text content of the root (all text descendants concatenated; comments excluded).
    package var rootText: String {
        guard let root = xmlDocGetRootElement(doc) else { return "" }
        return XMLDocument.text(of: root)
    }

    static func text(of node: xmlNodePtr) -> String {
        var out = ""
        var child = node.pointee.children
        while let c = child {
            switch c.pointee.type {
            case XML_TEXT_NODE, XML_CDATA_SECTION_NODE:
                if let content = c.pointee.content { out += String(cString: content) }
            case XML_ELEMENT_NODE:
                out += text(of: c)
            default: break
            }
            child = c.pointee.next
        }
        return out
    }
}

@available(*, unavailable)
extension XMLDocument: Sendable {}
