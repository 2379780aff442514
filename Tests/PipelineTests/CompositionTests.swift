import Foundation
import Media
import MouthpieceCore
import Render
import TestSupport
import Voice
import XCTest

@testable import Pipeline

/// Compositions end to end on real portraits and real speech: scene timing to the frame, the
/// same identity in every scene, each face's mouth measured from the pixels against its own
/// voice, backgrounds, and refusals before anything renders.
final class CompositionTests: XCTestCase {
    var scratch = ""
    var man = ""
    var woman = ""

    override func setUpWithError() throws {
        scratch = try TestFiles.scratchDirectory(for: self)
        man = try TestFiles.fixture("portraits/man_neutral_frontal.jpg")
        woman = try TestFiles.fixture("portraits/woman_closed_smile.png")
    }

    /// `seconds` of a speech fixture from `from`, as a WAV in the scratch folder.
    func speech(_ fixture: String, from: Double = 0, seconds: Double, name: String) throws -> String {
        let clip = try AudioDecoder.decode(path: try TestFiles.fixture("speech/\(fixture)"), sampleRate: 16_000)
        let start = Int(from * 16_000)
        let samples = Array(clip.samples[start..<min(clip.samples.count, start + Int(seconds * 16_000))])
        let path = scratch + "/\(name).wav"
        try AtomicFile.write(AudioClip(sampleRate: 16_000, samples: samples).wavBytes(), to: path)
        return path
    }

    func job(_ composition: Composition, _ output: String = "out.mp4") throws -> CompositionJob {
        try CompositionJob(
            composition: composition, outputPath: scratch + "/" + output, files: .local(relativeTo: scratch))
    }

    /// A file holding `voice` placed `offset` seconds into `length` seconds of silence: what one
    /// face should follow.
    func placed(_ voice: String, at offset: Double, length: Double, name: String) throws -> String {
        let clip = try AudioDecoder.decode(path: voice, sampleRate: 16_000)
        var samples = [Float](repeating: 0, count: Int(length * 16_000))
        let start = Int(offset * 16_000)
        for (i, s) in clip.samples.enumerated() where start + i < samples.count { samples[start + i] = s }
        let path = scratch + "/\(name).wav"
        try AtomicFile.write(AudioClip(sampleRate: 16_000, samples: samples).wavBytes(), to: path)
        return path
    }

    /// One panel of a composed video (`crop`: w:h:x:y) from `start` for `seconds`, with `voice` as
    /// its sound, measured from its pixels.
    func evaluatePanel(
        _ video: String, crop: String, start: Double, seconds: Double, voice: String, name: String
    ) throws -> ClipEvaluation {
        let path = scratch + "/\(name).mp4"
        try TestFiles.ffmpeg([
            "-ss", String(start), "-t", String(seconds), "-i", video, "-i", voice, "-map", "0:v", "-map", "1:a",
            "-filter:v", "crop=\(crop)", "-c:v", "libx264", "-crf", "12", "-preset", "veryfast", "-shortest", path,
        ])
        return try ClipEvaluation.evaluate(video: path, maxLag: 5)
    }

