internal import CLibXML2

/// An element of a parsed `XMLDocument`. It keeps its document alive; equality is node identity, which is
/// how the signature code proves that the element consumed is the element that was signed.
package struct XMLElement: Equatable {
    let node: xmlNodePtr
    let owner: XMLDocument

    init(_ node: xmlNodePtr, owner: XMLDocument) {
        self.node = node
        self.owner = owner
    }

    package static func == (a: XMLElement, b: XMLElement) -> Bool { a.node == b.node }

    package var localName: String { node.pointee.name.map { String(cString: $0) } ?? "" }

    package var namespaceURI: String? { node.pointee.ns?.pointee.href.map { String(cString: $0) } }

    /// Compares bytes in place: no strings are made (this runs for every element of every walk).
    package func isNamed(_ name: String, in ns: String) -> Bool {
        guard let n = node.pointee.name, XMLElement.equals(n, name), let href = node.pointee.ns?.pointee.href else {
            return false
        }
        return XMLElement.equals(href, ns)
    }

    /// An attribute with no namespace (SAML and XML-DSig attributes are unqualified).
    package func attribute(_ name: String) -> String? {
        var a = node.pointee.properties
        while let attr = a {
            if attr.pointee.ns == nil, let n = attr.pointee.name, XMLElement.equals(n, name) {
                var value = ""
                var c = attr.pointee.children
                while let t = c {
                    if let content = t.pointee.content { value += String(cString: content) }
                    c = t.pointee.next
                }
                return value
            }
            a = attr.pointee.next
        }
        return nil
    }

    static func equals(_ c: UnsafePointer<UInt8>, _ s: String) -> Bool {
        var s = s
        return s.withUTF8 { b in
            for i in 0..<b.count where c[i] != b[i] { return false }
            return c[b.count] == 0
        }
    }

    package var parent: XMLElement? {
        guard let p = node.pointee.parent, p.pointee.type == XML_ELEMENT_NODE else { return nil }
        return XMLElement(p, owner: owner)
    }

    /// Element children in document order.
    package var children: [XMLElement] {
        var out: [XMLElement] = []
        var c = node.pointee.children
        while let n = c {
            if n.pointee.type == XML_ELEMENT_NODE { out.append(XMLElement(n, owner: owner)) }
            c = n.pointee.next
        }
        return out
    }

    package func children(_ name: String, in ns: String) -> [XMLElement] {
        children.filter { $0.isNamed(name, in: ns) }
    }

    package func firstChild(_ name: String, in ns: String) -> XMLElement? {
        children.first { $0.isNamed(name, in: ns) }
    }

    /// Every descendant element (not self) with that name, in document order.
    package func descendants(_ name: String, in ns: String) -> [XMLElement] {
        var out: [XMLElement] = []
        func walk(_ n: xmlNodePtr) {
            var c = n.pointee.children
            while let x = c {
                if x.pointee.type == XML_ELEMENT_NODE {
                    let e = XMLElement(x, owner: owner)
                    if e.isNamed(name, in: ns) { out.append(e) }
                    walk(x)
                }
                c = x.pointee.next
            }
        }
        walk(node)
        return out
    }

    /// The whole text of the element: every text and CDATA descendant, concatenated. A comment never cuts it
    /// short (the classic NameID truncation).
    package var text: String { XMLDocument.text(of: node) }

    /// The namespace declarations in scope at this element (prefix nil for the default namespace), innermost
    /// first: the context an encrypted element's plaintext is parsed in (XML Encryption 4.3.3).
    package var inScopeNamespaces: [(prefix: String?, uri: String)] {
        guard let list = xmlGetNsList(node.pointee.doc, node) else { return [] }
        defer { gh_xmlFree(list) }
        var out: [(prefix: String?, uri: String)] = []
        var i = 0
        while let ns = list[i] {
            if let href = ns.pointee.href {
                out.append((ns.pointee.prefix.map { String(cString: $0) }, String(cString: href)))
            }
            i += 1
        }
        return out
    }

    /// True when a comment or processing instruction sits anywhere inside the element.
    package var containsCommentOrPI: Bool {
        func walk(_ n: xmlNodePtr) -> Bool {
            var c = n.pointee.children
            while let x = c {
                if x.pointee.type == XML_COMMENT_NODE || x.pointee.type == XML_PI_NODE { return true }
                if x.pointee.type == XML_ELEMENT_NODE, walk(x) { return true }
                c = x.pointee.next
            }
            return false
        }
        return walk(node)
    }

    /// True when this element is `other` or lies inside it.
    package func isInside(_ other: XMLElement) -> Bool {
        var n: xmlNodePtr? = node
        while let x = n {
            if x == other.node { return true }
            n = x.pointee.parent
        }
        return false
    }
}

@available(*, unavailable)
extension XMLElement: Sendable {}

extension XMLDocument {
    package var root: XMLElement? { xmlDocGetRootElement(doc).map { XMLElement($0, owner: self) } }

    /// Every element carrying an `ID`-type attribute (`ID`, `AssertionID`, `Id`) with that value. Signature
    /// references resolve through this; more than one match means the document is refused.
    package func elements(withID id: String) -> [XMLElement] {
        var out: [XMLElement] = []
        func walk(_ n: xmlNodePtr) {
            var c: xmlNodePtr? = n
            while let x = c {
                if x.pointee.type == XML_ELEMENT_NODE {
                    let e = XMLElement(x, owner: self)
                    for name in XMLDocument.idAttributeNames where e.attribute(name) == id {
                        out.append(e)
                        break
                    }
                    if let first = x.pointee.children { walk(first) }
                }
                c = x.pointee.next
            }
        }
        if let r = xmlDocGetRootElement(doc) { walk(r) }
        return out
    }

    /// The ID values that occur more than once in the document (a duplicated ID is a wrapping attempt).
    package var duplicateIDs: [String] {
        var seen: Set<String> = []
        var dups: [String] = []
        func walk(_ n: xmlNodePtr) {
            var c: xmlNodePtr? = n
            while let x = c {
                if x.pointee.type == XML_ELEMENT_NODE {
                    let e = XMLElement(x, owner: self)
                    for name in XMLDocument.idAttributeNames {
                        if let v = e.attribute(name) {
                            if !seen.insert(v).inserted { dups.append(v) }
                        }
                    }
                    if let first = x.pointee.children { walk(first) }
                }
                c = x.pointee.next
            }
        }
        if let r = xmlDocGetRootElement(doc) { walk(r) }
        return dups
    }

    static let idAttributeNames = ["ID", "AssertionID", "Id"]
}
