import Foundation
import MouthpieceCore

/// A script as it is to be said: written dates, amounts of money and abbreviations spelled as a
/// person reads them in the script's language, and the key's lexicon applied (a name or brand
/// replaced by its respelling), with a map from every position of what is said back to the
/// script, so that words and captions show the script as written.
///
/// Rewritten here, before any engine, so that every engine reads them alike: engines read
/// numbers in words themselves, but each reads "6.12.2026", "25,50 €" or "Dr." its own way
/// (espeak-ng's German says "sechs Punkt zwölf Punkt...").
struct SpokenForm: Equatable {
    /// What the engine is given.
    let said: String
    /// For each Unicode scalar of `said`, and one past its end, the position in the script's
    /// scalars it stands for (a replacement's first scalar maps to the start of what it replaces,
    /// the rest to its end, so that a span of what is said maps to whole words of the script).
    let toText: [Int]
    /// The positions of `said` inside a replacement (all but its first): no word of the script
    /// starts there, so an engine's word that does belongs to the word before.
    let inside: Set<Int>

    /// Refuses a rewriting far longer than the script (a lexicon of long respellings for short
    /// words would get around the script's length limit).
    func check(against script: String) throws {
        let limit = max(2 * Script.maxCharacters, 2 * script.count)
        guard said.count <= limit else {
            throw MouthpieceError(
                .textTooLong,
                "With its lexicon respellings the script is \(said.count) characters to say; the limit is \(limit).",
                field: "text")
        }
    }

    /// Whether anything was rewritten.
    var changed: Bool { toText.count != said.unicodeScalars.count + 1 || !toText.enumerated().allSatisfy { $0 == $1 } }

    static func make(_ text: String, language: String, lexicon: [String: String]) -> SpokenForm {
        let scalars = Array(text.unicodeScalars)
        var replacements: [(range: Range<Int>, with: String)] = []
        func taken(_ range: Range<Int>) -> Bool { replacements.contains { $0.range.overlaps(range) } }
        func add(_ pattern: String, options: NSRegularExpression.Options = [], _ make: ([String?]) -> String?) {
            guard let expression = try? NSRegularExpression(pattern: pattern, options: options) else { return }
            let whole = NSRange(text.startIndex..., in: text)
            for match in expression.matches(in: text, range: whole) {
                let groups = (0..<match.numberOfRanges).map { k -> String? in
                    Range(match.range(at: k), in: text).map { String(text[$0]) }
                }
                guard let range = Range(match.range, in: text), let replacement = make(groups) else { continue }
                let from = text.unicodeScalars.distance(from: text.unicodeScalars.startIndex, to: range.lowerBound)
                let to = from + text[range].unicodeScalars.count
                if !taken(from..<to) { replacements.append((from..<to, replacement)) }
            }
        }
        // The lexicon first: a user's entry wins over any rule. Whole words, any case.
        // (A word boundary only where the word starts or ends with a Latin letter or a digit:
        // Japanese and Chinese run words together.)
        // (Not Character.isNumber: 京 and 兆 are numerals too.)
        func bounded(_ c: Character?) -> Bool { c.map { $0.isASCII && ($0.isLetter || $0.isNumber) } ?? false }
        for (word, respelling) in lexicon.sorted(by: { $0.key.count > $1.key.count }) where !word.isEmpty {
            add(
                (bounded(word.first) ? "(?<![\\p{L}\\p{N}])" : "") + NSRegularExpression.escapedPattern(for: word)
                    + (bounded(word.last) ? "(?![\\p{L}\\p{N}])" : ""),
                options: [.caseInsensitive]
            ) { _ in respelling }
        }
        let rules = Rules(language: language)
        if let rules {
            // Dates: 6.12.2026, 6/12/2026 (12/6/2026 in American English), 2026-12-06.
            add("(?<![\\d.,/])(\\d{1,2})[./](\\d{1,2})[./](\\d{4})(?![\\d])") { g in
                guard let a = Int(g[1] ?? ""), let b = Int(g[2] ?? ""), let year = g[3] else { return nil }
                let (day, month) = rules.monthFirst ? (b, a) : (a, b)
                return rules.date(day: day, month: month, year: year)
            }
            add("(?<![\\d-])(\\d{4})-(\\d{2})-(\\d{2})(?![\\d-])") { g in
                guard let year = g[1], let month = Int(g[2] ?? ""), let day = Int(g[3] ?? "") else { return nil }
                return rules.date(day: day, month: month, year: year)
            }
            // Money: $25.50, 25,50 €, €5, £3.20, 10 EUR.
            // Thousands grouped ("$1,000", "1.000 €") or not; cents two digits or none.
            let decimal = rules.decimalComma ? "," : "\\."
            let group = rules.decimalComma ? "\\." : ","
            let whole = "(\\d{1,3}(?:\(group)\\d{3})+|\\d+)"
            func digits(_ text: String?) -> String { (text ?? "").filter(\.isNumber) }
            add("([$€£])\\s?\(whole)(?:\(decimal)(\\d{2}))?(?![\\d]|[.,]\\d)") { g in
                rules.money(symbol: g[1] ?? "", whole: digits(g[2]), cents: g[3])
            }
            add("(?<![\\d.,])\(whole)(?:\(decimal)(\\d{2}))?\\s?(€|EUR|USD|GBP|\\$|£)(?![\\p{L}])") { g in
                let symbol = ["EUR": "€", "USD": "$", "GBP": "£"][g[3] ?? ""] ?? g[3] ?? ""
                return rules.money(symbol: symbol, whole: digits(g[1]), cents: g[2])
            }
            for (abbreviation, expansion) in rules.abbreviations {
                let end = abbreviation.last?.isLetter == true ? "(?![\\p{L}])" : ""
                add("(?<![\\p{L}])" + NSRegularExpression.escapedPattern(for: abbreviation) + end) { _ in expansion }
            }
        }
        replacements.sort { $0.range.lowerBound < $1.range.lowerBound }
        var said = String.UnicodeScalarView()
        var toText: [Int] = []
        var inside = Set<Int>()
        var position = 0
        for (range, replacement) in replacements {
            for k in position..<range.lowerBound {
                said.append(scalars[k])
                toText.append(k)
            }
            for (n, scalar) in replacement.unicodeScalars.enumerated() {
                if n > 0 { inside.insert(said.count) }
                said.append(scalar)
                toText.append(n == 0 ? range.lowerBound : range.upperBound)
            }
            position = range.upperBound
        }
        for k in position..<scalars.count {
            said.append(scalars[k])
            toText.append(k)
        }
        toText.append(scalars.count)
        return SpokenForm(said: String(said), toText: toText, inside: inside)
    }

