/// Finds error codes in any text, in every spelling people paste: `0x80180003`, `80180003`, `801c0003`, the
/// mistyped `0x80180002b`, unsigned (`2149056522`) and negative (`-2145910774`) decimals, codes inside event XML,
/// JSON or `dsregcmd` output, event ids (`Event ID 76`, `<EventID>807</EventID>`) and symbolic names.
///
/// One pass over the bytes, no regular expressions: logs of hundreds of megabytes are scanned at memory speed.
public struct CodeScanner: Sendable {
    public struct Findings: Sendable, Equatable {
        /// HRESULTs the knowledge base explains, in order of first appearance.
        public var hresults: [UInt32] = []
        /// Other Windows codes: standard ones (`WindowsCodes`) and any error HRESULT spelled `0x…`; named, no cause.
        public var others: [UInt32] = []
        public var events: [Int] = []
        /// Knowledge-base identifiers (lower-cased): names, `import:806`, `oobeidps` …
        public var identifiers: [String] = []
        /// Spellings that look like codes but are not in the knowledge base.
        public var unrecognized: [String] = []

        public var isEmpty: Bool { hresults.isEmpty && events.isEmpty && identifiers.isEmpty }
    }

    let kb: KnowledgeBase
    /// FNV-1a hashes of lower-cased identifiers, to avoid building strings for ordinary words.
    let identifierHashes: Set<UInt64>
    static let eventWord = fnv(Array("event".utf8)), eventIDWord = fnv(Array("eventid".utf8))
    static let codeWord = fnv(Array("code".utf8))

    public init(kb: KnowledgeBase) {
        self.kb = kb
        var hashes: Set<UInt64> = []
        for e in kb.entries {
            for n in e.names + e.codes where !n.hasPrefix("0x") {
                let key = n.lowercased()
                let word = key.split(separator: ":").last.map(String.init) ?? key
                hashes.insert(Self.fnv(Array(word.utf8)))
            }
        }
        for name in WindowsCodes.byName.keys { hashes.insert(Self.fnv(Array(name.utf8))) }
        identifierHashes = hashes
    }

