import Foundation
import Voice

/// A phoneme and when it sounds, in seconds (IPA symbol, as espeak-ng names it).
public struct PhoneSpan: Equatable, Sendable {
    public let symbol: String
    public let start: Double
    public let end: Double
    /// When the lips are shut for it (a bilabial), if they are.
    public let closure: ClosedRange<Double>?

    public init(symbol: String, start: Double, end: Double, closure: ClosedRange<Double>?) {
        self.symbol = symbol
        self.start = start
        self.end = end
        self.closure = closure
    }
}

/// What the lips do for one phoneme.
struct Articulation: Equatable {
    var shape: MouthShape
    /// A consonant made with the tongue or throat: the lips take their width and rounding from
    /// the vowel that follows ("s" in "soon" is already rounded).
    var lipsFree = false
    /// A vowel (its opening follows the voice's loudness).
    var vowel = false
}

/// The mouth shape for each IPA symbol espeak-ng uses in its languages.
///
/// Vowels by height, backness and rounding (the IPA chart: close "i" to open "a"; rounded "y",
/// "u", "o"...); diphthongs move from their first vowel to their second. Consonants by where the
/// lips are: bilabials shut ("p b m"), labiodentals tuck the lower lip under the upper teeth
/// ("f v"), rounded ones pucker ("w", "ʃ"), sibilants bare the teeth ("s z"), and the tongue and
/// throat consonants ("t d n l k g h"...) leave the lips to their neighbours.
enum PhonemeShapes {
    /// (opening 0 close ... 1 open, spread -1...1, rounding 0...1)
    static let vowels: [Character: (Double, Double, Double)] = [
        "i": (0.05, 0.8, 0), "y": (0.05, -0.3, 0.85), "ɨ": (0.1, 0.3, 0), "ʉ": (0.1, -0.2, 0.7),
        "ɯ": (0.1, 0.2, 0), "u": (0.05, -0.4, 0.95), "ɪ": (0.2, 0.6, 0), "ᵻ": (0.2, 0.5, 0),
        "ʏ": (0.2, -0.2, 0.6), "ʊ": (0.2, -0.2, 0.6), "e": (0.35, 0.6, 0), "ø": (0.35, -0.2, 0.7),
        "ɘ": (0.35, 0.2, 0), "ɵ": (0.35, -0.1, 0.5), "ɤ": (0.35, 0.1, 0), "o": (0.45, -0.3, 0.8),
        "ə": (0.35, 0, 0), "ɚ": (0.35, -0.1, 0.3), "ɛ": (0.6, 0.5, 0), "œ": (0.6, -0.1, 0.5),
        "ɜ": (0.55, 0.1, 0), "ɝ": (0.5, -0.1, 0.35), "ɞ": (0.55, -0.1, 0.4), "ʌ": (0.65, 0, 0),
        "ɔ": (0.7, -0.2, 0.6), "æ": (0.8, 0.5, 0), "ɐ": (0.7, 0, 0), "a": (0.95, 0.2, 0),
        "ɶ": (0.9, -0.1, 0.4), "ɑ": (1.0, 0, 0), "ɒ": (0.9, -0.1, 0.4),
    ]

    static func vowel(_ c: Character) -> Articulation? {
        guard let (open, spread, rounding) = vowels[c] else { return nil }
        return Articulation(
            shape: MouthShape(
                jawOpen: 0.35 + 0.8 * open, lipGap: 0.6 + 0.6 * open, spread: spread, rounding: rounding,
                upperLipRaise: max(0, spread) * 0.25),
            vowel: true)
    }

