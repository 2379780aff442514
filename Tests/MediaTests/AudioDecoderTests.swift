import Foundation
import Media
import MouthpieceCore
import TestSupport
import XCTest

final class AudioDecoderTests: XCTestCase {
    func testDecodesEveryFormatToMonoAtTheAnalysisRate() throws {
        let dir = try TestFiles.scratchDirectory(for: self)
        let speech = SyntheticSpeech(segments: [.silence(0.3), .speech(1.4), .silence(0.3)])
        let wav = dir + "/speech.wav"
        try speech.writeWAV(to: wav)
        // Each file gets a misleading extension: formats are found by content.
        let variants: [(name: String, args: [String])] = [
            ("mp3.bin", ["-c:a", "libmp3lame", "-b:a", "96k", "-f", "mp3"]),
            ("m4a.bin", ["-c:a", "aac", "-f", "ipod"]),
            ("vorbis.bin", ["-c:a", "libvorbis", "-f", "ogg"]),
            ("opus.bin", ["-c:a", "libopus", "-f", "ogg"]),
            ("flac.bin", ["-c:a", "flac", "-f", "flac"]),
            ("webm.bin", ["-c:a", "libopus", "-f", "webm"]),
        ]
        var paths = [wav]
        for variant in variants {
            try TestFiles.ffmpeg(["-i", wav] + variant.args + [dir + "/" + variant.name])
            paths.append(dir + "/" + variant.name)
        }
        for path in paths {
            let clip = try AudioDecoder.decode(path: path, sampleRate: 16_000)
            XCTAssertEqual(clip.sampleRate, 16_000)
            XCTAssertEqual(clip.duration, speech.duration, accuracy: 0.08, "\(path)")
            // Loud in the middle, quiet at the start.
            let head = clip.samples[0..<3_000].map { abs($0) }.max() ?? 1
            let middle = clip.samples[12_000..<20_000].map { abs($0) }.max() ?? 0
            XCTAssertLessThan(head, 0.05, "\(path)")
            XCTAssertGreaterThan(middle, 0.3, "\(path)")
        }
    }

    func testNonAudioIsUnsupported() throws {
        let dir = try TestFiles.scratchDirectory(for: self)
        try Data(repeating: 0x41, count: 5000).write(to: URL(fileURLWithPath: dir + "/noise.mp3"))
        XCTAssertThrowsError(try AudioDecoder.decode(path: dir + "/noise.mp3")) { error in
            XCTAssertEqual((error as? MouthpieceError)?.code, .unsupportedAudio)
        }
        // A picture is a media file without audio.
        XCTAssertThrowsError(try AudioDecoder.decode(path: try TestFiles.fixture("dogs.jpg"))) { error in
            XCTAssertEqual((error as? MouthpieceError)?.code, .unsupportedAudio)
        }
    }

    func testTooShortAndTooLongAreRefused() throws {
        let dir = try TestFiles.scratchDirectory(for: self)
        try SyntheticSpeech(segments: [.speech(0.3)]).writeWAV(to: dir + "/short.wav")
        XCTAssertThrowsError(try AudioDecoder.decode(path: dir + "/short.wav")) { error in
            XCTAssertEqual((error as? MouthpieceError)?.code, .audioTooShort)
        }
        try SyntheticSpeech(segments: [.speech(3)]).writeWAV(to: dir + "/long.wav")
        let limits = AudioDecoder.Limits(maxDuration: 2)
        XCTAssertThrowsError(try AudioDecoder.decode(path: dir + "/long.wav", limits: limits)) { error in
            XCTAssertEqual((error as? MouthpieceError)?.code, .audioTooLong)
        }
    }

    func testSpectrumPeaksAtAToneFrequency() {
        let rate = 16_000.0
        let tone = (0..<1024).map { Float(sin(2 * Double.pi * 1000 * Double($0) / rate)) }
        let spectrum = Spectrum(size: 512)
        var bins: [Float] = []
        tone.withUnsafeBufferPointer { spectrum.power(of: $0, start: 100, into: &bins) }
        let peak = bins.indices.max { bins[$0] < bins[$1] }!
        XCTAssertEqual(Double(peak) * rate / 512, 1000, accuracy: rate / 512)
    }
}
