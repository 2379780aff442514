import Face
import Foundation
import Media
import MouthpieceCore
import Pipeline
import Speech
import TestSupport
import XCTest

final class RenderJobTests: XCTestCase {
    func testRenderedClipHasExactStreamFactsAndAMouthThatFollowsTheVoice() throws {
        let dir = try TestFiles.scratchDirectory(for: self)
        let speech = SyntheticSpeech(segments: [.silence(0.8), .speech(1.4), .silence(1.0)])
        try speech.writeWAV(to: dir + "/voice.wav")
        var options = RenderOptions()
        options.resolution = .p480
        options.fps = 25
        options.contactSheetPath = dir + "/sheet.png"
        let output = dir + "/clip.mp4"
        let summary = try RenderJob(
            imagePath: try TestFiles.fixture("Tom_Cruise_avp_2014_4.jpg"), audioPath: dir + "/voice.wav",
            outputPath: output, options: options
        ).run()

        // Stream facts, read back with our own demuxer.
        let info = try MediaProbe.probe(path: output)
        let video = try XCTUnwrap(info.video)
        let audio = try XCTUnwrap(info.audio)
        XCTAssertEqual(video.codec, "h264")
        XCTAssertEqual(video.pixelFormat, "yuv420p")
        XCTAssertEqual(video.width, 480)
        XCTAssertEqual(video.height, 680)
        XCTAssertEqual(video.frameRate.num, 25)
        XCTAssertEqual(video.frameRate.den, 1)
        XCTAssertEqual(video.frameCount, 80)
        XCTAssertEqual(summary.frames, 80)
        XCTAssertEqual(audio.codec, "aac")
        XCTAssertEqual(video.duration, speech.duration, accuracy: 1.0 / 25)
        XCTAssertEqual(audio.duration, speech.duration, accuracy: 1.0 / 25)
        XCTAssertEqual(video.duration, audio.duration, accuracy: 1.0 / 25)
        XCTAssertTrue(info.metadata["comment"]?.contains("Synthetic") ?? false)
        // Only the finished file is left in the directory.
        XCTAssertEqual(
            try FileManager.default.contentsOfDirectory(atPath: dir).sorted(), ["clip.mp4", "sheet.png", "voice.wav"])
        let sheet = try ImageDecoder.decode(path: dir + "/sheet.png")
        XCTAssertEqual(sheet.width, 4 * 240 + 5 * ContactSheet.gap)

        // The mouth, measured by re-detecting landmarks on every decoded frame.
        let analyzer = FaceAnalyzer(models: try FaceModels.shared())
        var openings: [Double] = []
        var previous: RGBImage? = nil
        var backgroundSteps: [Double] = []
        try VideoReader.forEachFrame(path: output) { _, frame in
            let landmarks = try analyzer.analyze(frame).landmarks
            openings.append(landmarks.innerLipGap / landmarks.interocular)
            if let previous { backgroundSteps.append(Self.cornerDifference(previous, frame, size: 32)) }
            previous = frame
            return true
        }
        XCTAssertEqual(openings.count, 80, "a face in every frame")
        let speechFrames = (Int(0.9 * 25)..<Int(2.1 * 25)).map { openings[$0] }
        let silenceFrames = (Int(2.6 * 25)..<80).map { openings[$0] } + (0..<Int(0.5 * 25)).map { openings[$0] }
        let speechMean = speechFrames.reduce(0, +) / Double(speechFrames.count)
        let silenceMean = silenceFrames.reduce(0, +) / Double(silenceFrames.count)
        XCTAssertGreaterThan(speechMean, silenceMean + 0.08, "speech \(speechMean) vs silence \(silenceMean)")
        // He smiles with his teeth showing; in silence the lips close over them (by warping).
        XCTAssertLessThan(silenceMean, speechMean / 3, "speech \(speechMean) vs silence \(silenceMean)")
        XCTAssertLessThan(silenceFrames.max()! - silenceFrames.min()!, 0.05, "no quiver in silence")
        // The corners of the picture (background, shoulders) do not change beyond encoder noise while
        // the head moves: frame to frame they are still, with a small step where the encoder
        // starts a new group of pictures.
        let steps = backgroundSteps.sorted()
        XCTAssertLessThan(steps[steps.count / 2], 0.2)
        XCTAssertLessThan(steps.last!, 3)
    }

