import Foundation
import MouthpieceCore

#if canImport(FoundationXML)
    import FoundationXML
#endif

/// A script written in SSML (`<speak>...</speak>`): pauses (`<break time="500ms"/>` or
/// `strength`), `<emphasis>`, `<prosody rate pitch volume>`, `<say-as interpret-as>`,
/// `<sub alias>` (the alias is spoken, the text shown), `<p>` and `<s>`.
///
/// The markup is parsed and written out again for espeak-ng from what was understood: only these
/// elements, only their known attributes with values of a known shape, text escaped; comments,
/// processing instructions and CDATA are refused. espeak-ng's own SSML reader is laxer than XML
/// (it ends a comment at the first `>`, finds `time=` inside other attributes' values, and has
/// elements that read files), so it never sees the user's markup itself. The result also gives
/// the text as it reads (the markup removed), with a map from every position of the markup
/// espeak-ng gets to the shown text, for words and captions.
struct ScriptMarkup: Equatable {
    /// The markup espeak-ng is given.
    let markup: String
    /// The script with the markup removed: what words and captions show.
    let shown: String
    /// For each Unicode scalar of `markup`, and one past its end: the position in `shown`.
    let toShown: [Int]

    static let longestBreak = 10.0

    /// Whether `text` (trimmed) is SSML rather than plain words.
    static func isMarkup(_ text: String) -> Bool { text.hasPrefix("<speak") }

    /// What the parser read, in order.
    enum Event {
        case start(String, [(String, String)])
        case end(String)
        case text(String)
    }

    static func parse(_ source: String) throws -> ScriptMarkup {
        let parser = XMLParser(data: Data(source.utf8))
        let reader = Reader()
        parser.delegate = reader
        let parsed = parser.parse()
        if reader.problem == nil && !reader.open.isEmpty { reader.problem = "<\(reader.open.last!)> is not closed." }
        guard parsed, reader.problem == nil else {
            throw MouthpieceError(
                .invalidParameter,
                "The script's SSML markup is not usable: "
                    + (reader.problem ?? "it is not well formed (\(parser.parserError?.localizedDescription ?? "")).")
                    + " Allowed: <speak>, <break time=\"500ms\"/>, <emphasis>, <prosody>, <say-as>, <sub alias>, <p>, <s>.",
                field: "text")
        }
        // Written out again: tags stand where the next shown character goes; text is escaped, and
        // an escaped character maps all its scalars to the one it shows.
        var markup = String.UnicodeScalarView()
        var shown = String.UnicodeScalarView()
        var toShown: [Int] = []
        func tag(_ text: String) {
            for scalar in text.unicodeScalars {
                markup.append(scalar)
                toShown.append(shown.count)
            }
        }
        for event in reader.events {
            switch event {
            case .start(let name, let attributes):
                let written = attributes.map { " \($0.0)=\"\($0.1)\"" }.joined()
                tag(name == "break" ? "<break\(written)/>" : "<\(name)\(written)>")
            case .end(let name):
                if name != "break" { tag("</\(name)>") }
            case .text(let text):
                for scalar in text.unicodeScalars {
                    let escaped: String? =
                        switch scalar {
                        case "&": "&amp;"
                        case "<": "&lt;"
                        case ">": "&gt;"
                        default: nil
                        }
                    for s in escaped?.unicodeScalars ?? String(scalar).unicodeScalars {
                        markup.append(s)
                        toShown.append(shown.count)
                    }
                    shown.append(scalar)
                }
            }
        }
        toShown.append(shown.count)
        return ScriptMarkup(markup: String(markup), shown: String(shown), toShown: toShown)
    }

    /// Keeps the elements and attributes espeak-ng is given, each attribute value checked.
    private final class Reader: NSObject, XMLParserDelegate {
        var problem: String?
        /// The elements open at this point, outermost first.
        var open: [String] = []
        var events: [Event] = []

        static let strengths: Set<String> = ["none", "x-weak", "weak", "medium", "strong", "x-strong"]
        static let levels: Set<String> = ["strong", "moderate", "none", "reduced"]
        static let prosodyWords: Set<String> = [
            "x-slow", "slow", "medium", "fast", "x-fast", "default", "x-low", "low", "high", "x-high", "silent",
            "x-soft", "soft", "loud", "x-loud",
        ]

