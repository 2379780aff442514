import Foundation
import Media
import Motion
import TestSupport
import Voice
import XCTest

final class MouthShapeTrackTests: XCTestCase {
    let fps = 30
    let speech = SyntheticSpeech(
        sampleRate: 16_000, segments: [.silence(1.0), .speech(1.5), .silence(1.2), .speech(1.0), .silence(0.8)])

    func shapes(amplitude: Double = 1) -> [MouthShape] {
        let clip = AudioClip(sampleRate: 16_000, samples: speech.samples())
        let frames = Int((clip.duration * Double(fps)).rounded())
        var track = MouthShapeTrack()
        track.amplitude = amplitude
        return track.shapes(for: VoiceAnalyzer().analyze(clip, fps: fps, frameCount: frames))
    }

    func frames(in range: ClosedRange<Double>, margin: Double) -> [Int] {
        Array(
            Int(
                ((range.lowerBound + margin) * Double(fps)).rounded(.up))...Int(
                    ((range.upperBound - margin) * Double(fps)).rounded(.down)))
    }

    func testVoiceAnalysisIsDeterministic() {
        let clip = AudioClip(sampleRate: 16_000, samples: speech.samples())
        let first = VoiceAnalyzer().analyze(clip, fps: fps, frameCount: 100).frames
        // Fresh transforms over freshly allocated buffers must give the same figures.
        for _ in 0..<3 {
            XCTAssertEqual(VoiceAnalyzer().analyze(clip, fps: fps, frameCount: 100).frames, first)
        }
        XCTAssertTrue(first.allSatisfy { $0.centroid.isFinite && $0.lowBand.isFinite && $0.highBand <= 1 })
    }

    func testStreamingAnalysisMatchesInMemoryAnalysis() throws {
        let dir = try TestFiles.scratchDirectory(for: self)
        // Longer than the streaming buffer, so that samples are dropped along the way.
        let long = SyntheticSpeech(
            sampleRate: 16_000, segments: [.silence(0.7), .speech(2.2), .silence(0.9), .speech(1.3)])
        try long.writeWAV(to: dir + "/v.wav")
        let clip = try AudioDecoder.decode(path: dir + "/v.wav", sampleRate: VoiceAnalyzer.sampleRate)
        // Frame rates whose hop is longer and shorter than the analysis window.
        for rate in [24, 25, 30, 60] {
            let streamed = try VoiceAnalyzer().analyze(path: dir + "/v.wav", fps: rate)
            XCTAssertEqual(streamed.frames.count, Int((clip.duration * Double(rate)).rounded()))
            XCTAssertEqual(Double(streamed.frames.count) / Double(rate), long.duration, accuracy: 1 / Double(rate))
            let whole = VoiceAnalyzer().analyze(clip, fps: rate, frameCount: streamed.frames.count)
            XCTAssertEqual(streamed.frames, whole.frames, "\(rate) fps")
        }
    }

