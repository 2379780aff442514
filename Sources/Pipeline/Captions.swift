import Foundation
import MouthpieceCore
import Speech

/// One caption on screen: its lines and when they show, in seconds.
public struct CaptionCue: Equatable, Sendable {
    public let start: Double
    public let end: Double
    public let lines: [String]

    public init(start: Double, end: Double, lines: [String]) {
        self.start = start
        self.end = end
        self.lines = lines
    }
}

/// Captions from the script and the words' timings: cues of at most two lines of about 42
/// characters (fewer for scripts without spaces), each shown for at most 6 s, ending at a
/// sentence's end where one falls, never before the words are said.
public enum Captions {
    public static func cues(
        _ words: [SpokenWord], maxLineCharacters: Int = 42, maxLines: Int = 2, maxDuration: Double = 6
    ) -> [CaptionCue] {
        var cues: [CaptionCue] = []
        var pending: [SpokenWord] = []
        func text(_ words: [SpokenWord]) -> String {
            words.map(\.text).joined().trimmingCharacters(in: .whitespacesAndNewlines)
        }
        func flush() {
            guard let first = pending.first, let last = pending.last else { return }
            let lines = wrap(text(pending), width: maxLineCharacters, maxLines: maxLines)
            if !lines.isEmpty { cues.append(CaptionCue(start: first.start, end: last.end, lines: lines)) }
            pending = []
        }
        func fits(_ words: [SpokenWord]) -> Bool {
            wrap(text(words), width: maxLineCharacters, maxLines: maxLines).allSatisfy { $0.count <= maxLineCharacters }
        }
        // A word too long for one cue (a run of kana, a URL) is cut into pieces that each fit,
        // sharing its time.
        let pieces = words.flatMap { word -> [SpokenWord] in
            let characters = Array(word.text)
            let size = maxLineCharacters * maxLines
            guard characters.count > size else { return [word] }
            let count = (characters.count + size - 1) / size
            let step = (word.end - word.start) / Double(count)
            return (0..<count).map { k in
                SpokenWord(
                    text: String(characters[(k * size)..<min(characters.count, (k + 1) * size)]),
                    start: word.start + Double(k) * step, end: word.start + Double(k + 1) * step)
            }
        }
        for word in pieces {
            if !pending.isEmpty && (!fits(pending + [word]) || word.end - pending[0].start > maxDuration) {
                flush()
            }
            pending.append(word)
            // A sentence's end closes the cue.
            let trimmed = word.text.trimmingCharacters(in: .whitespacesAndNewlines)
            if let mark = trimmed.last, ".!?。！？؟…".contains(mark) { flush() }
        }
        flush()
        // A cue stays up at least 0.8 s when the next one leaves room, and never overlaps it.
        return cues.indices.map { k in
            let limit = k + 1 < cues.count ? cues[k + 1].start : cues[k].end + 0.8
            let end = min(max(cues[k].end, cues[k].start + 0.8), limit)
            return CaptionCue(start: cues[k].start, end: max(end, cues[k].end), lines: cues[k].lines)
        }
    }

    /// Lines of at most `width` characters, broken at spaces (or anywhere in scripts without
    /// them), balanced so that two lines are about the same length.
    public static func wrap(_ text: String, width: Int, maxLines: Int) -> [String] {
        let clean = text.split(whereSeparator: \.isNewline).joined(separator: " ")
        guard clean.count > width else { return clean.isEmpty ? [] : [clean] }
        let characters = Array(clean)
        let target = Int((Double(characters.count) / Double(maxLines)).rounded(.up))
        var lines: [String] = []
        var start = 0
        while start < characters.count && lines.count < maxLines {
            let remaining = characters.count - start
            // The last line takes the rest: nothing is dropped (`cues` keeps cues short enough).
            if remaining <= width || lines.count == maxLines - 1 {
                lines.append(String(characters[start...]).trimmingCharacters(in: .whitespaces))
                break
            }
            // The space nearest the balanced length, within the width.
            let ideal = min(width, max(target, remaining / (maxLines - lines.count)))
            var cut: Int?
            for offset in 0...ideal {
                for candidate in [start + ideal - offset, start + ideal + offset]
                where candidate > start && candidate < min(characters.count, start + width + 1)
                    && characters[candidate] == " "
                {
                    cut = candidate
                    break
                }
                if cut != nil { break }
            }
            let end = cut ?? start + ideal
            lines.append(String(characters[start..<end]).trimmingCharacters(in: .whitespaces))
            start = cut.map { $0 + 1 } ?? end
        }
        return lines.filter { !$0.isEmpty }
    }

    /// SubRip text. `forRendering` also keeps libass from reading `{...}` in the script as
    /// styling codes.
    public static func srt(_ cues: [CaptionCue], forRendering: Bool = false) -> String {
        cues.enumerated().map { k, cue in
            var lines = cue.lines.map { $0.replacingOccurrences(of: "-->", with: "→") }
            if forRendering {
                lines = lines.map {
                    $0.replacingOccurrences(of: "{", with: "(").replacingOccurrences(of: "}", with: ")")
                }
            }
            return "\(k + 1)\n\(stamp(cue.start, separator: ",")) --> \(stamp(cue.end, separator: ","))\n"
                + lines.joined(separator: "\n") + "\n"
        }.joined(separator: "\n")
    }

    /// WebVTT text (`&`, `<`, `>` escaped, as cue text requires).
    public static func webVTT(_ cues: [CaptionCue]) -> String {
        "WEBVTT\n\n"
            + cues.map { cue in
                let lines = cue.lines.map {
                    $0.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
                        .replacingOccurrences(of: ">", with: "&gt;")
                }
                return "\(stamp(cue.start, separator: ".")) --> \(stamp(cue.end, separator: "."))\n"
                    + lines.joined(separator: "\n") + "\n"
            }.joined(separator: "\n")
    }

    public static func stamp(_ seconds: Double, separator: String) -> String {
        let milliseconds = Int((max(0, seconds) * 1000).rounded())
        let (h, m, s, ms) = (
            milliseconds / 3_600_000, milliseconds / 60000 % 60, milliseconds / 1000 % 60, milliseconds % 1000
        )
        return String(format: "%02d:%02d:%02d", h, m, s) + separator + String(format: "%03d", ms)
    }

    /// Writes the SubRip and WebVTT files beside a video.
    public static func writeFiles(_ cues: [CaptionCue], besides video: String) throws {
        let paths = paths(besides: video)
        try AtomicFile.write(Array(srt(cues).utf8), to: paths.srt)
        try AtomicFile.write(Array(webVTT(cues).utf8), to: paths.vtt)
    }

    /// The cues as SubRip for FFmpeg's subtitles filter to draw, in a temporary file of our own
    /// naming (the caller removes it).
    static func fileToDraw(_ cues: [CaptionCue]) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent(
            "mouthpiece-captions-\(UUID().uuidString).srt"
        ).path
        try AtomicFile.write(Array(srt(cues, forRendering: true).utf8), to: path)
        return path
    }

    /// The files beside a video: `clip.mp4` -> `clip.srt`, `clip.vtt`.
    public static func paths(besides video: String) -> (srt: String, vtt: String) {
        let base = (video as NSString).deletingPathExtension
        return (base + ".srt", base + ".vtt")
    }
}