    func testTallOutputIn1080pWithExactFrameRate() throws {
        let dir = try TestFiles.scratchDirectory(for: self)
        let speech = SyntheticSpeech(segments: [.speech(0.9), .silence(0.35)])
        try speech.writeWAV(to: dir + "/voice.wav")
        var options = RenderOptions()
        options.resolution = .p1080
        options.fps = 24
        options.aspect = .portrait
        options.encoderPreset = "ultrafast"
        let summary = try RenderJob(
            imagePath: try TestFiles.fixture("2008_001009.jpg"), audioPath: dir + "/voice.wav",
            outputPath: dir + "/tall.mp4", options: options
        ).run()
        XCTAssertEqual(summary.warnings, [.multipleFaces, .lowResolution])
        let video = try XCTUnwrap(try MediaProbe.probe(path: dir + "/tall.mp4").video)
        XCTAssertEqual([video.width, video.height], [1080, 1920])
        XCTAssertEqual(video.frameRate.num, 24)
        XCTAssertEqual(video.frameRate.den, 1)
        XCTAssertEqual(video.frameCount, 30)
    }

    /// Renders stopped at random frames (a cancel, a shutdown) end `canceled`, leave nothing, and
    /// never bring the process down: the render thread may be anywhere when the stop comes.
    func testRendersStoppedAtRandomFramesEndCleanly() throws {
        let dir = try TestFiles.scratchDirectory(for: self)
        try SyntheticSpeech(segments: [.speech(3)]).writeWAV(to: dir + "/voice.wav")
        var options = RenderOptions()
        options.resolution = .p480
        options.encoderPreset = "ultrafast"
        for run in 0..<40 {
            let stopAt = Int.random(in: 0...20)
            var frames = 0
            XCTAssertThrowsError(
                try RenderJob(
                    imagePath: try TestFiles.samplePortrait(), audioPath: dir + "/voice.wav",
                    outputPath: dir + "/stopped.mp4", options: options
                ).run(
                    progress: { if $0.stage == .rendering { frames = $0.framesDone } },
                    shouldStop: { frames >= stopAt })
            ) { error in
                XCTAssertEqual((error as? MouthpieceError)?.code, .canceled, "run \(run)")
            }
        }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir), ["voice.wav"])
    }

    func testEachBadInputGivesItsCodeAndLeavesNothingBehind() throws {
        let dir = try TestFiles.scratchDirectory(for: self)
        let inputs = try TestFiles.scratchDirectory(for: self)
        try SyntheticSpeech(segments: [.speech(1.0)]).writeWAV(to: inputs + "/voice.wav")
        try SyntheticSpeech(segments: [.speech(0.2)]).writeWAV(to: inputs + "/blip.wav")
        try Data("hello".utf8).write(to: URL(fileURLWithPath: inputs + "/text.png"))
        let face = try TestFiles.fixture("2008_001009.jpg")
        var tooLong = RenderOptions()
        tooLong.maxAudioSeconds = 0.6
        var tiny = RenderOptions()
        tiny.imageLimits = .init(maxPixels: 10_000)
        let cases: [(String, String, String, RenderOptions, MouthpieceError.Code)] = [
            (
                try TestFiles.fixture("dogs.jpg"), inputs + "/voice.wav", dir + "/a.mp4", RenderOptions(),
                .noFaceDetected
            ),
            (inputs + "/text.png", inputs + "/voice.wav", dir + "/b.mp4", RenderOptions(), .unsupportedImage),
            (face, face, dir + "/c.mp4", RenderOptions(), .unsupportedAudio),
            (face, inputs + "/blip.wav", dir + "/d.mp4", RenderOptions(), .audioTooShort),
            (face, inputs + "/voice.wav", dir + "/e.mp4", tooLong, .audioTooLong),
            (face, inputs + "/voice.wav", dir + "/f.mp4", tiny, .imageTooLarge),
            (face, inputs + "/missing.wav", dir + "/g.mp4", RenderOptions(), .inputNotFound),
            (face, inputs + "/voice.wav", dir + "/no/such/dir/h.mp4", RenderOptions(), .outputNotWritable),
        ]
        for (image, audio, output, options, code) in cases {
            XCTAssertThrowsError(
                try RenderJob(imagePath: image, audioPath: audio, outputPath: output, options: options).run()
            ) { error in
                XCTAssertEqual((error as? MouthpieceError)?.code, code, "\(image) + \(audio)")
            }
        }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir), [], "no partial files")
    }

    func testOptionsRejectValuesOutsideTheirSets() {
        for (fps, resolution, aspect, field) in [
            (23, "720p", "original", "fps"), (30, "4k", "original", "resolution"), (30, "720p", "3:2", "aspect"),
        ] {
            XCTAssertThrowsError(
                try RenderOptions.parse(
                    resolution: resolution, fps: fps, aspect: aspect, seed: nil, expressiveness: nil, faceIndex: nil)
            ) { error in
                XCTAssertEqual((error as? MouthpieceError)?.code, .invalidParameter)
                XCTAssertEqual((error as? MouthpieceError)?.field, field)
            }
        }
    }

    /// Mean absolute difference over the four `size` x `size` corners.
    static func cornerDifference(_ a: RGBImage, _ b: RGBImage, size: Int) -> Double {
        var sum = 0
        var count = 0
        for (x0, y0) in [(0, 0), (a.width - size, 0), (0, a.height - size), (a.width - size, a.height - size)] {
            for y in y0..<(y0 + size) {
                for x in x0..<(x0 + size) {
                    let (p, q) = (a[x, y], b[x, y])
                    sum += abs(Int(p.0) - Int(q.0)) + abs(Int(p.1) - Int(q.1)) + abs(Int(p.2) - Int(q.2))
                    count += 3
                }
            }
        }
        return Double(sum) / Double(count)
    }
}