    static func consonant(_ c: Character) -> Articulation {
        switch c {
        case "p", "b", "m", "ɓ", "ʙ":
            return Articulation(shape: MouthShape(jawOpen: 0.1))
        case "ɸ", "β":
            return Articulation(shape: MouthShape(jawOpen: 0.1, lipGap: 0.05, rounding: 0.2))
        case "f", "v", "ɱ", "ʋ":
            return Articulation(shape: MouthShape(jawOpen: 0.12, lipGap: 0.12, upperLipRaise: 0.2, lowerLipTuck: 0.9))
        case "w", "ʍ", "ɥ":
            return Articulation(shape: MouthShape(jawOpen: 0.12, lipGap: 0.15, spread: -0.5, rounding: 0.95))
        case "ʃ", "ʒ", "ɕ", "ʑ", "ʂ", "ʐ":
            return Articulation(
                shape: MouthShape(jawOpen: 0.1, lipGap: 0.2, spread: -0.3, rounding: 0.65, upperLipRaise: 0.35))
        case "s", "z", "ʦ", "ʣ":
            return Articulation(
                shape: MouthShape(jawOpen: 0.06, lipGap: 0.18, spread: 0.3, upperLipRaise: 0.45), lipsFree: true)
        case "θ", "ð":
            return Articulation(shape: MouthShape(jawOpen: 0.18, lipGap: 0.28), lipsFree: true)
        case "j":
            return Articulation(shape: MouthShape(jawOpen: 0.18, lipGap: 0.28, spread: 0.5))
        case "ɹ", "ɻ":
            return Articulation(shape: MouthShape(jawOpen: 0.22, lipGap: 0.3, spread: -0.2, rounding: 0.35))
        case "k", "g", "ɡ", "ŋ", "x", "ɣ", "q", "ɢ", "χ", "ʁ", "ʀ", "ɰ", "ɴ":
            return Articulation(shape: MouthShape(jawOpen: 0.3, lipGap: 0.38), lipsFree: true)
        case "h", "ɦ", "ʔ", "ħ", "ʕ":
            return Articulation(shape: MouthShape(jawOpen: 0.35, lipGap: 0.45), lipsFree: true)
        default:
            // t d n l r ɾ ɲ ʎ c ɟ ʈ ɖ ɳ ɭ ɬ ɮ ... : the tongue's work; the lips stay a little apart.
            return Articulation(shape: MouthShape(jawOpen: 0.22, lipGap: 0.3), lipsFree: true)
        }
    }

    /// The symbol's letters, without length marks, stress, tone and diacritics.
    static func letters(_ symbol: String) -> [Character] {
        // Decomposed first: "ä" is "a" and a diaeresis, "ũ" is "u" and a tilde.
        symbol.decomposedStringWithCanonicalMapping.unicodeScalars.filter { scalar in
            switch scalar.properties.generalCategory {
            case .lowercaseLetter, .uppercaseLetter, .otherLetter: return true
            default: return false
            }
        }.map { Character(String($0).lowercased()) }
    }

    /// The articulations of a phoneme, in order (two for a diphthong).
    static func articulations(_ symbol: String) -> [Articulation] {
        // "(en)": espeak-ng switching language for a word, not a sound.
        if symbol.hasPrefix("(") { return [] }
        let chars = letters(symbol)
        let vowelParts = chars.compactMap(vowel)
        if !vowelParts.isEmpty { return Array(vowelParts.prefix(2)) }
        guard !chars.isEmpty else { return [] }
        // Clusters and affricates ("tʃ", "pf", "ts"): the lips' part decides.
        let parts = chars.map(consonant)
        if let lips = parts.first(where: { !$0.lipsFree }) { return [lips] }
        return [parts.last!]
    }
}

extension MouthShape {
    /// The shape the lips take for one IPA symbol (a diphthong's first vowel), at full loudness;
    /// nil for a symbol that is not a sound. For previews of a portrait's mouth.
    public static func articulation(of symbol: String) -> MouthShape? {
        PhonemeShapes.articulations(symbol).first?.shape
    }
}

/// A mouth-shape track from the script's phonemes and their exact times (espeak-ng's events),
/// with the same coarticulation as the audio path (`MouthShapeTrack.finish`): every control
/// smoothed without lag and led, and the lips shut on every bilabial.
///
/// The voice's loudness, when given, scales the opening of vowels a little (stressed syllables
/// open wider), and gates it: nothing opens in silence.
public struct PhonemeMouthTrack: Sendable {
    public var base = MouthShapeTrack()

    public init() {}

