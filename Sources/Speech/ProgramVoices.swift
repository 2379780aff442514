import Foundation
import Media
import MouthpieceCore

/// Festival and Open JTalk, run as programs in a temporary folder: each writes a WAV and tells
/// every phone's time (Festival's Segment relation, Open JTalk's label trace) and every word it
/// read, which are mapped back to the script's own words. Their phone sets are turned into the
/// IPA symbols espeak-ng uses, so the mouth reads them the same way.
enum ProgramVoices {
    /// The rate phrases are spoken at when `Script.rate` is the default.
    static func speed(_ script: Script) -> Double { Double(script.rate) / Double(Script.defaultRate) }

    /// Half-tones up or down for `Script.pitch` (50 is the voice's own; 0 and 100 an octave's half).
    static func halfTones(_ script: Script) -> Double { Double(script.pitch - 50) / 50 * 6 }

    static func speak(_ script: Script, voice: SpeechVoice) throws -> SpokenText {
        let written = script.text.trimmingCharacters(in: .whitespacesAndNewlines)
        let form = SpokenForm.make(written, language: script.language, lexicon: script.lexicon)
        let text = form.said
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent(
            "mouthpiece-voice-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let wav = folder.appendingPathComponent("speech.wav").path
        let (phones, units): ([Phoneme], [WordUnit])
        switch voice.engine {
        case .festival:
            (phones, units) = try festival(text, voice: FestivalVoice(id: voice.id) ?? .slt, script: script, wav: wav)
        case .openJTalk:
            (phones, units) = try openJTalk(text, script: script, folder: folder.path, wav: wav)
        case .espeakNG:
            throw MouthpieceError(.internalError, "espeak-ng is not run as a program.")
        }
        let audio = try AudioDecoder.decode(path: wav, sampleRate: 24_000, limits: .init(minDuration: 0))
        return SpokenText(
            audio: audio, phonemes: phones,
            words: WordUnit.words(of: text, from: units, duration: audio.duration, form: form, written: written),
            voice: voice.id)
    }

    // MARK: Festival

    static func festival(_ text: String, voice: FestivalVoice, script: Script, wav: String) throws -> (
        [Phoneme], [WordUnit]
    ) {
        // A string in Festival's Scheme: backslashes and quotes escaped.
        let quoted = text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
        let setUp: String
        switch voice {
        case .slt:
            setUp = """
                (voice_cmu_us_slt_arctic_hts)
                (set! hts_engine_params (append cmu_us_slt_arctic_hts::hts_engine_params
                  (list (list "-r" \(speed(script))) (list "-fm" \(halfTones(script))))))
                """
        case .kal:
            setUp = """
                (voice_kal_diphone)
                (Parameter.set 'Duration_Stretch \(1 / speed(script)))
                """
        }
        let program = """
            \(setUp)
            (set! utt (utt.synth (Utterance Text "\(quoted)")))
            (utt.save.wave utt "\(wav)" 'riff)
            (mapcar (lambda (s) (format t "S %s %f\\n" (item.name s) (item.feat s "end")))
              (utt.relation.items utt 'Segment))
            (set! tok (utt.relation.first utt 'Token))
            (while tok
              (format t "T %s\\n" (item.name tok))
              (mapcar (lambda (w) (format t "W %f %f\\n"
                  (item.feat w "R:SylStructure.daughter1.daughter1.R:Segment.p.end")
                  (item.feat w "R:SylStructure.daughtern.daughtern.end")))
                (item.daughters tok))
              (set! tok (item.next tok)))
            """
        let output = try run(Voices.festival, ["--batch", "--pipe"], input: program, engine: "Festival")
        var segments: [(name: String, end: Double)] = []
        var units: [WordUnit] = []
        for line in output.split(separator: "\n") {
            let parts = line.split(separator: " ", omittingEmptySubsequences: false)
            switch parts.first {
            case "S" where parts.count == 3:
                if let end = Double(parts[2]) { segments.append((String(parts[1]), end)) }
            case "T":
                units.append(WordUnit(surface: parts.dropFirst().joined(separator: " "), start: 0, end: 0))
            case "W" where parts.count == 3 && !units.isEmpty:
                // Punctuation is a word with no syllables: 0 0.
                guard let start = Double(parts[1]), let end = Double(parts[2]), end > 0 else { continue }
                let last = units.count - 1
                units[last].start = units[last].end > 0 ? units[last].start : start
                units[last].end = end
            default: continue
            }
        }
        guard FileManager.default.fileExists(atPath: wav) else {
            throw MouthpieceError(.internalError, "Festival wrote no speech: \(output.suffix(300))")
        }
        var phones: [Phoneme] = []
        var previous = 0.0
        for (name, end) in segments {
            defer { previous = end }
            guard name != "pau", let symbol = radio[name] else { continue }
            phones.append(phone(symbol, start: previous, end: end))
        }
        return (phones, units.filter { $0.end > 0 })
    }

    /// Festival's American phone set ("radio") in IPA.
    static let radio: [String: String] = [
        "aa": "ɑː", "ae": "æ", "ah": "ʌ", "ao": "ɔː", "aw": "aʊ", "ax": "ə", "axr": "ɚ", "ay": "aɪ", "b": "b",
        "ch": "tʃ", "d": "d", "dh": "ð", "eh": "ɛ", "er": "ɜː", "ey": "eɪ", "f": "f", "g": "ɡ", "hh": "h", "ih": "ɪ",
        "iy": "iː", "jh": "dʒ", "k": "k", "l": "l", "m": "m", "n": "n", "ng": "ŋ", "ow": "oʊ", "oy": "ɔɪ", "p": "p",
        "r": "ɹ", "s": "s", "sh": "ʃ", "t": "t", "th": "θ", "uh": "ʊ", "uw": "uː", "v": "v", "w": "w", "y": "j",
        "z": "z", "zh": "ʒ",
    ]

    /// A phone whose span starts with its closure (a stop's silence, then its burst at the end),
    /// unlike espeak-ng's, which start at the burst.
    static func phone(_ symbol: String, start: Double, end: Double, closedFrom: Double? = nil) -> Phoneme {
        let from = closedFrom ?? start
        let shut: ClosedRange<Double>? =
            symbol.hasPrefix("m") ? from...end : from...max(from, min(end, max(start + 0.02, end - 0.015)))
        return Phoneme(symbol: symbol, start: start, end: end, closure: shut)
    }

    // MARK: Open JTalk

    static func openJTalk(_ text: String, script: Script, folder: String, wav: String) throws -> (
        [Phoneme], [WordUnit]
    ) {
        guard let voiceFile = Voices.openJTalkVoiceFile() else {
            throw MouthpieceError(.modelUnavailable, "The Open JTalk voice is not installed.", field: "voice")
        }
        let input = folder + "/text.txt"
        let trace = folder + "/trace.txt"
        // One line: Open JTalk reads a file line by line.
        try Data(text.replacingOccurrences(of: "\n", with: " ").utf8).write(to: URL(fileURLWithPath: input))
        _ = try run(
            Voices.openJTalk,
            [
                "-x", Voices.openJTalkDictionary, "-m", voiceFile, "-ow", wav, "-ot", trace,
                "-r", String(speed(script)), "-fm", String(halfTones(script)), input,
            ], input: nil, engine: "Open JTalk")
        let lines = (try? String(contentsOfFile: trace, encoding: .utf8))?.split(separator: "\n") ?? []
        // [Text analysis result]: a word per line, "surface,...,pronunciation,accent/morae,...".
        // [Output label]: "start end context" in 100 ns, the phone between '-' and '+'.
        var words: [(surface: String, morae: Int)] = []
        var labels: [(name: String, start: Double, end: Double)] = []
        var section = ""
        for line in lines {
            if line.hasPrefix("[") {
                section = String(line)
                continue
            }
            if section == "[Text analysis result]" {
                let fields = line.split(separator: ",", omittingEmptySubsequences: false)
                guard fields.count >= 13,
                    let morae = fields[fields.count - 3].split(separator: "/").last.flatMap({ Int($0) })
                else { continue }
                words.append((fields[0..<(fields.count - 12)].joined(separator: ","), morae))
            } else if section == "[Output label]" {
                let parts = line.split(separator: " ", maxSplits: 2)
                guard parts.count == 3, let start = Double(parts[0]), let end = Double(parts[1]),
                    let minus = parts[2].firstIndex(of: "-"), let plus = parts[2].firstIndex(of: "+")
                else { continue }
                labels.append((String(parts[2][parts[2].index(after: minus)..<plus]), start / 1e7, end / 1e7))
            }
        }
        guard FileManager.default.fileExists(atPath: wav), !labels.isEmpty else {
            throw MouthpieceError(.internalError, "Open JTalk wrote no speech for the script.")
        }
        let sounds = labels.filter { $0.name != "sil" && $0.name != "pau" }
        var phones: [Phoneme] = []
        for (k, label) in sounds.enumerated() {
            // A doubled consonant's hold ("cl") is the next consonant held: lips shut before a /p/.
            let name = label.name == "cl" && k + 1 < sounds.count ? sounds[k + 1].name : label.name
            guard let symbol = jtalk[name] else { continue }
            let held = k > 0 && sounds[k - 1].name == "cl" ? sounds[k - 1].start : nil
            phones.append(phone(symbol, start: label.start, end: label.end, closedFrom: held))
        }
        // Words by their morae: each vowel, "N" and "cl" ends one.
        var units: [WordUnit] = []
        var next = 0
        for word in words where word.morae > 0 {
            var counted = 0
            var start: Double?
            var end = 0.0
            while next < sounds.count && counted < word.morae {
                let sound = sounds[next]
                start = start ?? sound.start
                end = sound.end
                if "aiueoAIUEO".contains(sound.name) || sound.name == "N" || sound.name == "cl" { counted += 1 }
                next += 1
            }
            guard let start else { break }
            units.append(WordUnit(surface: word.surface, start: start, end: end))
        }
        return (phones, units)
    }

    /// Open JTalk's phones in IPA (a devoiced vowel, in capitals, shapes the lips as its voiced one).
    static let jtalk: [String: String] = [
        "a": "a", "i": "i", "u": "ɯ", "e": "e", "o": "o", "A": "a", "I": "i", "U": "ɯ", "E": "e", "O": "o",
        "N": "ɴ", "k": "k", "g": "ɡ", "s": "s", "sh": "ɕ", "z": "z", "j": "dʑ", "t": "t", "ch": "tɕ", "ts": "ts",
        "d": "d", "n": "n", "h": "h", "f": "ɸ", "b": "b", "p": "p", "m": "m", "y": "j", "r": "ɾ", "w": "ɰ",
        "v": "v", "ky": "kʲ", "gy": "ɡʲ", "ny": "ɲ", "hy": "ç", "by": "bʲ", "py": "pʲ", "my": "mʲ", "ry": "ɾʲ",
        "dy": "dʲ", "ty": "tʲ",
    ]

    // MARK: Running a program

    static func run(_ path: String, _ arguments: [String], input: String?, engine: String) throws -> String {
        guard FileManager.default.isExecutableFile(atPath: path) else {
            throw MouthpieceError(.modelUnavailable, "\(engine) is not installed (\(path)).", field: "voice")
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
        let output = Pipe()
        let stdin = Pipe()
        process.standardOutput = output
        process.standardError = output
        process.standardInput = input == nil ? FileHandle.nullDevice : stdin
        try process.run()
        if let input {
            // Written from another thread: a long output must not block on a full pipe meanwhile.
            let handle = stdin.fileHandleForWriting
            let data = Data(input.utf8)
            Thread.detachNewThread {
                handle.write(data)
                try? handle.close()
            }
        }
        let bytes = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let text = String(decoding: bytes, as: UTF8.self)
        guard process.terminationStatus == 0 else {
            throw MouthpieceError(
                .internalError, "\(engine) failed (exit \(process.terminationStatus)): \(text.suffix(300))")
        }
        return text
    }
}

/// A word as an engine read it (its own spelling, "$5.20" or "二"), and when it was spoken.
struct WordUnit: Equatable {
    var surface: String
    var start: Double
    var end: Double

    /// The script's words with the engine's times: each engine word found in the script, in order,
    /// starts a word that runs up to the next one found (with its punctuation and space), so the
    /// words joined give back the script; an engine word not found as written (a number read as
    /// several words) joins the word before it.
    /// `form`: what was said (`text`) and its map to the script as `written`.
    static func words(
        of text: String, from units: [WordUnit], duration: Double, form: SpokenForm, written: String
    ) -> [SpokenWord] {
        let scalars = Array(text.unicodeScalars)
        let lowered = scalars.map { Character($0).lowercased() }
        var anchors: [(position: Int, start: Double, end: Double)] = []
        var cursor = 0
        for unit in units {
            let wanted = unit.surface.unicodeScalars.map { Character($0).lowercased() }
            var found: Int?
            if !wanted.isEmpty {
                // Looked for near where the last one ended: a word is not far ahead.
                var p = cursor
                while p + wanted.count <= lowered.count && p <= cursor + 48 {
                    if Array(lowered[p..<(p + wanted.count)]) == wanted {
                        found = p
                        break
                    }
                    p += 1
                }
            }
            if let found, anchors.isEmpty || !form.inside.contains(found) {
                anchors.append((anchors.isEmpty ? 0 : found, unit.start, unit.end))
                cursor = found + wanted.count
                continue
            }
            if let found { cursor = found + wanted.count }
            if !anchors.isEmpty {
                anchors[anchors.count - 1].end = max(anchors[anchors.count - 1].end, unit.end)
            } else {
                anchors.append((0, unit.start, unit.end))
            }
        }
        var words: [SpokenWord] = []
        let shown = Array(written.unicodeScalars)
        for (k, anchor) in anchors.enumerated() {
            // Where the word starts and the next begins, in the script as written.
            let from = k == 0 ? 0 : form.toText[anchor.position]
            let to = k + 1 < anchors.count ? form.toText[anchors[k + 1].position] : shown.count
            guard from < to else { continue }
            var spelled = ""
            spelled.unicodeScalars.append(contentsOf: shown[from..<to])
            words.append(
                SpokenWord(text: spelled, start: anchor.start, end: min(duration, max(anchor.start, anchor.end))))
        }
        return SpokenWord.joiningBlanks(words)
    }
}
