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

final class VideoSourceTests: XCTestCase {
    func testAnOddFrameRateIsKeptExactlyAndEveryFrameIsRead() throws {
        let source = try VideoSource(path: try TestFiles.fixture("video/man_suit_talking_22fps.mp4"))
        XCTAssertEqual(source.info.frameRate, FrameRate(1350, 61))
        XCTAssertEqual(source.info.width, 700)
        XCTAssertTrue(source.info.hasAudio)
        var count = 0
        while try source.next() != nil { count += 1 }
        XCTAssertEqual(count, 135)
        try source.rewind()
        XCTAssertEqual(source.position, 0)
        var again = 0
        while try source.next() != nil { again += 1 }
        XCTAssertEqual(again, 135, "a second pass reads the same frames")
    }

    /// The codecs and containers a video input may come in, each decoded frame by frame.
    func testHEVCVP8VP9AndAV1InMP4MOVWebMAndMKVAreRead() throws {
        let dir = try TestFiles.scratchDirectory(for: self)
        for (name, codec, expected) in [
            ("hevc.mov", ["-c:v", "libx265", "-x265-params", "log-level=error"], "hevc"),
            ("vp8.webm", ["-c:v", "libvpx"], "vp8"),
            ("vp9.mkv", ["-c:v", "libvpx-vp9", "-deadline", "realtime"], "vp9"),
            ("av1.mp4", ["-c:v", "libsvtav1"], "av1"),
        ] {
            let path = dir + "/" + name
            try TestFiles.ffmpeg(
                ["-f", "lavfi", "-i", "testsrc=size=128x96:rate=25:duration=0.4", "-pix_fmt", "yuv420p"] + codec + [
                    path
                ])
            let source = try VideoSource(path: path)
            XCTAssertEqual(source.info.codec, expected, name)
            XCTAssertEqual(source.info.frameRate, FrameRate(25), name)
            var frames = 0
            while let frame = try source.next() {
                XCTAssertEqual(frame.width, 128, name)
                frames += 1
            }
            XCTAssertEqual(frames, 10, name)
        }
    }

    func testRotationMetadataIsAppliedAndOddSizesAreTrimmed() throws {
        let dir = try TestFiles.scratchDirectory(for: self)
        // 99x75, a white square in the top-left corner, tagged to be shown turned a quarter turn
        // counter-clockwise (as `ffmpeg -i turned.mp4 out.png` shows it): the square at the bottom left.
        let plain = dir + "/plain.mp4"
        try TestFiles.ffmpeg([
            "-f", "lavfi", "-i", "color=c=black:size=99x75:rate=10:duration=1", "-vf",
            "drawbox=x=0:y=0:w=30:h=30:color=white:t=fill", "-pix_fmt", "yuv444p", "-c:v", "libx264", plain,
        ])
        let path = dir + "/turned.mp4"
        try TestFiles.ffmpeg(["-i", plain, "-c", "copy", "-metadata:s:v:0", "rotate=90", path])
        let source = try VideoSource(path: path)
        XCTAssertEqual(source.info.quarterTurns, 3)
        XCTAssertEqual(source.info.width, 74)
        XCTAssertEqual(source.info.height, 98)
        let frame = try XCTUnwrap(source.next())
        XCTAssertEqual(frame.width, 74)
        XCTAssertEqual(frame.height, 98)
        func luma(_ x: Int, _ y: Int) -> UInt8 { frame.y[y * frame.width + x] }
        XCTAssertGreaterThan(luma(8, frame.height - 8), 200, "the square is at the bottom left")
        XCTAssertLessThan(luma(8, 8), 40)
        XCTAssertLessThan(luma(frame.width - 8, 8), 40)
        XCTAssertLessThan(luma(frame.width - 8, frame.height - 8), 40)
    }

    func testLimitsAndUnreadableFilesHaveStableCodes() throws {
        let dir = try TestFiles.scratchDirectory(for: self)
        var limits = VideoSource.Limits()
        limits.maxDuration = 2
        XCTAssertThrowsError(
            try VideoSource(path: try TestFiles.fixture("video/man_suit_talking_22fps.mp4"), limits: limits)
        ) { XCTAssertEqual(($0 as? MouthpieceError)?.code, .videoTooLong) }
        let text = dir + "/notes.mp4"
        try Data("not a video".utf8).write(to: URL(fileURLWithPath: text))
        XCTAssertThrowsError(try VideoSource(path: text)) {
            XCTAssertEqual(($0 as? MouthpieceError)?.code, .unsupportedVideo)
        }
        XCTAssertThrowsError(try VideoSource(path: try TestFiles.fixture("speech/en_ljspeech_read.wav"))) {
            XCTAssertEqual(($0 as? MouthpieceError)?.code, .unsupportedVideo, "audio only")
        }
        XCTAssertThrowsError(try VideoSource(path: dir + "/missing.mp4")) {
            XCTAssertEqual(($0 as? MouthpieceError)?.code, .inputNotFound)
        }
    }
}
