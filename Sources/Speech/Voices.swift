import Foundation
import MouthpieceCore

/// The speech engines a script can be spoken by.
public enum SpeechEngine: String, Codable, Sendable, CaseIterable {
    /// espeak-ng's formant voices: every language, intelligible, robotic (linked as a library).
    case espeakNG = "espeak-ng"
    /// The Festival Speech Synthesis System (Debian `festival`): English, run as a program.
    case festival
    /// Open JTalk (Debian `open-jtalk`): Japanese, HTS voices, run as a program.
    case openJTalk = "open-jtalk"
}

/// One voice a script can be asked for by `id`, with what a person choosing needs to know.
public struct SpeechVoice: Codable, Equatable, Sendable {
    /// What `voice` names ("festival-slt"); an espeak-ng variant is named as it is ("f3").
    public let id: String
    public let engine: SpeechEngine
    /// The language codes it speaks ("en-us"), as `language` names them.
    public let languages: [String]
    public let gender: Gender
    public let tier: Tier
    /// What it is, in a few words.
    public let description: String
    /// The licence of the voice's data.
    public let licence: String
    /// Whether its engine and data are installed on this machine.
    public let available: Bool
    /// The languages it speaks when a script names no voice (set by `Voices.catalogue`).
    public internal(set) var defaultFor: [String] = []

    enum CodingKeys: String, CodingKey {
        case id, engine, languages, gender, tier, description, licence, available
        case defaultFor = "default_for"
    }

    init(
        id: String, engine: SpeechEngine, languages: [String], gender: Gender, tier: Tier, description: String,
        licence: String, available: Bool
    ) {
        (self.id, self.engine, self.languages, self.gender, self.tier) = (id, engine, languages, gender, tier)
        (self.description, self.licence, self.available) = (description, licence, available)
    }

    public enum Gender: String, Codable, Sendable { case female, male }

    /// How natural it sounds, by measurement (docs/VOICES.md): `natural` (statistical parametric,
    /// HTS), `standard` (diphone concatenation), `basic` (formant synthesis).
    public enum Tier: String, Codable, Sendable, Comparable {
        case basic, standard, natural
        public static func < (a: Tier, b: Tier) -> Bool {
            [SpeechVoice.Tier.basic, .standard, .natural].firstIndex(of: a)! < [Tier.basic, .standard, .natural]
                .firstIndex(of: b)!
        }
    }
}

/// The voices beyond espeak-ng's, where they are installed, and which one speaks a script.
public enum Voices {
    /// Where a voice's data lies: `MOUTHPIECE_VOICE_DIR` first, then the shared folders
    /// `scripts/install-deps.sh` writes to.
    static var dataFolders: [String] {
        let environment = ProcessInfo.processInfo.environment
        return [
            environment["MOUTHPIECE_VOICE_DIR"], "/usr/local/share/mouthpiece/voices", "/usr/share/mouthpiece/voices",
        ]
        .compactMap { $0 }
    }

    /// A program, by `MOUTHPIECE_<NAME>` (so that a test or an operator can point elsewhere, or at
    /// nothing), else the system's.
    static func program(_ name: String, environment key: String, default path: String) -> String {
        ProcessInfo.processInfo.environment[key] ?? path
    }

    static var festival: String {
        program("festival", environment: "MOUTHPIECE_FESTIVAL", default: "/usr/bin/festival")
    }
    static var openJTalk: String {
        program("open_jtalk", environment: "MOUTHPIECE_OPEN_JTALK", default: "/usr/bin/open_jtalk")
    }
    static let openJTalkDictionary = "/var/lib/mecab/dic/open-jtalk/naist-jdic"

    /// The Open JTalk voice file ("mei/mei_normal.htsvoice"), if one is installed.
    static func openJTalkVoiceFile() -> String? {
        dataFolders.map { $0 + "/mei/mei_normal.htsvoice" }.first { FileManager.default.isReadableFile(atPath: $0) }
    }

