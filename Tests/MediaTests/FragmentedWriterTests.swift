import Foundation
import Media
import MouthpieceCore
import TestSupport
import XCTest

/// The live stream's container: an init segment with no samples, then one self-contained fragment
/// a frame, which joined together make an MP4 that FFmpeg reads with every frame and all the audio.
final class FragmentedWriterTests: XCTestCase {
    /// The four-letter types of the top-level boxes in `bytes`.
    static func boxes(_ bytes: [UInt8]) -> [String] {
        var out: [String] = []
        var at = 0
        while at + 8 <= bytes.count {
            let size = bytes[at..<(at + 4)].reduce(0) { $0 << 8 | Int($1) }
            out.append(String(decoding: bytes[(at + 4)..<(at + 8)], as: UTF8.self))
            guard size >= 8 else { break }
            at += size
        }
        return out
    }

    func frame(_ n: Int, width: Int, height: Int) -> YUVImage {
        var image = RGBImage(width: width, height: height)
        for y in 0..<height {
            for x in 0..<width { image[x, y] = (UInt8((x + n * 9) & 255), UInt8((y * 2) & 255), UInt8(n * 20 & 255)) }
        }
        return PixelConverter.toYUV(image)
    }

    func testInitSegmentThenAFragmentPerFrameMakeAPlayableStream() throws {
        var settings = FragmentedWriter.Settings(width: 320, height: 240, fps: 25, sampleRate: 16_000)
        settings.keyInterval = 1
        let writer = try FragmentedWriter(settings: settings)
        XCTAssertEqual(Self.boxes(writer.initSegment), ["ftyp", "moov"], "no samples before the first fragment")
        XCTAssertTrue(writer.mimeType.hasPrefix("video/mp4; codecs=\"avc1."), writer.mimeType)
        XCTAssertTrue(writer.mimeType.hasSuffix("mp4a.40.2\""), writer.mimeType)
        var stream = writer.initSegment
        // 50 frames, every fifth skipped (the reader was behind): its audio still goes out.
        let tone = (0..<640).map { Float(sin(Double($0) * 0.3)) * 0.3 }
        for n in 0..<50 {
            let skipped = n % 5 == 4
            let fragment = try writer.append(skipped ? nil : frame(n, width: 320, height: 240), audio: tone)
            // A skipped frame's fragment holds audio if a whole AAC packet was ready, else nothing.
            if !skipped || !fragment.isEmpty {
                XCTAssertEqual(Array(Self.boxes(fragment).prefix(2)), ["moof", "mdat"], "frame \(n)")
            }
            stream += fragment
        }
        stream += try writer.finish()
        let path = try TestFiles.scratchDirectory(for: self) + "/stream.mp4"
        try Data(stream).write(to: URL(fileURLWithPath: path))
        let info = try MediaProbe.probe(path: path)
        XCTAssertEqual(info.video?.width, 320)
        XCTAssertEqual(info.audio?.sampleRate, 16_000)
        var decoded = 0
        try VideoReader.forEachFrame(path: path) { _, _ in
            decoded += 1
            return true
        }
        XCTAssertEqual(decoded, 40, "every frame given, none of those skipped")
        let audio = try AudioDecoder.decode(path: path, sampleRate: 16_000)
        XCTAssertEqual(audio.duration, 2.0, accuracy: 0.07, "the audio of all 50 frames")
    }

    func testRefusesARateThatDoesNotDivideIntoFrames() {
        XCTAssertThrowsError(
            try FragmentedWriter(settings: .init(width: 320, height: 240, fps: 24, sampleRate: 22_050))
        ) { error in
            XCTAssertEqual((error as? MouthpieceError)?.code, .invalidParameter)
        }
    }

    func testResamplerKeepsATonesPitchAcrossChunks() throws {
        let resampler = try Resampler(from: 24_000, to: 16_000)
        let tone = (0..<24_000).map { Float(sin(2 * Double.pi * 440 * Double($0) / 24_000)) }
        var out: [Float] = []
        for start in stride(from: 0, to: tone.count, by: 480) {
            out += resampler.convert(Array(tone[start..<(start + 480)]))
        }
        out += resampler.flush()
        XCTAssertEqual(Double(out.count), 16_000, accuracy: 40)
        // Zero crossings of a 440 Hz tone over a second: 880, at either rate.
        let crossings = zip(out, out.dropFirst()).filter { ($0 < 0) != ($1 < 0) }.count
        XCTAssertEqual(Double(crossings), 880, accuracy: 4)
    }
}
