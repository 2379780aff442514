import Foundation
import Media
import MouthpieceCore
import TestSupport
import XCTest

final class VideoWriterTests: XCTestCase {
    /// Copying only the changed region into the encoder's picture must give the same video as
    /// copying whole frames: checked losslessly (crf 0) frame by frame.
    func testChangedRegionCopyMatchesWholeFrames() throws {
        let dir = try TestFiles.scratchDirectory(for: self)
        try SyntheticSpeech(segments: [.speech(0.6)]).writeWAV(to: dir + "/a.wav")
        let (width, height) = (320, 240)
        var random = SeededRandom(seed: 11)
        var base = RGBImage(width: width, height: height)
        for i in base.pixels.indices {
            base.pixels[i] = UInt8(truncatingIfNeeded: (i / 3) % 251 + Int(random.next() % 5))
        }
        let region = (x0: 101, y0: 57, x1: 203, y1: 161)
        func frames(_ body: (RGBImage) throws -> Void) rethrows {
            var frame = base
            for n in 0..<15 {
                for y in region.y0..<region.y1 {
                    for x in region.x0..<region.x1 {
                        frame[x, y] = (
                            UInt8((x * 3 + n * 17) & 255), UInt8((y * 5 + n * 7) & 255), UInt8((x ^ y) & 255)
                        )
                    }
                }
                try body(frame)
            }
        }
        let settings = VideoWriter.Settings(width: width, height: height, fps: 25, preset: "ultrafast", crf: 0)
        let whole = try VideoWriter(path: dir + "/whole.mp4", settings: settings, audioPath: dir + "/a.wav")
        try frames { try whole.append(PixelConverter.toYUV($0)) }
        try whole.finish()
        let partial = try VideoWriter(path: dir + "/region.mp4", settings: settings, audioPath: dir + "/a.wav")
        try frames { try partial.append(PixelConverter.toYUV($0), changed: region) }
        try partial.finish()

        var expected: [RGBImage] = []
        try VideoReader.forEachFrame(path: dir + "/whole.mp4") { _, frame in
            expected.append(frame)
            return true
        }
        var compared = 0
        try VideoReader.forEachFrame(path: dir + "/region.mp4") { n, frame in
            XCTAssertTrue(frame == expected[n], "frame \(n) differs")
            compared += 1
            return true
        }
        XCTAssertEqual(compared, 15)
    }
}