    func testThreeScenesTimedToTheFrameWithEachMouthFollowingOnlyItsOwnVoice() throws {
        let first = try speech("en_librispeech_read.wav", seconds: 4, name: "first")
        let question = try speech("en_librispeech_read.wav", from: 4.5, seconds: 3.5, name: "question")
        let answer = try speech("en_ljspeech_read.wav", seconds: 4, name: "answer")
        try TestFiles.ffmpeg(["-f", "lavfi", "-i", "color=c=0xC02090:s=640x480", "-frames:v", "1", scratch + "/bg.png"])
        let composition = Composition(
            scenes: [
                .init(
                    speakers: [.init(image: man, audio: "first.wav")], background: .init(color: "#203a5c"),
                    transition: .init(type: .crossfade, seconds: 0.4)),
                .init(
                    speakers: [.init(image: woman, script: .init(text: "Thank you. It will be sunny all week."))],
                    background: .init(image: "bg.png")),
                .init(
                    speakers: [
                        .init(image: man, audio: "question.wav"),
                        .init(image: woman, audio: "answer.wav", start: 3.8),
                    ], layout: .sideBySide),
            ], resolution: "480p", fps: 25, aspect: "16:9")
        var job = try job(composition)
        job.options.encoderPreset = "ultrafast"
        var reports = 0
        let summary = try job.run(progress: { _ in reports += 1 })
        XCTAssertGreaterThan(reports, 100, "progress across the scenes")

        // Timing: each scene's frames from its speech, the cross-fade's 10 frames shared.
        let secondLength = try XCTUnwrap(summary.sceneStarts.last) - summary.sceneStarts[1]
        let thirdFrames = Int(((3.8 + 4) * 25).rounded())
        XCTAssertEqual(summary.sceneStarts[0], 0)
        XCTAssertEqual(summary.sceneStarts[1], Double(100 - 10) / 25, accuracy: 1e-9)
        XCTAssertEqual(summary.frames, 100 + Int((secondLength * 25).rounded()) + thirdFrames - 10)
        let info = try MediaProbe.probe(path: summary.output)
        let video = try XCTUnwrap(info.video)
        XCTAssertEqual(video.width, 854)
        XCTAssertEqual(video.height, 480)
        XCTAssertEqual(try XCTUnwrap(info.duration), Double(summary.frames) / 25, accuracy: 1.0 / 25)

        // Cuts land on exact frames: the picture changes wholly between the last frame of the
        // second scene and the first of the third, and little between frames within a scene.
        let cut = Int((summary.sceneStarts[2] * 25).rounded())
        var around: [Int: RGBImage] = [:]
        try VideoReader.forEachFrame(path: summary.output) { n, frame in
            if [cut - 2, cut - 1, cut, cut + 1].contains(n) { around[n] = frame }
            return n <= cut + 1
        }
        func change(_ a: Int, _ b: Int) throws -> Double {
            let x = try XCTUnwrap(around[a])
            let y = try XCTUnwrap(around[b])
            return zip(x.pixels, y.pixels).reduce(0.0) { $0 + abs(Double($1.0) - Double($1.1)) }
                / Double(x.pixels.count)
        }
        XCTAssertGreaterThan(try change(cut - 1, cut), 10 * max(try change(cut - 2, cut - 1), try change(cut, cut + 1)))

        // The background picture shows around the head in the second scene, not over the face.
        let middle = Int((summary.sceneStarts[1] * 25).rounded()) + 30
        var still = RGBImage(width: 1, height: 1)
        try VideoReader.forEachFrame(path: summary.output) { n, frame in
            if n == middle { still = frame }
            return n < middle
        }
        func magenta(_ x: Int, _ y: Int) -> Bool {
            let (r, g, b) = still[x, y]
            // 0xC02090 after the encoder's round trip (the reader's conversion shifts it a little).
            return r > 150 && g < 60 && b > 110 && r > b
        }
        let edge = (0..<still.height).filter { magenta(8, $0) && magenta(still.width - 9, $0) }.count
        XCTAssertGreaterThan(
            Double(edge) / Double(still.height), 0.5, "the backdrop at both sides: \(still[8, 100]) at (8, 100)")
        XCTAssertFalse(magenta(still.width / 2, still.height / 2), "the face in the middle")

        // In the side-by-side scene each face follows its own voice and stays shut for the other.
        let start = summary.sceneStarts[2]
        let length = Double(thirdFrames) / 25
        let half = 854 / 2 & ~1
        let left = try evaluatePanel(
            summary.output, crop: "\(half):480:0:0", start: start, seconds: length,
            voice: try placed(question, at: 0, length: length, name: "left-voice"), name: "left")
        let right = try evaluatePanel(
            summary.output, crop: "\(854 - half):480:\(half):0", start: start, seconds: length,
            voice: try placed(answer, at: 3.8, length: length, name: "right-voice"), name: "right")
        for (name, panel) in [("left", left), ("right", right)] {
            XCTAssertEqual(panel.facesLost, 0, name)
            XCTAssertGreaterThanOrEqual(try XCTUnwrap(panel.correlationByLag.map(\.r).max()), 0.5, name)
            XCTAssertLessThanOrEqual(
                panel.openingInSilence, panel.openingInSpeech / 3, "\(name): shut while the other speaks")
        }
    }