final class LivingPortraitTests: XCTestCase {
    /// Nose-tip positions re-detected on every frame of a clip.
    func noseTrack(_ path: String) throws -> [Point] {
        let analyzer = FaceAnalyzer(models: try FaceModels.shared())
        var points: [Point] = []
        try VideoReader.forEachFrame(path: path) { _, frame in
            points.append(try analyzer.analyze(frame).landmarks[30])
            return true
        }
        return points
    }

    /// Root-mean-square distance from the mean position.
    func spread(_ points: [Point]) -> Double {
        let mean = Point.mean(points)
        return (points.reduce(0) { $0 + ($1 - mean).length * ($1 - mean).length } / Double(points.count)).squareRoot()
    }

    func testAnimateMakesAnIdleClipWhoseHeadMovesOnlyWhenAsked() throws {
        let dir = try TestFiles.scratchDirectory(for: self)
        var options = RenderOptions()
        options.resolution = .p480
        options.fps = 25
        let portrait = try TestFiles.fixture("Tom_Cruise_avp_2014_4.jpg")
        let moving = try RenderJob(
            imagePath: portrait, sound: .silence(seconds: 6), outputPath: dir + "/moving.mp4", options: options
        ).run()
        XCTAssertEqual(moving.frames, 150)
        let info = try MediaProbe.probe(path: dir + "/moving.mp4")
        XCTAssertEqual(try XCTUnwrap(info.audio).duration, 6, accuracy: 0.04, "a silent track as long as the video")
        options.headMotion = 0
        _ = try RenderJob(
            imagePath: portrait, sound: .silence(seconds: 6), outputPath: dir + "/still.mp4", options: options
        ).run()
        let movingNose = try noseTrack(dir + "/moving.mp4")
        let stillNose = try noseTrack(dir + "/still.mp4")
        XCTAssertEqual(movingNose.count, 150, "a face in every frame")
        // dlib's own landmark jitter on a still face is about a pixel; a moving head is well above it.
        XCTAssertLessThan(spread(stillNose), 1.2, "still at head_motion 0")
        XCTAssertGreaterThan(spread(movingNose), 2 * spread(stillNose), "the head moves at the default")
        XCTAssertGreaterThan(spread(movingNose), 1.5)
    }