    /// Loudness scales, the vowel decides: an open vowel ("a", high F1) fading by 20 dB keeps
    /// more of its opening than a level meter would, and a close one ("i", low F1) as loud opens
    /// less.
    func testVowelsHoldTheirShapeAsTheyGetQuieter() {
        func vowel(f1: Double, f2: Double, loudness: Double) -> VoiceFrame {
            VoiceFrame(loudness: loudness, lowBand: 0.5, midBand: 0.35, highBand: 0.05, centroid: 900, f1: f1, f2: f2)
        }
        let silence = VoiceFrame(loudness: -80, lowBand: 0, midBand: 0, highBand: 0, centroid: 0)
        // 0.5 s of silence (the floor), then 1.2 s of "a" fading from -12 to -32 dBFS, 0.5 s of
        // silence, then 0.6 s of "i" at -12 dBFS, then silence.
        var frames = [VoiceFrame](repeating: silence, count: 15)
        let fade = 36
        for k in 0..<fade { frames.append(vowel(f1: 780, f2: 1250, loudness: -12 - 20 * Double(k) / Double(fade - 1))) }
        frames += [VoiceFrame](repeating: silence, count: 15)
        for _ in 0..<18 { frames.append(vowel(f1: 290, f2: 2300, loudness: -12)) }
        frames += [VoiceFrame](repeating: silence, count: 15)
        let s = MouthShapeTrack().shapes(for: VoiceFeatures(fps: 30, frames: frames))
        func opening(_ n: Int) -> Double { s[n].jawOpen + s[n].lipGap }
        let loud = (20...24).map(opening).reduce(0, +) / 5
        let quiet = (44...48).map(opening).reduce(0, +) / 5
        let levels = VoiceFeatures(fps: 30, frames: frames).speechLevels(absoluteSilence: -55)
        // What opening by loudness alone (its 0.75 power, as before) would keep.
        let meter = pow(levels.openness(-29.5) / levels.openness(-14.5), 0.75)
        XCTAssertGreaterThan(quiet / loud, meter + 0.1, "held: \(quiet / loud) vs a level meter's \(meter)")
        let close = (72...78).map(opening).reduce(0, +) / 7
        XCTAssertLessThan(close, 0.8 * loud, "an \"i\" as loud as the \"a\" opens less")
        XCTAssertGreaterThan(s[75].spread, 0.5)
    }

    func testSilenceKeepsMouthClosed() {
        let s = shapes()
        // Silences: well away from speech (past the lead and the smoothing), the mouth is shut.
        for range in [0.0...1.0, 2.5...3.7, 4.7...5.5] {
            for n in frames(in: range, margin: 0.25) where n < s.count {
                XCTAssertEqual(s[n].jawOpen, 0, "frame \(n)")
                XCTAssertEqual(s[n].lipGap, 0, "frame \(n)")
            }
        }
    }

    func testSpeechOpensTheMouthAndSyllablesShowInIt() {
        let s = shapes()
        let inSpeech = frames(in: speech.speechRanges[0], margin: 0.1).map { s[$0].lipGap }
        XCTAssertGreaterThan(inSpeech.max()!, 0.6)
        XCTAssertGreaterThan(inSpeech.reduce(0, +) / Double(inSpeech.count), 0.3)
        // Syllables (about 4.5 a second) make the opening rise and fall, not sit still.
        XCTAssertGreaterThan(inSpeech.max()! - inSpeech.min()!, 0.3)
    }

    func testLipsMoveBeforeTheSound() {
        let s = shapes()
        let onset = speech.speechRanges[0].lowerBound
        let firstOpen = s.firstIndex { $0.lipGap > 0.02 }!
        XCTAssertLessThanOrEqual(Double(firstOpen) / Double(fps), onset + 0.05)
        XCTAssertGreaterThan(Double(firstOpen) / Double(fps), onset - 0.2)
    }

    func testExpressivenessScalesTheMouth() {
        let normal = shapes().map(\.jawOpen).max()!
        let calm = shapes(amplitude: 0.5).map(\.jawOpen).max()!
        XCTAssertEqual(calm, normal * 0.5, accuracy: 0.01)
        XCTAssertEqual(shapes(amplitude: 0).map(\.jawOpen).max()!, 0)
    }

    func testBlinksAreDeterministicIrregularAndInTheHumanRange() {
        let blinks = BlinkTrack()
        let a = blinks.closure(frameCount: 60 * 30, fps: 30, seed: 7)
        XCTAssertEqual(a, blinks.closure(frameCount: 60 * 30, fps: 30, seed: 7))
        XCTAssertNotEqual(a, blinks.closure(frameCount: 60 * 30, fps: 30, seed: 8))
        // Count closures (lid more than half shut) and the gaps between them.
        var starts: [Int] = []
        for n in 1..<a.count where a[n] > 0.5 && a[n - 1] <= 0.5 { starts.append(n) }
        XCTAssertGreaterThanOrEqual(starts.count, 8)
        XCTAssertLessThanOrEqual(starts.count, 30)
        let gaps = zip(starts.dropFirst(), starts).map { $0 - $1 }
        XCTAssertGreaterThan(Set(gaps).count, 3, "intervals should vary")
    }
}