    /// How a language writes dates, money and its common abbreviations out in words.
    struct Rules {
        let code: String
        let monthFirst: Bool
        let decimalComma: Bool
        let months: [String]
        let abbreviations: [(String, String)]

        init?(language: String) {
            let code = language.lowercased().replacingOccurrences(of: "_", with: "-")
            let base = String(code.prefix { $0 != "-" })
            self.code = base
            switch base {
            case "en":
                monthFirst = code == "en-us" || code == "en"
                decimalComma = false
                months = [
                    "January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
                    "November", "December",
                ]
                abbreviations = [
                    ("e.g.", "for example"), ("i.e.", "that is"), ("etc.", "et cetera."), ("vs.", "versus"),
                ]
            case "es":
                monthFirst = false
                decimalComma = true
                months = [
                    "enero", "febrero", "marzo", "abril", "mayo", "junio", "julio", "agosto", "septiembre", "octubre",
                    "noviembre", "diciembre",
                ]
                abbreviations = [
                    ("Sra.", "señora"), ("Srta.", "señorita"), ("Sr.", "señor"), ("Dra.", "doctora"), ("Dr.", "doctor"),
                    ("Ud.", "usted"), ("Uds.", "ustedes"), ("etc.", "etcétera."), ("p. ej.", "por ejemplo"),
                    ("EE. UU.", "Estados Unidos"),
                ]
            case "de":
                monthFirst = false
                decimalComma = true
                months = [
                    "Januar", "Februar", "März", "April", "Mai", "Juni", "Juli", "August", "September", "Oktober",
                    "November", "Dezember",
                ]
                abbreviations = [
                    ("Dr.", "Doktor"), ("Prof.", "Professor"), ("Hr.", "Herr"), ("Fr.", "Frau"),
                    ("z. B.", "zum Beispiel"),
                    ("z.B.", "zum Beispiel"), ("usw.", "und so weiter."), ("bzw.", "beziehungsweise"), ("ca.", "circa"),
                    ("Nr.", "Nummer"), ("d. h.", "das heißt"), ("d.h.", "das heißt"),
                ]
            case "fr":
                monthFirst = false
                decimalComma = true
                months = [
                    "janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre",
                    "novembre", "décembre",
                ]
                abbreviations = [("Mme", "madame"), ("Mlle", "mademoiselle"), ("M.", "monsieur"), ("Dr", "docteur")]
            default:
                return nil
            }
        }

