import Foundation
import Media
import Motion
import TestSupport
import Voice
import XCTest

/// The live path's motion against the batch path's, on real speech: the same voice measurement
/// frame for frame, and a mouth that may hear only 100 ms ahead.
final class LiveMotionTests: XCTestCase {
    static let speeches = ["en_librispeech_read.wav", "en_ljspeech_read.wav", "es_ivr_prompt.wav"]

    func samples(_ name: String) throws -> [Float] {
        try AudioDecoder.decode(path: try TestFiles.fixture("speech/" + name), sampleRate: VoiceAnalyzer.sampleRate)
            .samples
    }

    func testStreamedVoiceIsMeasuredAsTheWholeClipIs() throws {
        let audio = try samples(Self.speeches[0])
        let fps = 25
        let whole = VoiceAnalyzer().analyze(
            AudioClip(sampleRate: VoiceAnalyzer.sampleRate, samples: audio), fps: fps, frameCount: 200)
        let stream = VoiceStream(fps: fps)
        var streamed: [VoiceFrame] = []
        // Chunks of 20 ms, as a live client sends.
        for start in stride(from: 0, to: audio.count, by: 320) {
            streamed += stream.append(Array(audio[start..<min(audio.count, start + 320)]))
        }
        XCTAssertGreaterThanOrEqual(streamed.count, 200)
        XCTAssertEqual(Array(streamed.prefix(200)), whole.frames, "the same features, frame for frame")
    }

    /// Mouth tracks made live (100 ms of look-ahead at 25 fps) and in batch from the same speech.
    static func tracks(_ audio: [Float], fps: Int, lookahead: Int) -> (live: [MouthShape], batch: [MouthShape]) {
        let stream = VoiceStream(fps: fps)
        let live = LiveMotionTrack(fps: fps, lookahead: lookahead, seed: 1)
        var shapes: [MouthShape] = []
        var all: [VoiceFrame] = []
        // A second of silence first, as a session idles before it is spoken to.
        let padded = [Float](repeating: 0, count: VoiceAnalyzer.sampleRate) + audio
        for start in stride(from: 0, to: padded.count, by: 320) {
            for frame in stream.append(Array(padded[start..<min(padded.count, start + 320)])) {
                live.append(frame)
                all.append(frame)
                while shapes.count < live.framesReady { shapes.append(live.motion(at: shapes.count).mouth) }
            }
        }
        let batch = MouthShapeTrack().shapes(for: VoiceFeatures(fps: fps, frames: Array(all.prefix(shapes.count))))
        return (shapes, batch)
    }

    func testLiveMouthStaysCloseToTheBatchMouth() throws {
        for name in Self.speeches {
            let (live, batch) = Self.tracks(try samples(name), fps: 25, lookahead: 2)
            let a = live.map(\.lipGap)
            let b = batch.map(\.lipGap)
            let r = pearson(a, b)
            let meanDifference = zip(a, b).map { abs($0 - $1) }.reduce(0, +) / Double(a.count)
            // Frames the batch path shows shut inside speech (closures and pauses): does the live one?
            let speaking = b.indices.filter { i in b[max(0, i - 5)...min(b.count - 1, i + 5)].contains { $0 > 0.2 } }
            let shut = speaking.filter { b[$0] < 0.02 }
            let shutToo = shut.filter { a[$0] < 0.05 }.count
            print(
                "live vs batch mouth, \(name): r \(String(format: "%.3f", r)), mean |difference| "
                    + "\(String(format: "%.3f", meanDifference)), closures kept \(shutToo) of \(shut.count)")
            XCTAssertGreaterThan(r, 0.85, name)
            XCTAssertLessThan(meanDifference, 0.08, name)
            XCTAssertGreaterThanOrEqual(Double(shutToo), 0.7 * Double(shut.count), name)
        }
    }

    func testSilenceAfterAnInterruptionClosesTheMouth() throws {
        let audio = try samples(Self.speeches[0])
        let frames = VoiceStream(fps: 25).append(Array(audio.prefix(3 * VoiceAnalyzer.sampleRate)))
        let heard = LiveMotionTrack(fps: 25, lookahead: 2, seed: 1)
        for frame in frames { heard.append(frame) }
        // A frame with the mouth well open, one second or more in.
        guard let open = (25..<heard.framesReady).first(where: { heard.motion(at: $0).mouth.lipGap > 0.35 }) else {
            return XCTFail("somewhere in three seconds of speech the mouth opens wide")
        }
        // The same speech up to that frame and its look-ahead, then cut: what was heard ahead is
        // silenced, and silence follows.
        let cut = LiveMotionTrack(fps: 25, lookahead: 2, seed: 1)
        for frame in frames.prefix(open + 3) { cut.append(frame) }
        XCTAssertGreaterThan(cut.motion(at: open).mouth.lipGap, 0.3, "open when the cut comes")
        cut.silence(from: open + 1)
        for _ in 0..<10 { cut.append(VoiceFrame(loudness: -100, lowBand: 0, midBand: 0, highBand: 0, centroid: 0)) }
        let after = (open + 2...open + 8).map { cut.motion(at: $0).mouth.lipGap }
        XCTAssertLessThan(after.max() ?? 1, 0.05, "shut from the second frame after the cut (80 ms): \(after)")
    }

    func pearson(_ a: [Double], _ b: [Double]) -> Double {
        let ma = a.reduce(0, +) / Double(a.count)
        let mb = b.reduce(0, +) / Double(b.count)
        var (sab, saa, sbb) = (0.0, 0.0, 0.0)
        for i in a.indices {
            sab += (a[i] - ma) * (b[i] - mb)
            saa += (a[i] - ma) * (a[i] - ma)
            sbb += (b[i] - mb) * (b[i] - mb)
        }
        return sab / (saa * sbb).squareRoot()
    }
}
