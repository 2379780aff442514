import Foundation
import MouthpieceCore

#if canImport(FoundationXML)
    import FoundationXML
#endif

/// A script written in SSML (`<speak>...</speak>`): pauses (`<break time="500ms"/>` or
/// `strength`), `<emphasis>`, `<prosody rate pitch volume>`, `<say-as interpret-as>`,
/// `<sub alias>` (the alias is spoken, the text shown), `<p>` and `<s>`. espeak-ng honours them;
/// this checks them first (well-formed, known elements, pauses of at most 10 s) and gives the text
/// as it reads (the markup removed, entities decoded) with a map from every position of the markup
/// to the shown text, for words and captions.
struct ScriptMarkup: Equatable {
    /// The script with the markup removed: what words and captions show.
    let shown: String
    /// For each Unicode scalar of the markup, and one past its end: the position in `shown`.
    let toShown: [Int]

    static let elements: Set<String> = ["speak", "break", "emphasis", "prosody", "say-as", "sub", "p", "s"]
    static let longestBreak = 10.0

    /// Whether `text` (trimmed) is SSML rather than plain words.
    static func isMarkup(_ text: String) -> Bool { text.hasPrefix("<speak") }

    static func parse(_ markup: String) throws -> ScriptMarkup {
        try check(markup)
        let scalars = Array(markup.unicodeScalars)
        var shown = String.UnicodeScalarView()
        var toShown: [Int] = []
        var i = 0
        while i < scalars.count {
            if scalars[i] == "<" {
                // A tag shows nothing: it stands where the next shown character goes.
                while i < scalars.count && scalars[i] != ">" {
                    toShown.append(shown.count)
                    i += 1
                }
                if i < scalars.count {
                    toShown.append(shown.count)
                    i += 1
                }
            } else if scalars[i] == "&", let end = scalars[i...].prefix(12).firstIndex(of: ";"),
                let decoded = entity(String(String.UnicodeScalarView(scalars[(i + 1)..<end])))
            {
                for _ in i...end { toShown.append(shown.count) }
                shown.append(decoded)
                i = end + 1
            } else {
                toShown.append(shown.count)
                shown.append(scalars[i])
                i += 1
            }
        }
        toShown.append(shown.count)
        return ScriptMarkup(shown: String(shown), toShown: toShown)
    }

    private static func entity(_ name: String) -> Unicode.Scalar? {
        switch name {
        case "amp": return "&"
        case "lt": return "<"
        case "gt": return ">"
        case "quot": return "\""
        case "apos": return "'"
        default:
            if name.hasPrefix("#x"), let v = UInt32(name.dropFirst(2), radix: 16) { return Unicode.Scalar(v) }
            if name.hasPrefix("#"), let v = UInt32(name.dropFirst()) { return Unicode.Scalar(v) }
            return nil
        }
    }

    /// Refuses markup that is not well formed, an element espeak-ng would skip silently, or a
    /// pause longer than `longestBreak`.
    private static func check(_ markup: String) throws {
        let parser = XMLParser(data: Data(markup.utf8))
        let checker = Checker()
        parser.delegate = checker
        let parsed = parser.parse()
        if checker.problem == nil && !checker.open.isEmpty {
            checker.problem = "<\(checker.open.last!)> is not closed."
        }
        guard parsed, checker.problem == nil else {
            throw MouthpieceError(
                .invalidParameter,
                "The script's SSML markup is not usable: "
                    + (checker.problem ?? "it is not well formed (\(parser.parserError?.localizedDescription ?? "")).")
                    + " Allowed: <speak>, <break time=\"500ms\"/>, <emphasis>, <prosody>, <say-as>, <sub alias>, <p>, <s>.",
                field: "text")
        }
    }

    private final class Checker: NSObject, XMLParserDelegate {
        var problem: String?
        /// The elements open at this point, outermost first.
        var open: [String] = []

        func parser(
            _ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?,
            attributes: [String: String] = [:]
        ) {
            defer { open.append(name) }
            guard problem == nil else { return }
            if open.isEmpty && name != "speak" { problem = "the markup must be one <speak> element." }
            if !open.isEmpty && name == "speak" { problem = "<speak> cannot be nested." }
            guard ScriptMarkup.elements.contains(name) else {
                problem = "<\(name)> is not an element this engine speaks."
                return
            }
            if name == "break", let time = attributes["time"] {
                guard let seconds = ScriptMarkup.seconds(time) else {
                    problem = "break time \"\(time)\" is not a duration (\"500ms\", \"1.5s\")."
                    return
                }
                if seconds > ScriptMarkup.longestBreak {
                    problem = "a break is at most \(Int(ScriptMarkup.longestBreak)) s."
                }
            }
            if name == "sub" && attributes["alias"] == nil { problem = "<sub> needs an alias to speak." }
        }

        func parser(
            _ parser: XMLParser, didEndElement name: String, namespaceURI: String?, qualifiedName: String?
        ) {
            if open.last == name {
                open.removeLast()
            } else if problem == nil {
                problem = "</\(name)> does not close <\(open.last ?? "")>."
            }
        }
    }

    /// "500ms", "1.5s" in seconds.
    static func seconds(_ time: String) -> Double? {
        let value = time.trimmingCharacters(in: .whitespaces)
        if value.hasSuffix("ms"), let ms = Double(value.dropLast(2)), ms >= 0 { return ms / 1000 }
        if value.hasSuffix("s"), let s = Double(value.dropLast()), s >= 0 { return s }
        return nil
    }
}