    /// A video speaker is a clone of the clip for the scene: its mouth follows its voice from the
    /// pixels, at the composition's frame rate, beside a portrait that listens.
    func testAVideoSpeakerIsClonedForItsScene() throws {
        let voice = try speech("en_librispeech_read.wav", seconds: 4, name: "voice")
        let clip = try TestFiles.fixture("video/man_suit_talking_22fps.mp4")
        let composition = Composition(
            scenes: [
                .init(speakers: [.init(video: clip, audio: "voice.wav"), .init(image: woman)], layout: .sideBySide)
            ], resolution: "480p", fps: 25)
        var job = try job(composition, "clone.mp4")
        job.options.encoderPreset = "ultrafast"
        let summary = try job.run()
        XCTAssertEqual(summary.frames, 100)
        let info = try MediaProbe.probe(path: summary.output)
        XCTAssertEqual(try XCTUnwrap(info.video).width, 854)
        let half = 854 / 2 & ~1
        let own = try placed(voice, at: 0, length: 4, name: "own")
        let left = try evaluatePanel(
            summary.output, crop: "\(half):480:0:0", start: 0, seconds: 4, voice: own, name: "video-panel")
        XCTAssertLessThanOrEqual(left.facesLost, 2, "the clone's face in its panel")
        XCTAssertGreaterThanOrEqual(try XCTUnwrap(left.correlationByLag.map(\.r).max()), 0.5, "mouth follows the voice")
        let right = try evaluatePanel(
            summary.output, crop: "\(854 - half):480:\(half):0", start: 0, seconds: 4, voice: own, name: "listener")
        XCTAssertLessThan(right.openingInSpeech, left.openingInSpeech / 3, "the listener keeps the mouth shut")
    }

    func testTheSameSpeakerStartsEveryScenePixelForPixel() throws {
        // The spec names them relative to the scratch folder.
        _ = try speech("en_librispeech_read.wav", seconds: 2, name: "a")
        _ = try speech("en_ljspeech_read.wav", seconds: 2, name: "b")
        let composition = Composition(
            scenes: [
                .init(speakers: [.init(image: man, audio: "a.wav")]),
                .init(speakers: [.init(image: woman, audio: "b.wav")]),
                // This voice starts at once: the man listens for half a second first.
                .init(speakers: [.init(image: man, audio: "b.wav", start: 0.5)]),
                .init(speakers: [.init(image: man, audio: "a.wav")], background: .init(color: "#101010")),
            ], resolution: "480p", fps: 25)
        let job = try job(composition)
        let plan = try CompositionPlan(job)
        defer { plan.cleanUp() }
        let voices = try plan.mixSound(into: scratch + "/mix.wav", music: nil, files: job.files)
        let frames = SceneFrames(plan: plan, voices: voices, options: job.options, analyser: job.analyser)
        let starts = try plan.scenes.map { try frames.frame($0.startFrame) }
        // The inner face (from the eyes to the chin) of the man's first frame in scenes 1, 3 and 4.
        let face = try XCTUnwrap(plan.scenes[0].speakers.first?.analysis?.landmarks)
        let framing = Framing.plan(
            imageWidth: 1638, imageHeight: 2048, face: face, width: plan.width, height: plan.height)
        // From the outer eye corners across, from the eyes down to the lower lip: face alone.
        let mapped = face.mapped(framing.map)
        let box = Rect(
            x: mapped[36].x, y: mapped[37].y, width: mapped[45].x - mapped[36].x, height: mapped[57].y - mapped[37].y)
        func region(_ image: YUVImage) -> [UInt8] {
            (Int(box.minY)..<Int(box.maxY)).flatMap { y in
                image.y[(y * image.width + Int(box.minX))..<(y * image.width + Int(box.maxX))]
            }
        }
        XCTAssertTrue(region(starts[0]) == region(starts[2]), "the same framing, the same first frame")
        XCTAssertTrue(region(starts[0]) == region(starts[3]), "another backdrop, the same face")
        XCTAssertFalse(region(starts[0]) == region(starts[1]), "another person")
        // And the face does move within a scene.
        XCTAssertFalse(region(starts[0]) == region(try frames.frame(plan.scenes[0].startFrame + 20)))
    }

