import Foundation

/// `multipart/form-data` (RFC 7578) for the console's file uploads: each part's name and content. A file's bytes are
/// kept exactly as sent, as ISO-8859-1 text (one scalar per byte), so an ANSI file survives until its reader decodes it.
enum Multipart {
    /// The boundary named by a Content-Type header, if it is multipart/form-data.
    static func boundary(_ contentType: String?) -> String? {
        guard let ct = contentType, ct.lowercased().hasPrefix("multipart/form-data") else { return nil }
        for param in ct.split(separator: ";").dropFirst() {
            let kv = param.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            if kv.count == 2, kv[0].lowercased() == "boundary" {
                let b = kv[1].hasPrefix("\"") && kv[1].hasSuffix("\"") && kv[1].count >= 2 ? String(kv[1].dropFirst().dropLast()) : kv[1]
                return (1...70).contains(b.count) ? b : nil
            }
        }
        return nil
    }

    /// Every part in order; nil when the body is not well formed.
    static func parse(_ body: [UInt8], boundary: String) -> [(String, String)]? {
        let delimiter = Array(("--" + boundary).utf8)
        var starts: [Int] = []
        var i = 0
        while let at = find(delimiter, in: body, from: i) {
            starts.append(at)
            i = at + delimiter.count
        }
        guard starts.count >= 2 else { return nil }
        var out: [(String, String)] = []
        for (a, b) in zip(starts, starts.dropFirst()) {
            var p = a + delimiter.count
            guard p + 2 <= body.count, body[p] == 0x0D, body[p + 1] == 0x0A else { return nil }
            p += 2
            guard let headEnd = find(Array("\r\n\r\n".utf8), in: body, from: p), headEnd < b else { return nil }
            let head = String(decoding: body[p..<headEnd], as: UTF8.self)
            // The content ends with the CRLF before the next delimiter.
            let contentEnd = b - 2
            guard contentEnd >= headEnd + 4, body[contentEnd] == 0x0D, body[contentEnd + 1] == 0x0A else { return nil }
            guard let name = dispositionName(head) else { return nil }
            let content = body[(headEnd + 4)..<contentEnd]
            out.append((name, String(content.map { Character(Unicode.Scalar($0)) })))
        }
        return out
    }

    /// The bytes of a value that `parse` returned.
    static func bytes(_ value: String) -> [UInt8] { value.unicodeScalars.map { UInt8(truncatingIfNeeded: $0.value) } }

    static func dispositionName(_ head: String) -> String? {
        for line in head.split(separator: "\r\n") where line.lowercased().hasPrefix("content-disposition:") {
            for param in line.split(separator: ";").dropFirst() {
                let kv = param.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
                if kv.count == 2, kv[0].lowercased() == "name" { return kv[1].trimmingCharacters(in: CharacterSet(charactersIn: "\"")) }
            }
        }
        return nil
    }

    static func find(_ needle: [UInt8], in hay: [UInt8], from: Int) -> Int? {
        guard !needle.isEmpty, hay.count >= needle.count, from <= hay.count - needle.count else { return nil }
        var i = from
        let first = needle[0]
        while i <= hay.count - needle.count {
            if hay[i] == first, hay[i..<(i + needle.count)].elementsEqual(needle) { return i }
            i += 1
        }
        return nil
    }
}