    func testSameSeedGivesIdenticalFrames() throws {
        let dir = try TestFiles.scratchDirectory(for: self)
        try SyntheticSpeech(segments: [.speech(1.2), .silence(0.6)]).writeWAV(to: dir + "/v.wav")
        var options = RenderOptions()
        options.resolution = .p480
        options.seed = 42
        func frames(_ name: String, seed: UInt64) throws -> [RGBImage] {
            options.seed = seed
            _ = try RenderJob(
                imagePath: try TestFiles.fixture("2008_001009.jpg"), audioPath: dir + "/v.wav",
                outputPath: dir + "/" + name, options: options
            ).run()
            var out: [RGBImage] = []
            try VideoReader.forEachFrame(path: dir + "/" + name) { _, frame in
                out.append(frame)
                return true
            }
            return out
        }
        let a = try frames("a.mp4", seed: 42)
        let b = try frames("b.mp4", seed: 42)
        let c = try frames("c.mp4", seed: 43)
        XCTAssertEqual(a.count, b.count)
        XCTAssertTrue(a == b, "same seed, same frames")
        XCTAssertFalse(a == c, "another seed, other motion")
    }
}

final class ContactSheetTests: XCTestCase {
    func testTilesShowFramesFromAcrossTheClipInOrder() {
        // Frames whose luma is their index: each tile shows the frame it names.
        var sheet = ContactSheet(
            frameCount: 120, region: (x0: 0, y0: 0, x1: 16, y1: 16), tiles: 6, columns: 3, tileWidth: 8)
        XCTAssertEqual(sheet.frames, [10, 30, 50, 70, 90, 110])
        for n in 0..<120 {
            let frame = YUVImage(
                width: 16, height: 16, y: [UInt8](repeating: UInt8(16 + n), count: 256),
                u: [UInt8](repeating: 128, count: 64), v: [UInt8](repeating: 128, count: 64))
            sheet.capture(frame, index: n)
        }
        XCTAssertEqual(sheet.image.width, 3 * 8 + 4 * ContactSheet.gap)
        XCTAssertEqual(sheet.image.height, 2 * 8 + 3 * ContactSheet.gap)
        for (slot, n) in sheet.frames.enumerated() {
            let x = ContactSheet.gap + (slot % 3) * (8 + ContactSheet.gap) + 4
            let y = ContactSheet.gap + (slot / 3) * (8 + ContactSheet.gap) + 4
            XCTAssertEqual(Double(sheet.image[x, y].0), Double(n) * 255 / 219, accuracy: 1.5, "tile \(slot)")
        }
    }
}

final class BilabialClosureTests: XCTestCase {
    func testLipsCloseOnTheScriptsBilabialsMeasuredFromThePixels() throws {
        let dir = try TestFiles.scratchDirectory(for: self)
        let spoken = try SpeechSynthesizer.speak("My mother made a map. Bob bought maple syrup.", voice: "en")
        try AtomicFile.write(spoken.audio.wavBytes(), to: dir + "/speech.wav")
        var options = RenderOptions()
        options.resolution = .p480
        options.fps = 25
        _ = try RenderJob(
            imagePath: try TestFiles.samplePortrait(), audioPath: dir + "/speech.wav", outputPath: dir + "/clip.mp4",
            options: options
        ).run()
        let evaluation = try ClipEvaluation.evaluate(video: dir + "/clip.mp4")
        let result = evaluation.closures(at: spoken.phonemes.filter(\.isBilabial).map(\.closure))
        XCTAssertGreaterThanOrEqual(result.total, 8)
        XCTAssertGreaterThanOrEqual(Double(result.closed), 0.5 * Double(result.total), "\(result)")
        // The mouth follows the voice, but the vowel decides how far it opens and loudness only
        // scales it (not a level meter: real speakers measure 0.1-0.4), so the even loudness of
        // espeak-ng's speech correlates less than real recordings (0.56-0.78 in docs/LIPSYNC.md).
        XCTAssertGreaterThan(evaluation.correlationAtZero, 0.3)
    }
}

