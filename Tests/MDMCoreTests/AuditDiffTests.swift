import Foundation
import MDMCore
import Testing

@Suite struct AuditDiffTests {
    @Test("a one-field change of a large object is that one field; nested, added, removed and array fields have paths")
    func fieldLevelDiff() {
        let before = #"{"maintenance":false,"mobility":{"mdmScope":{"kind":"all","groups":[]}},"domains":[{"name":"a.test","isVerified":false}],"quota":50}"#
        let after = #"{"maintenance":true,"mobility":{"mdmScope":{"kind":"some","groups":["g1"]}},"domains":[{"name":"a.test","isVerified":true}],"note":"x"}"#
        let c = AuditDiff.changes(before: before, after: after)
        #expect(c.map(\.field) == ["domains[a.test].isVerified", "maintenance", "mobility.mdmScope.groups", "mobility.mdmScope.kind", "note", "quota"])
        #expect(c.first { $0.field == "maintenance" } == AuditFieldChange(field: "maintenance", before: "false", after: "true"))
        #expect(c.first { $0.field == "mobility.mdmScope.groups" }?.after == #"["g1"]"#)
        #expect(c.first { $0.field == "note" }?.before == nil && c.first { $0.field == "quota" }?.after == nil)
        #expect(AuditDiff.changes(before: before, after: before).isEmpty)
        // A creation lists every field; a deletion every field gone.
        #expect(AuditDiff.changes(before: nil, after: #"{"a":1}"#) == [AuditFieldChange(field: "a", before: nil, after: "1")])
        #expect(AuditDiff.changes(before: #""old""#, after: nil) == [AuditFieldChange(field: "(value)", before: "\"old\"", after: nil)])
        // Elements without distinct names are numbered.
        let twins = AuditDiff.changes(before: #"{"r":[{"name":"x","v":1},{"name":"x","v":2}]}"#, after: #"{"r":[{"name":"x","v":1},{"name":"x","v":3}]}"#)
        #expect(twins.map(\.field) == ["r[1].v"])
    }
}