    /// The voices other engines than espeak-ng bring, with whether each is installed now.
    public static func catalogue() -> [SpeechVoice] {
        let files = FileManager.default
        let festivalThere = files.isExecutableFile(atPath: festival)
        var voices = [
            SpeechVoice(
                id: "festival-slt", engine: .festival, languages: ["en-us", "en"], gender: .female, tier: .natural,
                description: "American English, CMU ARCTIC 'slt', an HTS voice in Festival",
                licence: "BSD-style (CMU ARCTIC, HTS)",
                available: festivalThere && files.fileExists(atPath: FestivalVoice.slt.folder)),
            SpeechVoice(
                id: "festival-kal", engine: .festival, languages: ["en-us", "en"], gender: .male, tier: .standard,
                description: "American English, CSTR 'kal', a diphone voice in Festival",
                licence: "Festival's free licence (CSTR, OGI)",
                available: festivalThere && files.fileExists(atPath: FestivalVoice.kal.folder)),
            SpeechVoice(
                id: "openjtalk-mei", engine: .openJTalk, languages: ["ja"], gender: .female, tier: .natural,
                description: "Japanese, 'Mei' (MMDAgent), an HTS voice in Open JTalk; reads kanji and numbers",
                licence: "CC BY 3.0 (Nagoya Institute of Technology)",
                available: files.isExecutableFile(atPath: openJTalk)
                    && files.fileExists(atPath: openJTalkDictionary) && openJTalkVoiceFile() != nil),
        ]
        for k in voices.indices {
            voices[k].defaultFor = voices[k].languages.filter { preferred(for: $0, in: voices)?.id == voices[k].id }
        }
        return voices
    }

    /// espeak-ng's own voice, in every language it has (`languages` is "*"), as the list shows it.
    static let espeakVoice = SpeechVoice(
        id: espeakDefault, engine: .espeakNG, languages: ["*"], gender: .male, tier: .basic,
        description: "espeak-ng's formant voice in every language it has; variants (f1-f5, m1-m7...) change it",
        licence: "GPL-3.0 (espeak-ng)", available: true)

    /// Everything a script may ask for: espeak-ng's languages and variants, and every voice.
    public struct Listing: Encodable, Sendable {
        public let languages: [SpeechLanguage]
        public let variants: [String]
        public let voices: [SpeechVoice]
    }

    public static func listing() throws -> Listing {
        Listing(
            languages: try SpeechSynthesizer.languages(), variants: try SpeechSynthesizer.variants(),
            voices: catalogue() + [espeakVoice])
    }

    /// The id that asks for espeak-ng's own voice of a language, without a variant.
    public static let espeakDefault = "espeak-ng"

    /// The voice a language gets when none is asked for: the most natural one installed, else
    /// espeak-ng's (nil).
    public static func preferred(for language: String, in catalogue: [SpeechVoice]) -> SpeechVoice? {
        let wanted = language.lowercased().replacingOccurrences(of: "_", with: "-")
        return catalogue.filter { $0.available && $0.languages.contains(wanted) }.max { $0.tier < $1.tier }
    }

    /// Which engine speaks `script` and, for another than espeak-ng, which of its voices: the one
    /// asked for (refused when it does not speak the language or is not installed), else the
    /// language's preferred voice, else espeak-ng (the fallback).
    static func choose(for script: Script) throws -> SpeechVoice? {
        let catalogue = catalogue()
        let wanted = script.language.lowercased().replacingOccurrences(of: "_", with: "-")
        guard let id = script.voice, !id.isEmpty else {
            return preferred(for: wanted, in: catalogue)
        }
        guard let voice = catalogue.first(where: { $0.id == id }) else { return nil }
        guard voice.languages.contains(wanted) else {
            throw MouthpieceError(
                .unsupportedVoice,
                "The voice \"\(id)\" speaks \(voice.languages.joined(separator: ", ")), not \"\(script.language)\".",
                field: "voice")
        }
        guard voice.available else {
            let install =
                voice.engine == .festival
                ? "Debian's festival and festvox-us-slt-hts / festvox-kallpc16k"
                : "Debian's open-jtalk and open-jtalk-mecab-naist-jdic, and the Mei voice (scripts/install-deps.sh)"
            throw MouthpieceError(
                .modelUnavailable,
                "The voice \"\(id)\" is not installed here (it needs \(install)). Leave voice out to fall back to the best installed voice.",
                field: "voice")
        }
        return voice
    }
}

/// Festival's voices this engine uses.
enum FestivalVoice {
    case slt, kal

    var folder: String {
        switch self {
        case .slt: "/usr/share/festival/voices/us/cmu_us_slt_arctic_hts"
        case .kal: "/usr/share/festival/voices/english/kal_diphone"
        }
    }

    init?(id: String) {
        switch id {
        case "festival-slt": self = .slt
        case "festival-kal": self = .kal
        default: return nil
        }
    }
}
