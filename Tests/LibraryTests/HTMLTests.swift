import GatehouseCore
import Testing

/// The escape-by-default markup type: text is escaped wherever it is interpolated, markup passes as is, and
/// raw insertion is spelled out. (That `let bad: HTML = "<td>" + name` does not compile is a property of the
/// type: there is no `+` taking a `String`.)
@Suite("HTML: escapes by default")
struct HTMLTests {
    @Test func textIsEscapedInContentAndAttributes() {
        let name = #"<script>alert("x")</script> & 'co'"#
        let h: HTML = "<td title=\"\(name)\">\(name)</td>"
        #expect(
            h.text
                == #"<td title="&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;co&#39;">&lt;"#
                + #"script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;co&#39;</td>"#
        )
    }

    @Test func markupIsInsertedOnceNotTwice() {
        let cell: HTML = "<td>\("a&b")</td>"
        let row: HTML = "<tr>\(cell)\([cell, cell])</tr>"
        #expect(row.text == "<tr><td>a&amp;b</td><td>a&amp;b</td><td>a&amp;b</td></tr>")
        var page: HTML = "<p>"
        page += row
        #expect((page + "</p>").text.hasSuffix("</tr></p>"))
    }

    @Test func conditionalsNumbersAndJoins() {
        let n = 3
        let h: HTML = "<input\(if: n > 2, " required")\(if: n > 5, " disabled") value=\"\(n)\">"
        #expect(h.text == "<input required value=\"3\">")
        let items: [HTML] = ["x", "y"].map { "<li>\($0)</li>" }
        #expect(items.joined(separator: "\n").text == "<li>x</li>\n<li>y</li>")
    }

    @Test func rawIsOnlyWhatIsSpelledOut() {
        #expect(HTML.unsafeRaw("<b>ok</b>").text == "<b>ok</b>")
        let s = "<b>not markup</b>"
        let h: HTML = "\(s)"
        #expect(h.text == "&lt;b&gt;not markup&lt;/b&gt;")
        #expect(HTML.escape("plain text") == "plain text")
    }
}