    /// A two-channel dialogue recording: each speaker follows their own channel, and the music
    /// bed drops while anyone speaks.
    func testAStereoDialogueWithAMusicBedDuckedUnderTheSpeech() throws {
        let question = try speech("en_librispeech_read.wav", seconds: 3, name: "q")
        let answer = try speech("en_ljspeech_read.wav", seconds: 3, name: "a")
        // Left: the question, then silence; right: silence, then the answer from 5 s.
        let q = try AudioDecoder.decode(path: question, sampleRate: 16_000).samples
        let a = try AudioDecoder.decode(path: answer, sampleRate: 16_000).samples
        let length = 8 * 16_000 + 8_000
        var left = [Float](repeating: 0, count: length)
        var right = [Float](repeating: 0, count: length)
        for (i, s) in q.enumerated() { left[i] = s }
        for (i, s) in a.enumerated() where 80_000 + i < length { right[80_000 + i] = s }
        try AtomicFile.write(AudioClip(sampleRate: 16_000, samples: left).wavBytes(), to: scratch + "/l.wav")
        try AtomicFile.write(AudioClip(sampleRate: 16_000, samples: right).wavBytes(), to: scratch + "/r.wav")
        try TestFiles.ffmpeg([
            "-i", scratch + "/l.wav", "-i", scratch + "/r.wav", "-filter_complex", "[0][1]amerge=inputs=2",
            scratch + "/dialogue.wav",
        ])
        // A steady tone as the music, so its level is easy to read.
        try TestFiles.ffmpeg(["-f", "lavfi", "-i", "sine=frequency=220:duration=2", scratch + "/music.wav"])
        let composition = Composition(
            scenes: [
                .init(
                    speakers: [
                        .init(image: man, audio: "dialogue.wav", channel: 0),
                        .init(image: woman, audio: "dialogue.wav", channel: 1),
                    ], layout: .sideBySide)
            ], resolution: "480p", fps: 25, music: .init(audio: "music.wav", volume: 0.3))
        let job = try job(composition, "dialogue.mp4")
        let plan = try CompositionPlan(job)
        defer { plan.cleanUp() }
        let mix = scratch + "/mix.wav"
        let voices = try plan.mixSound(into: mix, music: composition.music, files: job.files)
        // Each speaker's measured voice is their own channel: loud where they speak, silent elsewhere.
        func loud(_ features: VoiceFeatures, _ seconds: ClosedRange<Double>) -> Double {
            let frames = features.frames[Int(seconds.lowerBound * 25)..<Int(seconds.upperBound * 25)]
            return frames.map(\.loudness).reduce(0, +) / Double(frames.count)
        }
        XCTAssertGreaterThan(loud(voices[0][0], 1...2.5), loud(voices[0][0], 6...7.5) + 30)
        XCTAssertGreaterThan(loud(voices[0][1], 6...7.5), loud(voices[0][1], 1...2.5) + 30)
        // The mix: as long as the video; the tone (looped past its 2 s) quieter under speech than
        // in the pause between the two voices.
        let mixed = try AudioDecoder.decode(path: mix, sampleRate: 48_000).samples
        XCTAssertEqual(mixed.count, plan.frameCount * 48_000 / 25)
        func rms(_ seconds: ClosedRange<Double>, of samples: [Float]) -> Double {
            let part = samples[Int(seconds.lowerBound * 48_000)..<Int(seconds.upperBound * 48_000)]
            return (part.reduce(0.0) { $0 + Double($1 * $1) } / Double(part.count)).squareRoot()
        }
        let tone = try AudioDecoder.decode(path: scratch + "/music.wav", sampleRate: 48_000).samples
        let toneLevel = rms(0.5...1.5, of: tone) * 0.3
        XCTAssertEqual(rms(4.2...4.6, of: mixed), toneLevel, accuracy: toneLevel * 0.15, "full level in the pause")
        // Under speech, the speech itself adds level: compare the mix less the speech.
        let speechOnly = zip(left, right).map { ($0 + $1) }
        let resampled = AudioClip(sampleRate: 16_000, samples: speechOnly)
        try AtomicFile.write(resampled.wavBytes(), to: scratch + "/speech.wav")
        let speech48 = try AudioDecoder.decode(path: scratch + "/speech.wav", sampleRate: 48_000).samples
        let musicUnderSpeech = zip(mixed, speech48).map { $0 - $1 }
        XCTAssertLessThan(rms(1...2.5, of: musicUnderSpeech), toneLevel * 0.5, "ducked under the question")
        XCTAssertLessThan(rms(6...7.5, of: musicUnderSpeech), toneLevel * 0.5, "ducked under the answer")
    }