final class HeadMotionMeasureTests: XCTestCase {
    /// `mouthpiece eval`'s head-motion figure (the brows' centre, as docs/REALISM.md measures it)
    /// tells a still head from a moving one, measured from the pixels.
    func testTheBrowsMoveWithHeadMotionAndStayStillWithout() throws {
        let dir = try TestFiles.scratchDirectory(for: self)
        try SyntheticSpeech(segments: [.silence(0.3), .speech(5), .silence(0.3)]).writeWAV(to: dir + "/v.wav")
        var figures: [Double] = []
        for amount in [0.0, 1.0] {
            var options = RenderOptions()
            options.resolution = .p480
            options.fps = 25
            options.headMotion = amount
            _ = try RenderJob(
                imagePath: try TestFiles.fixture("portraits/man_neutral_frontal.jpg"), audioPath: dir + "/v.wav",
                outputPath: dir + "/h\(amount).mp4", options: options
            ).run()
            let evaluation = try ClipEvaluation.evaluate(video: dir + "/h\(amount).mp4")
            XCTAssertEqual(evaluation.facesLost, 0)
            figures.append(evaluation.browMotion)
        }
        print("head motion (brows / eye-corner distance): still \(figures[0]), default \(figures[1])")
        XCTAssertLessThan(figures[0], 0.01, "a still head")
        // REALISM.md: real speakers measure 0.08 to 0.5; the issue asks at least 0.08 at the default.
        XCTAssertGreaterThanOrEqual(figures[1], 0.08, "the default moves the head like a speaker's")
    }
}

/// The engine's seams: a job takes its face analyser and its script speaker as values.
final class EngineSeamTests: XCTestCase {
    /// Faces found by dlib once (`mouthpiece inspect --json` on the sample portrait), kept here.
    static func recordedFaces() throws -> [DetectedFace] {
        struct Recorded: Decodable {
            struct Face: Decodable {
                let box: [String: Double]
                let score: Double
                let landmarks: [[Double]]
            }
            let faces: [Face]
        }
        let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("Recorded/astronaut-faces.json")
        let recorded = try JSONDecoder().decode(Recorded.self, from: Data(contentsOf: path))
        return recorded.faces.map { face in
            DetectedFace(
                box: Rect(
                    x: face.box["x"] ?? 0, y: face.box["y"] ?? 0, width: face.box["width"] ?? 0,
                    height: face.box["height"] ?? 0),
                score: face.score, landmarks: FaceLandmarks(points: face.landmarks.map { Point($0[0], $0[1]) }))
        }
    }

    func testAJobRendersOnRecordedLandmarksWithTheSpeakerItIsGiven() throws {
        let dir = try TestFiles.scratchDirectory(for: self)
        let faces = try Self.recordedFaces()
        let calls = Counter()
        var options = RenderOptions()
        options.resolution = .p480
        options.fps = 25
        var job = RenderJob(
            imagePath: try TestFiles.samplePortrait(), sound: .script(Script(text: "Bob made maps.")),
            outputPath: dir + "/clip.mp4", options: options)
        job.analyser = PortraitAnalyser { portrait, index in
            calls.add("analyse")
            return try PortraitAnalyser.recorded(faces).analyse(portrait, index)
        }
        job.speaker = ScriptSpeaker { script in
            calls.add("speak")
            return try SpeechSynthesizer.speak(script)
        }
        let summary = try job.run()
        XCTAssertEqual(calls.names, ["speak", "analyse"])
        XCTAssertGreaterThan(summary.frames, 25)
        XCTAssertFalse(summary.captions.isEmpty)
        XCTAssertTrue(FileManager.default.fileExists(atPath: dir + "/clip.mp4"))

        // The recorded faces are chosen among, posed and warned about exactly as dlib's are.
        let live = try PortraitInspection(imagePath: try TestFiles.samplePortrait(), faceIndex: nil).analysis
        let replayed = try FaceAnalysis(
            imageWidth: live.imageWidth, imageHeight: live.imageHeight, faces: faces, faceIndex: nil)
        XCTAssertEqual(replayed.chosenIndex, live.chosenIndex)
        XCTAssertEqual(replayed.warnings, live.warnings)
        XCTAssertEqual(replayed.pose.yaw, live.pose.yaw, accuracy: 0.1)
        XCTAssertEqual(replayed.pose.roll, live.pose.roll, accuracy: 0.1)
        XCTAssertThrowsError(try PortraitAnalyser.recorded([]).analyse(RGBImage(width: 8, height: 8), nil))
        // The command line's analyser loads the model for one analysis and frees it: same answer.
        let portrait = try ImageDecoder.decode(path: try TestFiles.samplePortrait())
        let once = try PortraitAnalyser.dlibOnce.analyse(portrait, nil)
        let shared = try PortraitAnalyser.dlib.analyse(portrait, nil)
        XCTAssertEqual(once.landmarks, shared.landmarks)
        XCTAssertEqual(once.chosenIndex, shared.chosenIndex)
    }
}