    public func shapes(for phones: [PhoneSpan], frameCount: Int, fps: Int, voice: VoiceFeatures? = nil) -> [MouthShape]
    {
        guard frameCount > 0 else { return [] }
        let frameTime = 1 / Double(fps)
        // Each phoneme's articulations over its span (a diphthong's first part takes 55 %).
        var segments: [(start: Double, end: Double, articulation: Articulation)] = []
        for phone in phones where phone.end > phone.start {
            let parts = PhonemeShapes.articulations(phone.symbol)
            if parts.count == 2 {
                let middle = phone.start + 0.55 * (phone.end - phone.start)
                segments.append((phone.start, middle, parts[0]))
                segments.append((middle, phone.end, parts[1]))
            } else if let only = parts.first {
                segments.append((phone.start, phone.end, only))
            }
        }
        // Lips that are free take the next vowel's width and rounding (anticipation).
        var nextVowel: Articulation?
        for k in segments.indices.reversed() {
            if segments[k].articulation.vowel {
                nextVowel = segments[k].articulation
            } else if segments[k].articulation.lipsFree, let vowel = nextVowel {
                segments[k].articulation.shape.spread =
                    0.3 * segments[k].articulation.shape.spread
                    + 0.7 * vowel.shape.spread
                segments[k].articulation.shape.rounding = max(
                    segments[k].articulation.shape.rounding, 0.8 * vowel.shape.rounding)
            }
            // A pause longer than 250 ms ends the anticipation.
            if k > 0, segments[k].start - segments[k - 1].end > 0.25 { nextVowel = nil }
        }

        var raw = MouthShapeTrack.Controls(count: frameCount)
        var closures = [Double](repeating: 0, count: frameCount)
        // Loudness: 0 in silence, up to 1 at the clip's speech peak.
        let loudness: [Double]? = voice.map { features in
            let levels = features.speechLevels(absoluteSilence: base.absoluteSilence)
            return features.frames.map { levels.openness($0.loudness) }
        }
        // Pauses the voice makes (120 ms or more below its speech gate) rest the mouth, whatever
        // phoneme espeak-ng's timing stretches over them.
        var pause = [Bool](repeating: false, count: frameCount)
        if let loudness {
            let run = max(1, Int((0.12 * Double(fps)).rounded()))
            var start = 0
            while start < frameCount {
                guard start < loudness.count, loudness[start] == 0 else {
                    start += 1
                    continue
                }
                var end = start
                while end < min(frameCount, loudness.count) && loudness[end] == 0 { end += 1 }
                if end - start >= run { for i in start..<end { pause[i] = true } }
                start = end
            }
        }
        var k = 0
        for i in 0..<frameCount {
            if pause[i] { continue }
            let (t0, t1) = (Double(i) * frameTime, Double(i + 1) * frameTime)
            while k < segments.count && segments[k].end <= t0 { k += 1 }
            // The frame's target: the phonemes sounding during it, weighted by how long they do.
            var j = k
            var weight = 0.0
            var sum = MouthShape()
            while j < segments.count && segments[j].start < t1 {
                let overlap = min(t1, segments[j].end) - max(t0, segments[j].start)
                if overlap > 0 {
                    var shape = segments[j].articulation.shape
                    if segments[j].articulation.vowel, let loudness, i < loudness.count {
                        let scale = loudness[i] > 0 ? 0.3 + 0.7 * pow(loudness[i], 0.75) : 0.15
                        shape.jawOpen *= scale
                        shape.lipGap *= scale
                    }
                    sum.jawOpen += shape.jawOpen * overlap
                    sum.lipGap += shape.lipGap * overlap
                    sum.spread += shape.spread * overlap
                    sum.rounding += shape.rounding * overlap
                    sum.upperLipRaise += shape.upperLipRaise * overlap
                    sum.lowerLipTuck += shape.lowerLipTuck * overlap
                    weight += overlap
                }
                j += 1
            }
            // The rest of the frame is silence: the mouth at rest.
            let share = 1 / max(frameTime, weight)
            raw.jaw[i] = sum.jawOpen * share
            raw.gap[i] = sum.lipGap * share
            raw.spread[i] = sum.spread * share
            raw.rounding[i] = sum.rounding * share
            raw.raise[i] = sum.upperLipRaise * share
            raw.tuck[i] = sum.lowerLipTuck * share
        }
        for phone in phones {
            guard let closure = phone.closure else { continue }
            let first = max(0, Int((closure.lowerBound / frameTime).rounded(.down)))
            let last = min(frameCount - 1, Int((closure.upperBound / frameTime).rounded(.up)) - 1)
            guard first <= last else { continue }
            for i in first...last { closures[i] = 1 }
        }
        return base.finish(
            raw, closures: MouthShapeTrack.hold(closures, fps: fps, minimum: base.minimumClosure), fps: fps)
    }
}
