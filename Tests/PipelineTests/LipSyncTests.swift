import Face
import Foundation
import Media
import MouthpieceCore
import Pipeline
import TestSupport
import XCTest

/// `LipSyncJob` on real footage: a real talking clip made to say other real speech.
final class LipSyncTests: XCTestCase {
    static let clip = "video/man_suit_talking_22fps.mp4"
    static let speech = "speech/en_librispeech_read.wav"

    func testARealClipSaysOtherRealSpeechWithItsOwnMouthsAndAnUnchangedUpperFace() throws {
        let dir = try TestFiles.scratchDirectory(for: self)
        let video = try TestFiles.fixture(Self.clip)
        let audio = try TestFiles.fixture(Self.speech)
        let output = dir + "/out.mp4"
        let summary = try LipSyncJob(videoPath: video, sound: .audio(path: audio), outputPath: output).run()

        // The video's own rate (an odd 1350/61), the new audio's length, within one frame.
        let info = try MediaProbe.probe(path: output)
        let stream = try XCTUnwrap(info.video)
        XCTAssertEqual(stream.frameRate.num * 61, stream.frameRate.den * 1350)
        let audioSeconds = try XCTUnwrap(MediaProbe.probe(path: audio).audio?.duration)
        XCTAssertEqual(summary.duration, audioSeconds, accuracy: 61.0 / 1350)
        XCTAssertEqual(try XCTUnwrap(info.audio?.duration), audioSeconds, accuracy: 61.0 / 1350)
        XCTAssertEqual(stream.frameCount, summary.frames)
        XCTAssertEqual(ls(dir), ["out.mp4"], "only the finished file is left")

        // The mouth, measured from the output's pixels, follows the new voice and closes in its pauses.
        let measured = try ClipEvaluation.evaluate(video: output)
        XCTAssertEqual(measured.facesLost, 0, "a face on every frame, as in the input")
        XCTAssertGreaterThanOrEqual(measured.correlationAtZero, 0.5, "\(measured.correlationByLag)")
        XCTAssertTrue((-4...1).contains(measured.bestLag), "best lag \(measured.bestLag)")
        XCTAssertLessThanOrEqual(
            measured.openingInSilence, measured.openingInSpeech / 3,
            "silence \(measured.openingInSilence) vs speech \(measured.openingInSpeech)")

        // Above the nose, every output frame is its source frame (forward, then backward: bounce).
        var inputFrames: [YUVImage] = []
        let input = try VideoSource(path: video)
        while let frame = try input.next() { inputFrames.append(frame) }
        XCTAssertEqual(inputFrames.count, 135)
        let tracker = FaceTracker(models: try FaceModels.shared())
        let noseRow = try Int(XCTUnwrap(tracker.track(inputFrames[0])).landmarks[30].y) - 4
        let out = try VideoSource(path: output)
        var n = 0
        var worst = Double.infinity
        var lower: [Double] = []
        while let frame = try out.next() {
            let source = inputFrames[SyncMode.bounce.sourceFrame(n, count: inputFrames.count)]
            worst = min(worst, Self.psnr(frame, source, rows: 0..<noseRow))
            lower.append(Self.psnr(frame, source, rows: noseRow..<(noseRow + 120)))
            n += 1
        }
        XCTAssertEqual(n, summary.frames)
        XCTAssertGreaterThanOrEqual(worst, 35, "the upper face and background are the input's")
        XCTAssertLessThan(lower.sorted()[lower.count / 2], worst - 3, "the lower face did change")
    }