/// Names recorded from any thread, in order.
final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var recorded: [String] = []
    func add(_ name: String) { lock.withLock { recorded.append(name) } }
    var names: [String] { lock.withLock { recorded } }
}

/// A plan's watermark: in a corner clear of the face, in every frame, and nowhere else.
final class WatermarkTests: XCTestCase {
    func testATextMarkIsDrawnInACornerAndNeverOverTheFace() throws {
        let dir = try TestFiles.scratchDirectory(for: self)
        try SyntheticSpeech(segments: [.speech(0.6), .silence(0.2)]).writeWAV(to: dir + "/v.wav")
        var options = RenderOptions()
        options.resolution = .p480
        options.fps = 25
        options.headMotion = 0
        func render(_ name: String, _ watermark: Watermark?) throws -> [YUVImage] {
            var marked = options
            marked.watermark = watermark
            _ = try RenderJob(
                imagePath: try TestFiles.samplePortrait(), audioPath: dir + "/v.wav", outputPath: dir + "/\(name).mp4",
                options: marked
            ).run()
            let source = try VideoSource(path: dir + "/\(name).mp4")
            var frames: [YUVImage] = []
            while let frame = try source.next() { frames.append(frame) }
            return frames
        }
        let plain = try render("plain", nil)
        let mark = try Watermark(.text("Made with Mouthpiece"), corner: .bottomRight, opacity: 0.8)
        let marked = try render("marked", mark)
        XCTAssertEqual(plain.count, marked.count)
        let width = plain[0].width
        let height = plain[0].height
        let box = mark.box(width: width, height: height)
        // The luma difference inside the mark's box, and everywhere else.
        func difference(_ a: YUVImage, _ b: YUVImage, inside: Bool) -> Double {
            var total = 0.0
            var count = 0
            for y in 0..<height {
                for x in 0..<width {
                    let within =
                        Double(x) >= box.x - 4 && Double(x) < box.x + box.width + 4 && Double(y) >= box.y - 4
                        && Double(y) < box.y + box.height + 4
                    guard within == inside else { continue }
                    total += abs(Double(a.y[y * width + x]) - Double(b.y[y * width + x]))
                    count += 1
                }
            }
            return total / Double(max(1, count))
        }
        for n in [0, marked.count / 2, marked.count - 1] {
            XCTAssertGreaterThan(difference(plain[n], marked[n], inside: true), 8, "frame \(n): the mark shows")
            XCTAssertLessThan(difference(plain[n], marked[n], inside: false), 0.5, "frame \(n): nothing else changes")
        }
        // A mark that would cover the face moves to a corner clear of it.
        let face = Rect(
            x: Double(width) * 0.5, y: Double(height) * 0.6, width: Double(width) * 0.5, height: Double(height) * 0.4)
        let short = try Watermark(.text("MP"), corner: .bottomRight, opacity: 0.8)
        XCTAssertEqual(short.avoiding(face, width: width, height: height).corner, .bottomLeft)
        let everywhere = Rect(x: 0, y: 0, width: Double(width), height: Double(height) * 0.9)
        XCTAssertTrue(
            [.bottomLeft, .bottomRight].contains(short.avoiding(everywhere, width: width, height: height).corner),
            "with no clear corner, the one farthest from the face")
        // A PNG mark, the same way.
        try AtomicFile.write(
            try ImageEncoder.png(RGBImage(width: 120, height: 40, fill: (250, 20, 20))), to: dir + "/mark.png")
        let image = try Watermark(.image(path: dir + "/mark.png"), corner: .topLeft, opacity: 0.9)
        let stamped = try render("stamped", image)
        let imageBox = image.box(width: width, height: height)
        XCTAssertEqual(imageBox.width / imageBox.height, 3, accuracy: 0.01)
        // Red: the V (red-difference) plane at the mark's centre.
        let centre =
            Int(imageBox.y + imageBox.height / 2) / 2 * plain[1].chromaWidth + Int(imageBox.x + imageBox.width / 2) / 2
        XCTAssertGreaterThan(
            Int(stamped[1].v[centre]) - Int(plain[1].v[centre]), 40, "the red mark shows in the top left")
        XCTAssertThrowsError(try Watermark(.text("it's"), opacity: 0.5), "quotes would break the filter")
        XCTAssertThrowsError(try Watermark(.text("ok"), opacity: 0))
    }
}
