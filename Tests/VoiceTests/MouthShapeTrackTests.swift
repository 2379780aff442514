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