    func testFramesWithoutAFacePassThroughAndAClipWithoutAnyIsRefused() throws {
        let dir = try TestFiles.scratchDirectory(for: self)
        // The face hidden behind a grey card for frames 20-39; VP9 in WebM, without sound.
        let hidden = dir + "/hidden.webm"
        try TestFiles.ffmpeg([
            "-i", try TestFiles.fixture(Self.clip), "-t", "3", "-an", "-vf",
            "drawbox=enable='between(n,20,39)':x=120:y=0:w=460:h=470:color=gray:t=fill",
            "-c:v", "libvpx-vp9", "-deadline", "realtime", "-cpu-used", "8", "-b:v", "2M", hidden,
        ])
        let output = dir + "/out.mp4"
        let summary = try LipSyncJob(
            videoPath: hidden, sound: .audio(path: try TestFiles.fixture(Self.speech)), outputPath: output,
            syncMode: .cut
        ).run()
        var inputFrames: [YUVImage] = []
        let input = try VideoSource(path: hidden)
        while let frame = try input.next() { inputFrames.append(frame) }
        XCTAssertEqual(summary.frames, inputFrames.count, "cut: the shorter video decides")
        let out = try VideoSource(path: output)
        var n = 0
        while let frame = try out.next() {
            let whole = Self.psnr(frame, inputFrames[n], rows: 0..<frame.height)
            if (20...39).contains(n) {
                XCTAssertGreaterThanOrEqual(whole, 35, "frame \(n) has no face and is unchanged")
            }
            n += 1
        }
        XCTAssertEqual(n, inputFrames.count)

        // No face at all: refused, nothing written.
        let empty = dir + "/empty.mp4"
        try TestFiles.ffmpeg([
            "-f", "lavfi", "-i", "testsrc=size=320x240:rate=25:duration=2", "-pix_fmt", "yuv420p", empty,
        ])
        XCTAssertThrowsError(
            try LipSyncJob(
                videoPath: empty, sound: .audio(path: try TestFiles.fixture(Self.speech)), outputPath: dir + "/none.mp4"
            ).run()
        ) { error in
            XCTAssertEqual((error as? MouthpieceError)?.code, .noFaceDetected)
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/none.mp4"))
    }

    func testACloneOfAFiveSecondClipSpeaksElevenSecondsWithoutAJump() throws {
        let dir = try TestFiles.scratchDirectory(for: self)
        let clip = dir + "/clip.mp4"
        try TestFiles.ffmpeg([
            "-i", try TestFiles.fixture(Self.clip), "-t", "5", "-an", "-c:v", "libx264", "-crf", "16", clip,
        ])
        let speech = dir + "/speech.wav"
        try TestFiles.ffmpeg([
            "-i", try TestFiles.fixture(Self.speech), "-i", try TestFiles.fixture("speech/en_ljspeech_read.wav"),
            "-filter_complex", "[0:a]aresample=22050[a];[1:a]aresample=22050[b];[a][b]concat=n=2:v=0:a=1", "-t", "11",
            speech,
        ])
        var job = LipSyncJob(videoPath: clip, sound: .audio(path: speech), outputPath: dir + "/clone.mp4")
        job.clone = true
        let summary = try job.run()
        XCTAssertEqual(summary.duration, 11, accuracy: 61.0 / 1350)

        // The largest change from one frame to the next: in the clone, no more than 1.5 times the
        // clip's own largest (turning around where the head rests shows no jump).
        func largestStep(_ path: String) throws -> Double {
            let source = try VideoSource(path: path)
            var previous: YUVImage?
            var largest = 0.0
            while let frame = try source.next() {
                if let previous {
                    // Every third sample: enough for a mean, and quick in a debug build.
                    var sum = 0
                    for i in stride(from: 0, to: frame.y.count, by: 3) {
                        sum += abs(Int(frame.y[i]) - Int(previous.y[i]))
                    }
                    largest = max(largest, Double(sum) / Double(frame.y.count / 3))
                }
                previous = frame
            }
            return largest
        }
        let own = try largestStep(clip)
        let clone = try largestStep(dir + "/clone.mp4")
        XCTAssertLessThanOrEqual(clone, 1.5 * own, "clone \(clone) vs clip \(own)")
        let measured = try ClipEvaluation.evaluate(video: dir + "/clone.mp4")
        XCTAssertEqual(measured.facesLost, 0)
        XCTAssertGreaterThanOrEqual(measured.correlationAtZero, 0.5, "\(measured.correlationByLag)")
    }

    /// Stopped at any moment (while tracking, or while pasting and encoding with the paste thread
    /// ahead): `canceled`, nothing left behind, and the next job runs.
    func testALipSyncStoppedAtAnyMomentEndsCleanly() throws {
        let dir = try TestFiles.scratchDirectory(for: self)
        let video = try TestFiles.fixture(Self.clip)
        let audio = try TestFiles.fixture("speech/en_ljspeech_read.wav")
        for stopAt in [5, 150, 200, 260] {
            var asked = 0
            XCTAssertThrowsError(
                try LipSyncJob(videoPath: video, sound: .audio(path: audio), outputPath: dir + "/out.mp4").run(
                    shouldStop: {
                        asked += 1
                        return asked >= stopAt
                    })
            ) { XCTAssertEqual(($0 as? MouthpieceError)?.code, .canceled, "stopped at \(stopAt)") }
            XCTAssertEqual(ls(dir), [], "nothing left after a stop at \(stopAt)")
        }
    }

    func testSyncModesMapOutputFramesToSourceFrames() {
        XCTAssertEqual(
            (0..<12).map { SyncMode.bounce.sourceFrame($0, count: 4) }, [0, 1, 2, 3, 2, 1, 0, 1, 2, 3, 2, 1])
        XCTAssertEqual((0..<9).map { SyncMode.loop.sourceFrame($0, count: 4) }, [0, 1, 2, 3, 0, 1, 2, 3, 0])
        XCTAssertEqual(SyncMode.cut.outputFrames(video: 100, sound: 40), 40)
        XCTAssertEqual(SyncMode.cut.outputFrames(video: 30, sound: 40), 30)
        XCTAssertEqual(SyncMode.bounce.outputFrames(video: 30, sound: 40), 40)
        XCTAssertEqual(SyncMode.bounce.outputFrames(video: 300, sound: 40), 40)
        XCTAssertEqual(SyncMode.silence.outputFrames(video: 30, sound: 40), 30)
        XCTAssertEqual(SyncMode.silence.outputFrames(video: 300, sound: 40), 300)
    }

    func ls(_ dir: String) -> [String] { ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).sorted() }

