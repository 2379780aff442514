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

    static let sampleRate = 24_000

    /// Speaks a script: plain text at once; SSML piece by piece (each span of one style at its
    /// rate, pitch and loudness, the breaks as silence between them).
    static func speak(_ script: Script, voice: SpeechVoice) throws -> SpokenText {
        let written = script.text.trimmingCharacters(in: .whitespacesAndNewlines)
        let shown: String
        let pieces: [ScriptMarkup.Piece]
        if ScriptMarkup.isMarkup(written) {
            let parsed = try ScriptMarkup.parse(written)
            (shown, pieces) = (parsed.shown, parsed.pieces)
        } else {
            shown = written
            pieces = [ScriptMarkup.Piece(said: written, toShown: Array(0...written.unicodeScalars.count))]
        }
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent(
            "mouthpiece-voice-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        var samples: [Float] = []
        var phones: [Phoneme] = []
        var anchors: [WordUnit.Anchor] = []
        var run = 0
        for piece in pieces {
            samples += [Float](repeating: 0, count: Int(piece.pause * Double(sampleRate)))
            guard piece.said.contains(where: { $0.isLetter || $0.isNumber }) else { continue }
            // Dates, money, abbreviations and the lexicon written out as they are said.
            let form = SpokenForm.make(piece.said, language: script.language, lexicon: script.lexicon)
            try form.check(against: written)
            let speed = min(3, max(0.3, Self.speed(script) * piece.style.rate))
            let tones = halfTones(script) + piece.style.halfTones
            let scalars = Array(form.said.unicodeScalars)
            let inside = form.inside.union(form.toText.indices.filter { piece.inside.contains(form.toText[$0]) })
            // Sentence by sentence: Festival's time grows faster than its text, and Open JTalk
            // reads about 1000 bytes of a line.
            for chunk in chunks(of: scalars) {
                var text = ""
                text.unicodeScalars.append(contentsOf: scalars[chunk])
                guard text.contains(where: { $0.isLetter || $0.isNumber }) else { continue }
                run += 1
                let offset = Double(samples.count) / Double(sampleRate)
                let wav = folder.appendingPathComponent("run\(run).wav").path
                let (said, units): ([Phoneme], [WordUnit])
                switch voice.engine {
                case .festival:
                    (said, units) = try festival(
                        text, voice: FestivalVoice(id: voice.id) ?? .slt, speed: speed, halfTones: tones, wav: wav,
                        program: folder.path + "/run\(run).scm")
                case .openJTalk:
                    (said, units) = try openJTalk(
                        text, speed: speed, halfTones: tones, input: folder.path + "/run\(run).txt",
                        trace: folder.path + "/run\(run).trace", wav: wav)
                case .espeakNG:
                    throw MouthpieceError(.internalError, "espeak-ng is not run as a program.")
                }
                let audio = try AudioDecoder.decode(path: wav, sampleRate: sampleRate, limits: .init(minDuration: 0))
                let gain = Float(piece.style.gain)
                samples += gain == 1 ? audio.samples : audio.samples.map { max(-1, min(1, $0 * gain)) }
                phones += said.map { $0.shifted(by: offset) }
                // Positions in the chunk -> in what the engine was given -> in the piece -> in the
                // script as shown.
                let chunkInside = Set(inside.filter { chunk.contains($0) }.map { $0 - chunk.lowerBound })
                anchors += WordUnit.anchors(of: text, from: units, inside: chunkInside).map {
                    WordUnit.Anchor(
                        position: piece.toShown[form.toText[$0.position + chunk.lowerBound]], start: $0.start + offset,
                        end: $0.end + offset)
                }
            }
        }
        // HTS voices come out quieter than speech is usually mastered (Festival's slt peaks near
        // -9 dBFS): raised to peak at -1 dBFS, as espeak-ng's voices do, at most 12 dB.
        let peak = samples.reduce(Float(0)) { max($0, abs($1)) }
        if peak > 0 {
            let gain = min(4, 0.89 / peak)
            if abs(gain - 1) > 0.01 { samples = samples.map { $0 * gain } }
        }
        let audio = AudioClip(sampleRate: sampleRate, samples: samples)
        return SpokenText(
            audio: audio, phonemes: phones, words: WordUnit.words(anchors, in: shown, duration: audio.duration),
            voice: voice.id)
    }

    /// `scalars` in runs of whole sentences (or clauses, or words, for a long one) of at most
    /// `limit` scalars and 900 UTF-8 bytes, covering them all in order.
    static func chunks(of scalars: [Unicode.Scalar], limit: Int = 400) -> [Range<Int>] {
        var out: [Range<Int>] = []
        var start = 0
        while start < scalars.count {
            var end = start
            var best: (sentence: Int?, clause: Int?, word: Int?) = (nil, nil, nil)
            var size = 0
            while end < scalars.count && end - start < limit && size + String(scalars[end]).utf8.count <= 900 {
                size += String(scalars[end]).utf8.count
                let c = scalars[end]
                end += 1
                if "。！？!?.\n".unicodeScalars.contains(c) { best.sentence = end }
                if "、，,;；:：".unicodeScalars.contains(c) { best.clause = end }
                if c.properties.isWhitespace { best.word = end }
            }
            if end < scalars.count { end = best.sentence ?? best.clause ?? best.word ?? end }
            out.append(start..<end)
            start = end
        }
        return out
    }

    // MARK: Festival

    static func festival(
        _ text: String, voice: FestivalVoice, speed: Double, halfTones: Double, wav: String, program path: String
    ) throws -> ([Phoneme], [WordUnit]) {
        // A string in Festival's Scheme: backslashes and quotes escaped (a NUL would end it early).
        func quote(_ text: String) -> String {
            text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
                .replacingOccurrences(of: "\u{0}", with: " ")
        }
        let quoted = quote(text)
        let setUp: String
        switch voice {
        case .slt:
            setUp = """
                (voice_cmu_us_slt_arctic_hts)
                (set! hts_engine_params (append cmu_us_slt_arctic_hts::hts_engine_params
                  (list (list "-r" \(speed)) (list "-fm" \(halfTones)))))
                """
        case .kal:
            setUp = """
                (voice_kal_diphone)
                (Parameter.set 'Duration_Stretch \(1 / speed))
                """
        }
        let program = """
            \(setUp)
            (set! utt (utt.synth (Utterance Text "\(quoted)")))
            (utt.save.wave utt "\(quote(wav))" 'riff)
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
        // From a file: nothing is written to the program's input while it runs.
        try Data(program.utf8).write(to: URL(fileURLWithPath: path))
        let output = try run(Voices.festival, ["--batch", path], engine: "Festival")
        if output.contains("SIOD ERROR") {
            throw MouthpieceError(
                .invalidParameter,
                "Festival could not read part of the script (\(output.suffix(120).trimmingCharacters(in: .whitespacesAndNewlines))); a very long word or number is the usual cause.",
                field: "text")
        }
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

    static func openJTalk(
        _ text: String, speed: Double, halfTones: Double, input: String, trace: String, wav: String
    ) throws -> ([Phoneme], [WordUnit]) {
        guard let voiceFile = Voices.openJTalkVoiceFile() else {
            throw MouthpieceError(.modelUnavailable, "The Open JTalk voice is not installed.", field: "voice")
        }
        // One line: Open JTalk reads a file line by line.
        try Data(text.replacingOccurrences(of: "\n", with: " ").utf8).write(to: URL(fileURLWithPath: input))
        _ = try run(
            Voices.openJTalk,
            [
                "-x", Voices.openJTalkDictionary, "-m", voiceFile, "-ow", wav, "-ot", trace,
                "-r", String(speed), "-fm", String(halfTones), input,
            ], engine: "Open JTalk")
        let lines =
            FileManager.default.contents(atPath: trace).map { String(decoding: $0, as: UTF8.self) }?.split(
                separator: "\n") ?? []
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

    /// The longest one run of an engine may take (a sentence takes well under a second).
    static let timeLimit: TimeInterval = 60

    static func run(_ path: String, _ arguments: [String], engine: String) throws -> String {
        guard FileManager.default.isExecutableFile(atPath: path) else {
            throw MouthpieceError(.modelUnavailable, "\(engine) is not installed (\(path)).", field: "voice")
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        process.standardInput = FileHandle.nullDevice
        try process.run()
        // A run that hangs is stopped rather than holding a worker for ever.
        let expired = DispatchWorkItem { if process.isRunning { process.terminate() } }
        DispatchQueue.global().asyncAfter(deadline: .now() + timeLimit, execute: expired)
        let bytes = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        expired.cancel()
        let text = String(decoding: bytes, as: UTF8.self)
        if process.terminationReason == .uncaughtSignal {
            throw MouthpieceError(
                .internalError, "\(engine) did not finish a sentence within \(Int(timeLimit)) s and was stopped.")
        }
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

    /// Where a word of the script starts (a position in the text), and when it is said.
    struct Anchor: Equatable {
        var position: Int
        var start: Double
        var end: Double
    }

    /// Where the engine's words start in `text` (what it was given): each found as written, in
    /// order, starts a word; one not found as written (a number read as several words), or found
    /// inside a rewritten span (`inside`), lengthens the word before it.
    static func anchors(of text: String, from units: [WordUnit], inside: Set<Int>) -> [Anchor] {
        // Compared scalar by scalar in compatibility form, case folded: Open JTalk spells Latin
        // letters full width ("Ｈｅｌｌｏ").
        func fold(_ scalar: Unicode.Scalar) -> String {
            String(scalar).precomposedStringWithCompatibilityMapping.lowercased()
        }
        let lowered = text.unicodeScalars.map(fold)
        var anchors: [Anchor] = []
        var cursor = 0
        for unit in units {
            let wanted = unit.surface.unicodeScalars.map(fold)
            var found: Int?
            if !wanted.isEmpty {
                // Looked for near where the last one ended: a word is not far ahead.
                func search(upTo last: Int) -> Int? {
                    var p = cursor
                    while p + wanted.count <= lowered.count && p <= last {
                        if Array(lowered[p..<(p + wanted.count)]) == wanted { return p }
                        p += 1
                    }
                    return nil
                }
                // Near where the last one ended first; past unspoken text (emoji, symbols) if not.
                found = search(upTo: cursor + 48) ?? (wanted.count >= 2 ? search(upTo: lowered.count) : nil)
            }
            if let found { cursor = found + wanted.count }
            if let found, anchors.isEmpty || !inside.contains(found) {
                anchors.append(Anchor(position: found, start: unit.start, end: unit.end))
            } else if !anchors.isEmpty {
                anchors[anchors.count - 1].end = max(anchors[anchors.count - 1].end, unit.end)
            } else {
                anchors.append(Anchor(position: 0, start: unit.start, end: unit.end))
            }
        }
        return anchors
    }

    /// The script's words: each anchor's word runs from its position to the next one's (with its
    /// punctuation and space; the first from the start), so the words joined give back `text`.
    static func words(_ anchors: [Anchor], in text: String, duration: Double) -> [SpokenWord] {
        let scalars = Array(text.unicodeScalars)
        var words: [SpokenWord] = []
        for (k, anchor) in anchors.enumerated() {
            let from = k == 0 ? 0 : anchor.position
            let to = k + 1 < anchors.count ? anchors[k + 1].position : scalars.count
            guard from < to else { continue }
            var spelled = ""
            spelled.unicodeScalars.append(contentsOf: scalars[from..<to])
            words.append(
                SpokenWord(text: spelled, start: anchor.start, end: min(duration, max(anchor.start, anchor.end))))
        }
        return SpokenWord.joiningBlanks(words)
    }
}