    func testBadCompositionsAreRefusedWithTheFieldBeforeAnythingRenders() throws {
        _ = try speech("en_librispeech_read.wav", seconds: 2, name: "voice")
        let avatars = CompositionFiles(
            file: CompositionFiles.local(relativeTo: scratch).file,
            avatar: { id, field in
                throw MouthpieceError(.notFound, "No avatar \(id).", field: field)
            })
        let cases: [(Composition, String, MouthpieceError.Code)] = [
            (Composition(scenes: []), "scenes", .invalidParameter),
            (
                Composition(scenes: [.init(speakers: [.init(avatarID: "av_missing", audio: "voice.wav")])]),
                "scenes[0].speakers[0].avatar_id", .notFound
            ),
            (
                Composition(scenes: [.init(speakers: [.init(image: man, audio: "missing.wav")])]),
                "scenes[0].speakers[0].audio", .inputNotFound
            ),
            (
                Composition(scenes: [.init(speakers: [.init(image: man, audio: "voice.wav", start: -1)])]),
                "scenes[0].speakers[0].start", .invalidParameter
            ),
            (
                Composition(scenes: [
                    .init(speakers: [.init(image: man, audio: "voice.wav")]),
                    .init(
                        speakers: [
                            .init(image: man, audio: "voice.wav"), .init(image: woman, audio: "voice.wav", start: 1),
                        ], layout: .sideBySide),
                ]),
                "scenes[1].speakers[1].start", .invalidParameter
            ),
            (
                Composition(scenes: [.init(speakers: [.init(image: man, audio: "voice.wav")], duration: 1)]),
                "scenes[0].duration", .invalidParameter
            ),
            (
                Composition(scenes: [
                    .init(speakers: [.init(image: man, audio: "voice.wav"), .init(image: woman)], layout: .single)
                ]), "scenes[0].layout", .invalidParameter
            ),
            (
                Composition(scenes: [
                    .init(speakers: [.init(image: man, audio: "voice.wav")], background: .init(color: "blue"))
                ]), "scenes[0].background.color", .invalidParameter
            ),
            (
                Composition(scenes: [
                    .init(
                        speakers: [.init(image: man, audio: "voice.wav")],
                        transition: .init(type: .crossfade, seconds: 5)),
                    .init(speakers: [.init(image: man, audio: "voice.wav")]),
                ]), "scenes[0].transition.seconds", .invalidParameter
            ),
        ]
        for (composition, field, code) in cases {
            let output = scratch + "/refused.mp4"
            do {
                var job = try CompositionJob(composition: composition, outputPath: output, files: avatars)
                job.analyser = .dlib
                _ = try job.run()
                XCTFail("accepted; expected a refusal at \(field)")
            } catch let error as MouthpieceError {
                XCTAssertEqual(error.field, field, error.message)
                XCTAssertEqual(error.code, code, error.message)
            }
            XCTAssertFalse(FileManager.default.fileExists(atPath: output), "nothing written for \(field)")
            let left = try FileManager.default.contentsOfDirectory(atPath: scratch).filter { $0.contains("refused") }
            XCTAssertEqual(left, [], "no temporary file left for \(field)")
        }
        // A malformed document names the field too.
        XCTAssertThrowsError(try Composition.decode(Data(#"{"scenes": [{"speakers": [{"image": 3}]}]}"#.utf8))) {
            XCTAssertEqual(($0 as? MouthpieceError)?.field, "scenes[0].speakers[0].image")
        }
    }
}
