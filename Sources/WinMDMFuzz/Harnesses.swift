import Foundation
import MDMPKI
import MDMService
import MDMTroubleshoot
import MDMWire

/// libFuzzer harnesses for every decoder that reads what strangers and devices send. One binary; the harness is
/// chosen by `WINMDM_FUZZ_TARGET` (soap, syncml, csr, pkcs7, explain, odata). Built and run by `Fuzz/run.sh`.
///
/// A harness fails only by crashing (a trap, an overflow, a sanitizer report): every input must come back as a
/// value or a thrown error.
enum Harness: String, CaseIterable {
    case soap, syncml, csr, pkcs7, explain, odata

    static let selected: Harness = {
        let name = ProcessInfo.processInfo.environment["WINMDM_FUZZ_TARGET"] ?? ""
        guard let h = Harness(rawValue: name) else {
            FileHandle.standardError.write(Data("Set WINMDM_FUZZ_TARGET to one of: \(allCases.map(\.rawValue).joined(separator: ", ")).\n".utf8))
            exit(2)
        }
        return h
    }()

    static let explainer = Explainer()

    func run(_ bytes: [UInt8]) {
        switch self {
        case .soap:
            // Discovery, XCEP and WSTEP share the envelope; each decoder gets every envelope, then redaction.
            if let env = try? SOAPEnvelope(bytes: bytes) {
                _ = try? DiscoverRequest(env)
                _ = try? GetPoliciesRequest(env)
                if let rst = try? RequestSecurityToken(env) { _ = rst.context("DeviceID"); _ = try? CertificateRequest(der: rst.token) }
                _ = SOAPFault.decode(env)
            }
            _ = Redaction.excerpt(bytes)
        case .syncml:
            if let m = try? SyncMLMessage(bytes: bytes) { _ = try? SyncMLMessage(bytes: Array(m.encode().utf8)) }
        case .csr:
            _ = try? CertificateRequest(der: bytes)
        case .pkcs7:
            _ = try? SignedRenewalRequest(der: bytes)
        case .explain:
            _ = Self.explainer.explain(String(decoding: bytes, as: UTF8.self))
        case .odata:
            // Text as query options over a small listing: $filter, $select, $top, $skiptoken, split at newlines.
            let lines = String(decoding: bytes, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
            var query: [String: String] = [:]
            for (key, value) in zip(["$filter", "$select", "$top", "$skiptoken"], lines) { query[key] = value }
            let items: [JSONObject] = (0..<5).map { ["id": "\($0)", "displayName": "Item \($0)", "accountEnabled": $0 % 2 == 0, "count": $0] }
            _ = try? OData.page(items, query: query, path: "users", baseURL: "https://localhost/graph/v1.0")
        }
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    Harness.selected.run(Array(UnsafeBufferPointer(start: data, count: size)))
    return 0
}
