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
    /// The script in spans of one style, for engines that read plain text (Festival, Open JTalk):
    /// each spoken on its own at its rate, pitch and loudness, after its pause.
    let pieces: [Piece]

    /// A span of the script in one style.
    struct Piece: Equatable {
        /// What is said (a `<sub>`'s alias, `<say-as interpret-as="characters">` spelled out).
        var said = ""
        /// For each Unicode scalar of `said`, and one past its end, the position in `shown`.
        var toShown: [Int] = []
        /// Positions of `said` inside a replacement (a `<sub>`'s alias but its first word): no word
        /// of the shown text starts there.
        var inside: Set<Int> = []
        /// Silence before it, in seconds (breaks, paragraphs).
        var pause = 0.0
        var style = Style()
    }

    /// How a span is said, against the script's own settings.
    struct Style: Equatable {
        var rate = 1.0
        var halfTones = 0.0
        var gain = 1.0
    }

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
        return ScriptMarkup(
            markup: String(markup), shown: String(shown), toShown: toShown, pieces: pieces(of: reader.events))
    }

    /// The events as pieces of one style each, with the pauses between them.
    static func pieces(of events: [Event]) -> [Piece] {
        var pieces: [Piece] = []
        var styles: [Style] = [Style()]
        var pause = 0.0
        var shownCount = 0
        // Inside <sub>: its alias and where its shown text starts; inside a spelled <say-as>.
        var sub: (alias: String, from: Int)?
        var spelling = 0
        func add(_ said: String, shown range: Range<Int>) {
            let style = styles.last!
            if pause == 0, let last = pieces.last, last.style == style {
                pieces[pieces.count - 1].toShown.removeLast()
            } else {
                pieces.append(Piece(said: "", toShown: [], pause: pause, style: style))
                pause = 0
            }
            let scalars = Array(said.unicodeScalars)
            let oneToOne = scalars.count == range.count
            // A replacement: up to its first letter it stands at the shown span's start; the rest
            // at its end, inside it.
            let first = scalars.firstIndex { !$0.properties.isWhitespace } ?? scalars.count
            let base = pieces[pieces.count - 1].said.unicodeScalars.count
            for k in scalars.indices {
                if oneToOne || k <= first {
                    pieces[pieces.count - 1].toShown.append(oneToOne ? range.lowerBound + k : range.lowerBound)
                } else {
                    pieces[pieces.count - 1].toShown.append(range.upperBound)
                    pieces[pieces.count - 1].inside.insert(base + k)
                }
            }
            pieces[pieces.count - 1].said += said
            pieces[pieces.count - 1].toShown.append(range.upperBound)
        }
        for event in events {
            switch event {
            case .start(let name, let attributes):
                let value = { (key: String) in attributes.first { $0.0 == key }?.1 }
                var style = styles.last!
                switch name {
                case "break":
                    let strengths = [
                        "none": 0, "x-weak": 0.1, "weak": 0.25, "medium": 0.4, "strong": 0.7, "x-strong": 1.2,
                    ]
                    pause += value("time").flatMap(seconds) ?? value("strength").flatMap { strengths[$0] } ?? 0.4
                case "p", "s":
                    if !pieces.isEmpty { pause = max(pause, name == "p" ? 0.35 : 0.15) }
                case "emphasis":
                    switch value("level") ?? "moderate" {
                    case "strong":
                        (style.rate, style.gain, style.halfTones) = (
                            style.rate * 0.8, style.gain * 1.6, style.halfTones + 2
                        )
                    case "reduced":
                        (style.rate, style.gain, style.halfTones) = (
                            style.rate * 1.1, style.gain * 0.75, style.halfTones - 1
                        )
                    case "none": break
                    default:
                        (style.rate, style.gain, style.halfTones) = (
                            style.rate * 0.88, style.gain * 1.3, style.halfTones + 1
                        )
                    }
                case "prosody":
                    if let rate = value("rate") { style.rate *= prosodyRate(rate) }
                    if let pitch = value("pitch") { style.halfTones += prosodyPitch(pitch) }
                    if let volume = value("volume") { style.gain *= prosodyVolume(volume) }
                case "sub":
                    sub = (value("alias") ?? "", shownCount)
                case "say-as":
                    if ["characters", "spell-out", "verbatim"].contains(value("interpret-as") ?? "") { spelling += 1 }
                default: break
                }
                if name != "break" { styles.append(style) }
            case .end(let name):
                if name == "break" { continue }
                if name == "sub", let (alias, from) = sub {
                    add(" " + alias + " ", shown: from..<shownCount)
                    sub = nil
                }
                if name == "say-as", spelling > 0 { spelling -= 1 }
                if name == "p" { pause = max(pause, 0.35) }
                if styles.count > 1 { styles.removeLast() }
            case .text(let text):
                let from = shownCount
                shownCount += text.unicodeScalars.count
                guard sub == nil else { continue }
                if spelling > 0 {
                    add(text.map { $0.isLetter ? " \($0) " : String($0) }.joined(), shown: from..<shownCount)
                } else {
                    add(text, shown: from..<shownCount)
                }
            }
        }
        // A pause after the last words is silence at the end.
        if pause > 0 { pieces.append(Piece(said: "", toShown: [shownCount], pause: pause)) }
        return pieces
    }

    /// `<prosody rate>` as a factor: words, or a percentage of the script's rate ("80%", "+10%").
    static func prosodyRate(_ value: String) -> Double {
        let words = ["x-slow": 0.6, "slow": 0.8, "medium": 1, "default": 1, "fast": 1.25, "x-fast": 1.6]
        if let word = words[value] { return word }
        guard let number = Double(value.trimmingCharacters(in: CharacterSet(charactersIn: "%+"))) else { return 1 }
        let factor = value.hasPrefix("+") || value.hasPrefix("-") ? 1 + number / 100 : number / 100
        return min(3, max(0.3, factor))
    }

    /// `<prosody pitch>` in half-tones: words, "+10%", "-2st" (Hz are left to the voice).
    static func prosodyPitch(_ value: String) -> Double {
        let words = ["x-low": -6.0, "low": -3, "medium": 0, "default": 0, "high": 3, "x-high": 6]
        if let word = words[value] { return word }
        if value.hasSuffix("st") { return Double(value.dropLast(2)) ?? 0 }
        if value.hasSuffix("%"), let percent = Double(value.dropLast()) {
            return 12 * log2(max(0.25, 1 + percent / 100))
        }
        return 0
    }

    /// `<prosody volume>` as a gain: words, or "+10%".
    static func prosodyVolume(_ value: String) -> Double {
        let words = ["silent": 0.0, "x-soft": 0.3, "soft": 0.6, "medium": 1, "default": 1, "loud": 1.5, "x-loud": 2]
        if let word = words[value] { return word }
        if value.hasSuffix("%"), let percent = Double(value.dropLast()) { return max(0, 1 + percent / 100) }
        return 1
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