        /// A day of the month as it is said in a date.
        func day(_ n: Int) -> String {
            switch code {
            case "en":
                let ordinals = [
                    "first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth", "tenth",
                    "eleventh", "twelfth", "thirteenth", "fourteenth", "fifteenth", "sixteenth", "seventeenth",
                    "eighteenth", "nineteenth", "twentieth", "twenty-first", "twenty-second", "twenty-third",
                    "twenty-fourth", "twenty-fifth", "twenty-sixth", "twenty-seventh", "twenty-eighth", "twenty-ninth",
                    "thirtieth", "thirty-first",
                ]
                return ordinals[n - 1]
            case "de":
                // "am sechsten Dezember": the ordinal as it follows "am", "vom", "bis zum".
                let ordinals = [
                    "ersten", "zweiten", "dritten", "vierten", "fünften", "sechsten", "siebten", "achten", "neunten",
                    "zehnten", "elften", "zwölften", "dreizehnten", "vierzehnten", "fünfzehnten", "sechzehnten",
                    "siebzehnten", "achtzehnten", "neunzehnten", "zwanzigsten", "einundzwanzigsten",
                    "zweiundzwanzigsten",
                    "dreiundzwanzigsten", "vierundzwanzigsten", "fünfundzwanzigsten", "sechsundzwanzigsten",
                    "siebenundzwanzigsten", "achtundzwanzigsten", "neunundzwanzigsten", "dreißigsten",
                    "einunddreißigsten",
                ]
                return ordinals[n - 1]
            case "fr": return n == 1 ? "premier" : String(n)
            default: return String(n)
            }
        }

        func date(day n: Int, month: Int, year: String) -> String? {
            guard (1...12).contains(month), (1...31).contains(n) else { return nil }
            let name = months[month - 1]
            switch code {
            case "en": return monthFirst ? "\(name) \(day(n)), \(year)" : "the \(day(n)) of \(name) \(year)"
            case "es": return "\(n == 1 ? "primero" : String(n)) de \(name) de \(year)"
            default: return "\(day(n)) \(name) \(year)"
            }
        }

        func money(symbol: String, whole: String, cents: String?) -> String? {
            guard let amount = Int(whole) else { return nil }
            let cent = cents.flatMap { Int($0) }.flatMap { $0 == 0 ? nil : $0 }
            let one = amount == 1
            switch (code, symbol) {
            case ("en", "$"):
                return "\(whole) \(one ? "dollar" : "dollars")"
                    + (cent.map { " and \($0) \($0 == 1 ? "cent" : "cents")" } ?? "")
            case ("en", "€"):
                return "\(whole) \(one ? "euro" : "euros")"
                    + (cent.map { " and \($0) \($0 == 1 ? "cent" : "cents")" } ?? "")
            case ("en", "£"): return "\(whole) \(one ? "pound" : "pounds")" + (cent.map { " and \($0) pence" } ?? "")
            case ("es", "$"):
                return "\(whole) \(one ? "dólar" : "dólares")" + (cent.map { " con \($0) centavos" } ?? "")
            case ("es", "€"): return "\(whole) \(one ? "euro" : "euros")" + (cent.map { " con \($0) céntimos" } ?? "")
            case ("es", "£"): return "\(whole) \(one ? "libra" : "libras")" + (cent.map { " con \($0) peniques" } ?? "")
            case ("de", "$"): return "\(whole) Dollar" + (cent.map { " \($0)" } ?? "")
            case ("de", "€"): return "\(whole) Euro" + (cent.map { " \($0)" } ?? "")
            case ("de", "£"): return "\(whole) Pfund" + (cent.map { " \($0)" } ?? "")
            case ("fr", "$"): return "\(whole) \(one ? "dollar" : "dollars")" + (cent.map { " \($0)" } ?? "")
            case ("fr", "€"): return "\(whole) \(one ? "euro" : "euros")" + (cent.map { " \($0)" } ?? "")
            case ("fr", "£"): return "\(whole) \(one ? "livre" : "livres")" + (cent.map { " \($0)" } ?? "")
            default: return nil
            }
        }
    }
}