    @inline(__always) static func fnv(_ bytes: some Sequence<UInt8>) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in bytes { h = (h ^ UInt64(lower(b))) &* 0x100_0000_01b3 }
        return h
    }

    @inline(__always) static func lower(_ b: UInt8) -> UInt8 { (b >= 65 && b <= 90) ? b + 32 : b }
    @inline(__always) static func hexValue(_ b: UInt8) -> UInt32? {
        switch b {
        case 48...57: UInt32(b - 48)
        case 65...70: UInt32(b - 55)
        case 97...102: UInt32(b - 87)
        default: nil
        }
    }
    @inline(__always) static func isWord(_ b: UInt8) -> Bool {
        (b >= 48 && b <= 57) || (b >= 65 && b <= 90) || (b >= 97 && b <= 122) || b == 95
    }

    /// Facilities whose codes are worth reporting as unrecognized: MDM enrollment, HTTP, registration, Win32, ADAL, TPM.
    static func looksLikeHRESULT(_ v: UInt32) -> Bool {
        let top = v >> 16
        return [0x8018, 0x8019, 0x801C, 0x8007, 0x8009, 0x8028, 0x8029, 0x8103, 0xC103, 0x80CF, 0x8000].contains(top)
            || (v >> 20) == 0xCAA
    }

    public func scan(_ text: String) -> Findings {
        var copy = text
        return copy.withUTF8 { scan($0) }
    }

    public func scan(_ b: UnsafeBufferPointer<UInt8>) -> Findings {
        var f = Findings()
        var seenH = Set<UInt32>(), seenE = Set<Int>(), seenI = Set<String>(), seenU = Set<String>()
        func addH(_ v: UInt32, prefixed: Bool = false, spelling: @autoclosure () -> String) {
            if kb.entry(hresult: v) != nil {
                if seenH.insert(v).inserted { f.hresults.append(v) }
            } else if WindowsCodes.isKnown(v) {
                if seenH.insert(v).inserted { f.others.append(v) }
            } else if prefixed && WindowsCodes.isFailure(v) {
                // Named by its bits only: listed among the codes, and as not recognised.
                if seenH.insert(v).inserted { f.others.append(v) }
                let s = spelling()
                if seenU.insert(s).inserted { f.unrecognized.append(s) }
            } else if Self.looksLikeHRESULT(v) {
                let s = spelling()
                if seenU.insert(s).inserted { f.unrecognized.append(s) }
            }
        }
        func hexString(_ v: UInt32) -> String { HexFormat.code(v) }
        let n = b.count
        var i = 0
        while i < n {
            let c = b[i]
            if !Self.isWord(c) { i += 1; continue }
            // A word starts here (the previous byte is not a word byte).
            var j = i
            while j < n && Self.isWord(b[j]) { j += 1 }
            let len = j - i
            let prev: UInt8 = i > 0 ? b[i - 1] : 0x20
            let next: UInt8 = j < n ? b[j] : 0x20
            defer { i = j }
            // 0x-prefixed hex.
            if len >= 3, c == 48, b[i + 1] | 0x20 == 120 {
                let digits = len - 2
                var v: UInt64 = 0, allHex = true
                for k in (i + 2)..<j { guard let h = Self.hexValue(b[k]) else { allHex = false; break }; v = v << 4 | UInt64(h) }
                guard allHex else { continue }
                if digits == 8 { addH(UInt32(v), prefixed: true, spelling: "0x" + String(decoding: b[(i + 2)..<j], as: UTF8.self)) }
                else if digits == 9, let fixed = typoFix(b, i + 2, j) { addH(fixed, spelling: "") }
                else if digits == 9 { let s = String(decoding: b[i..<j], as: UTF8.self); if seenU.insert(s).inserted { f.unrecognized.append(s) } }
                continue
            }
            // Bare hex or decimal runs; GUID pieces (next to '-') are not codes.
            if (len == 8 || len == 9 || len == 10), prev != 45 || len == 10, next != 45 {
                var hexV: UInt64 = 0, allHex = true, allDigits = true
                for k in i..<j {
                    guard let h = Self.hexValue(b[k]) else { allHex = false; allDigits = false; break }
                    if h > 9 { allDigits = false }
                    hexV = hexV << 4 | UInt64(h)
                }
                if len == 8 && allHex {
                    let v = UInt32(hexV)
                    if kb.entry(hresult: v) != nil || WindowsCodes.isKnown(v) { addH(v, spelling: "") }
                    continue
                }
                if len == 9 && allHex, let fixed = typoFix(b, i, j) { addH(fixed, spelling: ""); continue }
                if len == 10 && allDigits {
                    var d: UInt64 = 0
                    for k in i..<j { d = d * 10 + UInt64(b[k] - 48) }
                    let negative = prev == 45 && (i < 2 || !Self.isWord(b[i - 2]))
                    var v: UInt64?
                    if negative, d > 0, d <= 2_147_483_648 { v = (1 << 32) - d }
                    else if !negative, d >= 2_147_483_648, d <= 4_294_967_295 { v = d }
                    if let v, kb.entry(hresult: UInt32(v)) != nil || WindowsCodes.isKnown(UInt32(v)) || Self.looksLikeHRESULT(UInt32(v)) {
                        addH(UInt32(v), spelling: (negative ? "-" : "") + String(decoding: b[i..<j], as: UTF8.self))
                    }
                    continue
                }
            }
            // Words: event ids after "event"/"eventid", import codes after "code", identifiers.
            guard len >= 4, !(c >= 48 && c <= 57) else { continue }
            let h = Self.fnv(UnsafeBufferPointer(rebasing: b[i..<j]))
            if h == Self.eventWord || h == Self.eventIDWord || h == Self.codeWord {
                var k = j, hops = 0
                while k < n, hops < 12, [32, 9, 58, 35, 61, 34, 39, 62, 105, 73, 100, 68, 40].contains(b[k]) { k += 1; hops += 1 }
                var num = 0, digits = 0
                while k < n, b[k] >= 48, b[k] <= 57, digits < 6 { num = num * 10 + Int(b[k] - 48); k += 1; digits += 1 }
                if digits >= 2 {
                    if h == Self.codeWord {
                        if let e = kb.entry(identifier: "import:\(num)"), seenI.insert("import:\(num)").inserted { _ = e; f.identifiers.append("import:\(num)") }
                    } else if kb.entry(event: num) != nil, seenE.insert(num).inserted {
                        f.events.append(num)
                    }
                }
                continue
            }
            if identifierHashes.contains(h) {
                let word = String(decoding: b[i..<j], as: UTF8.self).lowercased()
                if kb.entry(identifier: word) != nil {
                    if seenI.insert(word).inserted { f.identifiers.append(word) }
                } else if let v = WindowsCodes.byName[word], seenH.insert(v).inserted {
                    // A standard code written by its name (E_FAIL, ERROR_WINHTTP_TIMEOUT …).
                    f.others.append(v)
                }
            }
        }
        return f
    }

    /// `80180002b` → `8018002b`: Microsoft's own documentation prints event 76's code with one `0` too many.
    func typoFix(_ b: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int) -> UInt32? {
        for drop in (start + 4)..<(start + 8) where b[drop] == 48 {
            var v: UInt32 = 0
            for k in start..<end where k != drop { guard let h = Self.hexValue(b[k]) else { return nil }; v = v << 4 | h }
            if kb.entry(hresult: v) != nil { return v }
        }
        return nil
    }
}

public enum HexFormat {
    /// `0x80180003`: upper-case, eight digits.
    public static func code(_ v: UInt32) -> String {
        let s = String(v, radix: 16, uppercase: true)
        return "0x" + String(repeating: "0", count: max(0, 8 - s.count)) + s
    }
}
