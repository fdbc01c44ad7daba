/// Autopilot device name templates (`deviceNameTemplate`): the rules Windows and Intune apply, checked all at once
/// so an administrator sees every problem in one go (SCENARIOS.md V01).
public struct DeviceNameTemplate: Sendable, Equatable {
    public enum Macro: Sendable, Equatable {
        case serial
        case random(digits: Int)
    }

    public enum Part: Sendable, Equatable {
        case literal(String)
        case macro(Macro)
    }

    public static let maxLength = 15

    public let text: String
    public let parts: [Part]

    /// Parses and validates; throws every broken rule.
    public init(_ text: String) throws(TemplateProblems) {
        self.text = text
        var problems: [String] = []
        var parts: [Part] = []
        var literal = ""
        var i = text.startIndex
        while i < text.endIndex {
            let c = text[i]
            if c == "%", let close = text[text.index(after: i)...].firstIndex(of: "%") {
                let name = String(text[text.index(after: i)..<close])
                if !literal.isEmpty { parts.append(.literal(literal)); literal = "" }
                switch Self.macro(name) {
                case .success(let m): parts.append(.macro(m))
                case .failure(let why): problems.append(why.message)
                }
                i = text.index(after: close)
                continue
            }
            literal.append(c)
            i = text.index(after: i)
        }
        if !literal.isEmpty { parts.append(.literal(literal)) }
        self.parts = parts

        if text.isEmpty { problems.append("The template is empty; enter a name such as CONTOSO-%SERIAL%.") }
        let literals = parts.compactMap { if case .literal(let l) = $0 { l } else { nil } }.joined()
        if literals.contains(where: \.isWhitespace) {
            problems.append("Names can't contain spaces.")
        }
        let bad = Set(literals.filter { !($0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-")) && !$0.isWhitespace })
        if !bad.isEmpty {
            problems.append("Only letters, digits and hyphens are allowed; remove \(bad.sorted().map { "'\($0)'" }.joined(separator: ", ")).")
        }
        let macros = parts.compactMap { if case .macro(let m) = $0 { m } else { nil } }
        if macros.count > 1 { problems.append("Use at most one macro (%SERIAL% or %RAND:x%).") }
        let fixed = literals.count
        for m in macros {
            switch m {
            case .serial:
                if fixed >= Self.maxLength {
                    problems.append("The text around %SERIAL% is \(fixed) characters, which leaves no room for the serial number within 15.")
                }
            case .random(let x):
                if fixed + x > Self.maxLength {
                    problems.append("The generated name would be \(fixed + x) characters (\(fixed) of text plus \(x) random digits); the limit is 15.")
                }
            }
        }
        if macros.isEmpty && fixed > Self.maxLength {
            problems.append("The name is \(fixed) characters; the limit is 15.")
        }
        let allDigitsText = !literals.isEmpty && literals.allSatisfy(\.isNumber)
        let onlyRandom = macros.allSatisfy { if case .random = $0 { true } else { false } }
        if onlyRandom && (allDigitsText || (literals.isEmpty && !macros.isEmpty)) {
            problems.append("Names can't be all digits; add a letter or a hyphen.")
        }
        if !problems.isEmpty { throw TemplateProblems(problems: problems) }
    }

    static func macro(_ name: String) -> Result<Macro, MacroError> {
        if name == "SERIAL" { return .success(.serial) }
        if name.hasPrefix("RAND:") {
            let digits = name.dropFirst(5)
            guard let x = Int(digits), x >= 1, digits.allSatisfy(\.isNumber) else {
                return .failure(MacroError("%\(name)% needs a number of digits, like %RAND:4%."))
            }
            return .success(.random(digits: x))
        }
        if name.uppercased() == "SERIAL" || name.uppercased().hasPrefix("RAND:") {
            return .failure(MacroError("Macros must be upper case: write %\(name.uppercased())% instead of %\(name)%."))
        }
        return .failure(MacroError("%\(name)% is not a macro; use %SERIAL% or %RAND:x%."))
    }

    struct MacroError: Error { let message: String; init(_ m: String) { message = m } }

    /// The name a device with this serial number gets. The serial keeps its last characters when it must be cut
    /// (Windows cuts from the front); random digits come from `random`.
    public func expand(serial: String, random: () -> Int = { Int.random(in: 0...9) }) -> String {
        let fixed = parts.reduce(0) { if case .literal(let l) = $1 { $0 + l.count } else { $0 } }
        var out = ""
        for p in parts {
            switch p {
            case .literal(let l): out += l
            case .macro(.serial): out += String(serial.suffix(max(0, Self.maxLength - fixed)))
            case .macro(.random(let x)): out += (0..<x).map { _ in String(random()) }.joined()
            }
        }
        return out
    }
}

extension DeviceNameTemplate.MacroError: @unchecked Sendable {}

public struct TemplateProblems: Error, Sendable, Equatable, CustomStringConvertible {
    public var problems: [String]
    public var description: String { problems.joined(separator: " ") }
}