    /// Luma PSNR over a band of rows.
    static func psnr(_ a: YUVImage, _ b: YUVImage, rows: Range<Int>) -> Double {
        var sum = 0.0
        var count = 0
        for row in max(0, rows.lowerBound)..<min(a.height, rows.upperBound) {
            for x in 0..<a.width {
                let d = Double(a.y[row * a.width + x]) - Double(b.y[row * b.width + x])
                sum += d * d
                count += 1
            }
        }
        let mse = sum / Double(max(count, 1))
        return mse == 0 ? 99 : 10 * log10(255 * 255 / mse)
    }
}

final class OpenMouthWarningTests: XCTestCase {
    /// A portrait with the mouth wide open is animated with a clear warning; a smile with teeth
    /// (which closes well) is not.
    func testAWideOpenMouthIsWarnedAboutAndASmileIsNot() throws {
        let open = try PortraitInspection(imagePath: try TestFiles.fixture("portraits/woman_mouth_wide_open.jpg"))
        XCTAssertTrue(open.warnings.contains(.mouthOpenAtRest), "\(open.rig.restOpeningShare)")
        let smile = try PortraitInspection(imagePath: try TestFiles.fixture("Tom_Cruise_avp_2014_4.jpg"))
        XCTAssertTrue(smile.rig.mouthOpenAtRest)
        XCTAssertFalse(smile.warnings.contains(.mouthOpenAtRest), "\(smile.rig.restOpeningShare)")
    }
}
