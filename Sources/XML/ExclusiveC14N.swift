internal import CLibXML2

/// Exclusive XML Canonicalization 1.0 (with or without comments, with an InclusiveNamespaces PrefixList) of
/// one element's subtree, optionally leaving out one descendant (the enveloped signature). libxml2 does the
/// serialisation; which nodes are in the set is decided here.
package enum ExclusiveC14N {
    package static let algorithm = "http://www.w3.org/2001/10/xml-exc-c14n#"
    package static let algorithmWithComments = "http://www.w3.org/2001/10/xml-exc-c14n#WithComments"

    final class NodeSet {
        let apex: xmlNodePtr
        let excluded: xmlNodePtr?
        init(apex: xmlNodePtr, excluded: xmlNodePtr?) {
            self.apex = apex
            self.excluded = excluded
        }
    }

    private static let typeOffset =
        MemoryLayout<xmlNode>.offset(of: \xmlNode.type) ?? MemoryLayout<UnsafeRawPointer>.size

    package static func canonicalize(
        _ element: XMLElement, excluding: XMLElement? = nil, withComments: Bool = false,
        inclusivePrefixes: [String] = []
    ) throws(XMLRefusal) -> [UInt8] {
        let set = NodeSet(apex: element.node, excluded: excluding?.node)
        guard let buffer = xmlAllocOutputBuffer(nil) else { throw XMLRefusal(reason: "out of memory") }
        let visible: xmlC14NIsVisibleCallback = { user, node, parent in
            guard let user, let node else { return 0 }
            let set = Unmanaged<NodeSet>.fromOpaque(user).takeUnretainedValue()
            // Namespace nodes are xmlNs, not xmlNode: only their `type` field (same offset) may be read.
            let type = UnsafeRawPointer(node).load(fromByteOffset: ExclusiveC14N.typeOffset, as: xmlElementType.self)
            var n: xmlNodePtr? = (type == XML_NAMESPACE_DECL || type == XML_ATTRIBUTE_NODE) ? parent : node
            while let x = n {
                if x == set.excluded { return 0 }
                if x == set.apex { return 1 }
                n = x.pointee.parent
            }
            return 0
        }
        var prefixes: [UnsafeMutablePointer<UInt8>?] = inclusivePrefixes.map { p in
            let bytes = Array(p.utf8) + [0]
            let m = UnsafeMutablePointer<UInt8>.allocate(capacity: bytes.count)
            m.initialize(from: bytes, count: bytes.count)
            return m
        }
        prefixes.append(nil)
        defer { for p in prefixes { p?.deallocate() } }
        let rc = withExtendedLifetime(set) { () -> Int32 in
            let user = Unmanaged.passUnretained(set).toOpaque()
            return prefixes.withUnsafeMutableBufferPointer { pb in
                xmlC14NExecute(
                    element.owner.doc, visible, user, Int32(XML_C14N_EXCLUSIVE_1_0.rawValue),
                    inclusivePrefixes.isEmpty ? nil : pb.baseAddress, withComments ? 1 : 0, buffer)
            }
        }
        defer { xmlOutputBufferClose(buffer) }
        guard rc >= 0, let content = xmlOutputBufferGetContent(buffer) else {
            throw XMLRefusal(reason: "canonicalization failed")
        }
        return Array(UnsafeBufferPointer(start: content, count: Int(xmlOutputBufferGetSize(buffer))))
    }
}