        func fail(_ message: String) { if problem == nil { problem = message } }

        func parser(
            _ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?,
            attributes: [String: String] = [:]
        ) {
            defer { open.append(name) }
            if open.isEmpty && name != "speak" { fail("the markup must be one <speak> element.") }
            if !open.isEmpty && name == "speak" { fail("<speak> cannot be nested.") }
            var kept: [(String, String)] = []
            func value(_ attribute: String, _ valid: (String) -> String?) {
                guard let given = attributes[attribute] else { return }
                guard let checked = valid(given) else {
                    fail("<\(name) \(attribute)=\"\(given)\"> is not a value this engine takes.")
                    return
                }
                kept.append((attribute, checked))
            }
            switch name {
            case "speak", "p", "s":
                break
            case "break":
                value("time") { time in
                    guard let seconds = ScriptMarkup.seconds(time) else { return nil }
                    guard seconds <= ScriptMarkup.longestBreak else {
                        self.fail("a break is at most \(Int(ScriptMarkup.longestBreak)) s.")
                        return "0ms"
                    }
                    // espeak-ng reads whole numbers only: milliseconds.
                    return "\(Int((seconds * 1000).rounded()))ms"
                }
                value("strength") { Self.strengths.contains($0) ? $0 : nil }
            case "emphasis":
                value("level") { Self.levels.contains($0) ? $0 : nil }
            case "prosody":
                for attribute in ["rate", "pitch", "volume"] {
                    value(attribute) { given in
                        if Self.prosodyWords.contains(given) { return given }
                        let number = given.range(
                            of: #"^[+-]?[0-9]{1,3}(\.[0-9]{1,2})?(%|st|Hz)?$"#, options: .regularExpression)
                        return number != nil ? given : nil
                    }
                }
            case "say-as":
                value("interpret-as") { given in
                    given.range(of: #"^[a-z][a-z:-]{0,19}$"#, options: .regularExpression) != nil ? given : nil
                }
            case "sub":
                guard attributes["alias"] != nil else {
                    fail("<sub> needs an alias to speak.")
                    break
                }
                value("alias") { given in
                    given.unicodeScalars.contains { "<>&\"'=".unicodeScalars.contains($0) } || given.count > 200
                        ? nil : given
                }
            default:
                fail("<\(name)> is not an element this engine speaks.")
            }
            events.append(.start(name, kept))
        }

        func parser(
            _ parser: XMLParser, didEndElement name: String, namespaceURI: String?, qualifiedName: String?
        ) {
            if open.last == name {
                open.removeLast()
            } else {
                fail("</\(name)> does not close <\(open.last ?? "")>.")
            }
            events.append(.end(name))
        }

        func parser(_ parser: XMLParser, foundCharacters string: String) {
            if open.isEmpty && !string.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty {
                fail("text outside <speak>.")
            }
            events.append(.text(string))
        }

        func parser(_ parser: XMLParser, foundComment comment: String) { fail("comments are not allowed.") }

        func parser(_ parser: XMLParser, foundCDATA CDATABlock: Data) { fail("CDATA sections are not allowed.") }

        func parser(_ parser: XMLParser, foundProcessingInstructionWithTarget target: String, data: String?) {
            fail("processing instructions are not allowed.")
        }
    }

    /// "500ms", "1.5s" in seconds.
    static func seconds(_ time: String) -> Double? {
        let value = time.trimmingCharacters(in: .whitespaces)
        let number: Substring
        let scale: Double
        if value.hasSuffix("ms") {
            (number, scale) = (value.dropLast(2), 0.001)
        } else if value.hasSuffix("s") {
            (number, scale) = (value.dropLast(), 1)
        } else {
            return nil
        }
        guard number.range(of: #"^[0-9]{1,6}(\.[0-9]{1,3})?$"#, options: .regularExpression) != nil,
            let amount = Double(number)
        else { return nil }
        return amount * scale
    }
}
