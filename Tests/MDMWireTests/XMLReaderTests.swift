import MDMWire
import Testing

@Suite struct XMLReaderTests {
    @Test func refusesDoctypeBeforeParsing() {
        let xml = #"<?xml version="1.0"?><!DOCTYPE s [<!ENTITY x SYSTEM "file:///etc/passwd">]><s>&x;</s>"#
        #expect(throws: WireError(.dtdRefused, "")) { try XMLReader.parse(Array(xml.utf8)) }
    }

    @Test func refusesBillionLaughsWithoutExpanding() {
        var xml = "<?xml version=\"1.0\"?><!doctype lolz [<!ENTITY lol \"lol\">"
        for i in 1...9 { xml += "<!ENTITY lol\(i) \"" + String(repeating: "&lol\(i - 1 == 0 ? "" : String(i - 1));", count: 10) + "\">" }
        xml += "]><lolz>&lol9;</lolz>"
        #expect(throws: WireError(.dtdRefused, "")) { try XMLReader.parse(Array(xml.utf8)) }
    }

    @Test func refusesLoneEntityDeclaration() {
        #expect(throws: WireError(.dtdRefused, "")) { try XMLReader.parse(Array("<a><!ENTITY x 'y'></a>".utf8)) }
    }

    @Test(arguments: ["", "   \n\t "])
    func emptyBody(_ s: String) {
        #expect(throws: WireError(.emptyBody, "")) { try XMLReader.parse(Array(s.utf8)) }
    }

    @Test(arguments: ["not xml at all", "{\"json\": true}", "<a><b></a>", "<a>"])
    func notXML(_ s: String) {
        #expect(throws: WireError(.notXML, "")) { try XMLReader.parse(Array(s.utf8)) }
    }

    @Test func matchesNamespaceURIsNotPrefixes() throws {
        // Windows writes `ac:` and a default namespace on the same element (sample 11).
        let xml = #"<x:Root xmlns:x="urn:a"><ac:Item xmlns="urn:b" xmlns:ac="urn:b" Name="n"><Value>v</Value></ac:Item><y:Item xmlns:y="urn:c"/></x:Root>"#
        let root = try XMLReader.parse(Array(xml.utf8))
        #expect(root.namespace == "urn:a" && root.name == "Root")
        let item = try #require(root.child("urn:b", "Item"))
        #expect(item.attributes["Name"] == "n")
        #expect(item.child("urn:b", "Value")?.text == "v")
        #expect(root.children("urn:b", "Item").count == 1)
        #expect(root.child("urn:a", "Item") == nil)
    }

    @Test func rejectsEnvelopeOfWrongNamespace() {
        let soap11 = #"<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><x/></s:Body></s:Envelope>"#
        #expect(throws: WireError(.notSOAP, "")) { try SOAPEnvelope(bytes: Array(soap11.utf8)) }
    }

    @Test func escapesEverythingMarkupCouldUse() {
        #expect(xmlEscape("<a href=\"x\">&'\u{0}</a>") == "&lt;a href=&quot;x&quot;&gt;&amp;&apos;&lt;/a&gt;")
    }
}

/// winmdm's own XML parser: what it reads as XMLParser did, and what it refuses.
@Suite struct StrictXMLParserTests {
    @Test func readsReferencesCDATACommentsAndLineEnds() throws {
        let xml = "<?xml version=\"1.0\" encoding=\"utf-8\"?>\r\n<!-- c --><a xmlns=\"urn:a\" v='1&amp;2 &#x41;\t&#66;'>x &lt;y&gt; &quot;&apos;<![CDATA[<raw & kept>]]><!-- skip -->\r\nz<b/></a>\n"
        let root = try XMLReader.parse(Array(xml.utf8))
        #expect(root.namespace == "urn:a" && root.name == "a")
        #expect(root.attributes["v"] == "1&2 A B")
        #expect(root.text == "x <y> \"'<raw & kept>\nz")
        #expect(root.child("urn:a", "b") != nil)
    }

    @Test func prefixesAreScopedToTheirElement() throws {
        let xml = #"<p:a xmlns:p="urn:p"><p:b xmlns:p="urn:q"/><p:c/></p:a>"#
        let root = try XMLReader.parse(Array(xml.utf8))
        #expect(root.children.map(\.namespace) == ["urn:q", "urn:p"])
    }

    @Test(arguments: [
        "<p:a/>", "<a x:y='1'/>", "<a></b>", "<a><b></a></b>", "<a>&nope;</a>", "<a>&#0;</a>", "<a>&#xD800;</a>",
        "<a x='1' x='2'/>", "<a x=1/>", "<a x='<'/>", "<a/><b/>", "text<a/>", "<a/>text", "<a><!-- open</a>",
        "<a><![CDATA[x</a>", "<a>]]></a>", "<1a/>", "<a x='1'y='2'/>", "<a",
    ])
    func refusesWhatIsNotWellFormed(_ s: String) {
        #expect(throws: WireError(.notXML, "")) { try XMLReader.parse(Array(s.utf8)) }
    }
}
