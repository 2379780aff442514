import Face
import Foundation
import Media
import Motion
import MouthpieceCore
import Provenance
import Render
import Speech
import Voice

/// Progress of a render, reported after each stage and frame.
public struct RenderProgress: Sendable {
    public enum Stage: String, Sendable { case analysing, rendering, finishing }
    public let stage: Stage
    public let framesDone: Int
    public let frameCount: Int

    public var fraction: Double { frameCount > 0 ? Double(framesDone) / Double(frameCount) : 0 }
}

/// What a finished render made, and how long each stage took.
public struct RenderSummary: Sendable {
    public let output: String
    public let duration: Double
    public let frames: Int
    public let fps: Int
    public let width: Int
    public let height: Int
    public let bytes: Int
    public let framing: Framing.Mode
    public let warnings: [FaceWarning]
    /// Captions, for a clip made from a script (empty otherwise).
    public var captions: [CaptionCue] = []
    /// The voice that spoke the script ("festival-slt", "espeak-ng+f3"), for a clip made from one.
    public var voice: String? = nil
    /// Seconds per stage: decode_image, face_analysis, voice_analysis (audio decoding included),
    /// render (waiting for frames), encode, total.
    public let timings: [(stage: String, seconds: Double)]
    /// The signed provenance record appended to the file, if it was signed.
    public var provenance: SignedProvenance? = nil
}

/// The whole pipeline for one clip: portrait + audio -> MP4.
///
/// Stages: decode the portrait, find the face, decode the audio, measure the voice, build the
/// motion track, frame the shot, then render and encode frame by frame. The MP4 is written to a
/// temporary name beside the output and renamed when complete, so a failure leaves nothing behind.
public struct RenderJob: Sendable {
    /// What drives the clip: a voice, or nothing for a given time (a living portrait).
    public enum Sound: Sendable {
        case audio(path: String)
        case silence(seconds: Double)
        /// Speech made from a script by espeak-ng; its phonemes drive the mouth directly.
        case script(Script)
    }

    public let imagePath: String
    public let sound: Sound
    public let outputPath: String
    public let options: RenderOptions
    /// Finds the face (dlib unless a test records one).
    public var analyser = PortraitAnalyser.dlib
    /// Says a script (espeak-ng unless a test gives another).
    public var speaker = ScriptSpeaker.espeak
    /// Signs the output: a provenance record appended to the MP4 (nil: none).
    public var provenance: ProvenanceStamp?

    public init(imagePath: String, sound: Sound, outputPath: String, options: RenderOptions = RenderOptions()) {
        self.imagePath = imagePath
        self.sound = sound
        self.outputPath = outputPath
        self.options = options
    }

    public init(imagePath: String, audioPath: String, outputPath: String, options: RenderOptions = RenderOptions()) {
        self.init(imagePath: imagePath, sound: .audio(path: audioPath), outputPath: outputPath, options: options)
    }

    /// Renders the clip. `shouldStop` is asked after every frame; when it answers true the render
    /// ends with `canceled` and nothing is left behind.
    public func run(
        progress: (RenderProgress) -> Void = { _ in }, shouldStop: () -> Bool = { false }
    ) throws -> RenderSummary {
        let stages = StageTimer()
        let temporary = try OutputFile.reserve(outputPath)
        var keep = false
        defer { if !keep { OutputFile.discard(temporary) } }

        progress(RenderProgress(stage: .analysing, framesDone: 0, frameCount: 0))
        // A script is spoken first, into a WAV file that then takes the place of an audio input.
        let prepared = try stages.time("speech") {
            try SpokenSound.prepare(sound, maxSeconds: options.maxAudioSeconds, speaker: speaker)
        }
        defer { prepared.cleanUp() }
        let scene = try analyse(prepared, stages)
        let burnPath = try captionsToBurn(scene.captions, spoken: prepared.spoken != nil)
        defer { if let burnPath { try? FileManager.default.removeItem(atPath: burnPath) } }
        let (shot, writer) = try stages.time("prepare") {
            let shot = Shot(scene, options: options)
            return (shot, try openWriter(temporary, shot: shot, audioPath: prepared.audioPath, burnCaptions: burnPath))
        }
        try encode(scene.motion, shot: shot, into: writer, stages: stages, progress: progress, shouldStop: shouldStop)
        if prepared.spoken != nil && options.captionFiles {
            try Captions.writeFiles(scene.captions, besides: outputPath)
        }
        let record = try provenance?.apply(to: temporary)
        try OutputFile.commit(temporary, to: outputPath)
        keep = true
        stages.finish()
        let bytes = ((try? FileManager.default.attributesOfItem(atPath: outputPath))?[.size] as? Int) ?? 0
        let frameCount = scene.motion.frames.count
        return RenderSummary(
            output: outputPath, duration: Double(frameCount) / Double(options.fps), frames: frameCount,
            fps: options.fps, width: shot.framing.width, height: shot.framing.height, bytes: bytes,
            framing: shot.framing.mode,
            warnings: scene.analysis.warnings + (shot.closedMouth ? [.mouthOpenAtRest] : []), captions: scene.captions,
            voice: prepared.spoken?.voice, timings: stages.timings, provenance: record)
    }

    /// What the inputs hold: the portrait and its face, the voice, the motion it drives, and the
    /// captions of a script.
    struct Scene {
        let portrait: RGBImage
        let analysis: FaceAnalysis
        let motion: MotionTrack
        let captions: [CaptionCue]
    }

    func analyse(_ prepared: SpokenSound, _ stages: StageTimer) throws -> Scene {
        let portrait = try stages.time("decode_image") {
            try ImageDecoder.decode(path: imagePath, limits: options.imageLimits)
        }
        let analysis = try stages.time("face_analysis") { try analyser.analyse(portrait, options.faceIndex) }
        // The audio streams through the analysis: never held whole.
        let features = try stages.time("voice_analysis") {
            try prepared.features(of: sound, fps: options.fps, maxSeconds: options.maxAudioSeconds)
        }
        return Scene(
            portrait: portrait, analysis: analysis, motion: motionTrack(for: features, sound: prepared),
            captions: prepared.spoken.map { Captions.cues($0.words) } ?? [])
    }

    /// Captions to draw into the frames go to the filter through a file of our own naming.
    func captionsToBurn(_ captions: [CaptionCue], spoken: Bool) throws -> String? {
        guard options.burnCaptions else { return nil }
        guard spoken else {
            throw MouthpieceError(
                .invalidParameter, "Captions can be drawn only for a script (there is no transcript of audio).",
                field: "burn_captions")
        }
        return try Captions.fileToDraw(captions)
    }

    /// The shot: the portrait framed for the output, its mouth closed if the photo's was open, the
    /// rig and the renderer.
    struct Shot {
        let framing: Framing
        let renderer: FrameRenderer
        /// Whether the photo's mouth was open and was closed before animating.
        let closedMouth: Bool

        init(_ scene: Scene, options: RenderOptions) {
            self.init(portrait: scene.portrait, analysis: scene.analysis, options: options)
        }

        init(portrait: RGBImage, analysis: FaceAnalysis, options: RenderOptions) {
            self.init(
                portrait: portrait, analysis: analysis, options: options,
                framing: Framing.plan(
                    imageWidth: portrait.width, imageHeight: portrait.height, face: analysis.landmarks,
                    resolution: options.resolution, aspect: options.aspect))
        }

        /// The shot with a given framing, and what stands behind the person (nil: the portrait's own).
        init(
            portrait: RGBImage, analysis: FaceAnalysis, options: RenderOptions, framing: Framing,
            backdrop: Backdrop? = nil
        ) {
            self.framing = framing
            let landmarks = analysis.landmarks.mapped(framing.map)
            var frame = framing.baseFrame(from: portrait)
            if let backdrop { frame = backdrop.applied(to: frame, face: landmarks) }
            let (base, rig, closed) = MouthCloser.rig(
                base: frame, landmarks: landmarks, expressiveness: options.expressiveness,
                wholeHead: options.headMotion > 0)
            var renderer = FrameRenderer(base: base, rig: rig, enlargement: framing.scale)
            renderer.threads =
                options.renderThreads > 0
                ? options.renderThreads : min(2, ProcessInfo.processInfo.activeProcessorCount)
            self.renderer = renderer
            closedMouth = closed
        }
    }

    func openWriter(_ path: String, shot: Shot, audioPath: String?, burnCaptions: String?) throws -> VideoWriter {
        try VideoWriter(
            path: path,
            settings: VideoWriter.Settings(
                width: shot.framing.width, height: shot.framing.height, fps: options.fps,
                preset: options.encoderPreset, crf: options.crf, threads: options.encoderThreads,
                metadata: [
                    "comment": "Synthetic media: generated by Mouthpiece from a still portrait and audio.",
                    "title": "Mouthpiece render",
                ]),
            audioPath: audioPath, burnCaptions: burnCaptions,
            watermark: options.watermark.map { mark in
                // In a corner clear of the face, which moves with the head: never over the mouth.
                let face = shot.renderer.faceRegion
                return mark.avoiding(
                    Rect(
                        x: Double(face.x0), y: Double(face.y0), width: Double(face.x1 - face.x0),
                        height: Double(face.y1 - face.y0)),
                    width: shot.framing.width, height: shot.framing.height)
            })
    }

    /// Renders every frame (on a second thread, one frame ahead) and encodes it here; records the
    /// time spent waiting for frames ("render": rendering not hidden behind encoding) and encoding.
    func encode(
        _ motion: MotionTrack, shot: Shot, into writer: VideoWriter, stages: StageTimer,
        progress: (RenderProgress) -> Void, shouldStop: () -> Bool
    ) throws {
        let clock = ContinuousClock()
        let frameCount = motion.frames.count
        let renderer = shot.renderer
        var renderTime = Duration.zero
        var encodeTime = Duration.zero
        let frames = FramePipeline(renderer: renderer, motion: motion.frames)
        defer { frames.stop() }
        var sheet = options.contactSheetPath.map { _ in
            ContactSheet(frameCount: frameCount, region: renderer.faceRegion)
        }
        for n in 0..<frameCount {
            let t0 = clock.now
            try frames.withFrame(n) { frame in
                let t1 = clock.now
                renderTime += t1 - t0
                try writer.append(frame, changed: renderer.animatedRegion)
                encodeTime += clock.now - t1
                sheet?.capture(frame, index: n)
            }
            progress(RenderProgress(stage: .rendering, framesDone: n + 1, frameCount: frameCount))
            if shouldStop() { throw MouthpieceError(.canceled, "The render was stopped.") }
        }
        progress(RenderProgress(stage: .finishing, framesDone: frameCount, frameCount: frameCount))
        let t2 = clock.now
        try writer.finish()
        encodeTime += clock.now - t2
        stages.record("render", renderTime.inSeconds)
        stages.record("encode", encodeTime.inSeconds)
        // How long after the job started the first frame came out of the encoder.
        if let first = writer.firstVideoPacket { stages.record("first_frame", stages.elapsed(at: first)) }
        if let sheet, let path = options.contactSheetPath {
            try AtomicFile.write(try ImageEncoder.png(sheet.image), to: path)
        }
    }

    /// The still picture every frame of this job starts from (the portrait, framed): what a plain
    /// still-image encode would show. For benchmarks and previews.
    public func stillFrame() throws -> RGBImage {
        let portrait = try ImageDecoder.decode(path: imagePath, limits: options.imageLimits)
        let analysis = try analyser.analyse(portrait, options.faceIndex)
        return Framing.plan(
            imageWidth: portrait.width, imageHeight: portrait.height, face: analysis.landmarks,
            resolution: options.resolution, aspect: options.aspect
        ).baseFrame(from: portrait)
    }

    /// Voice (or a script's phonemes) -> mouth shapes, plus blinks from the seed.
    func motionTrack(for features: VoiceFeatures, sound: SpokenSound) -> MotionTrack {
        let frameCount = features.frames.count
        let mouths = sound.mouthShapes(for: features, lipLead: options.lipLead)
        let blinks = BlinkTrack().closure(frameCount: frameCount, fps: options.fps, seed: options.seed)
        var headTrack = HeadMotionTrack()
        headTrack.scale = options.headMotion
        let heads = headTrack.motion(for: features, seed: options.seed)
        return MotionTrack(
            fps: options.fps,
            frames: (0..<frameCount).map { FaceMotion(mouth: mouths[$0], blink: blinks[$0], head: heads[$0]) })
    }

    /// The mouth track of the audio path and of the script path for the same speech (for
    /// measuring how well they agree).
    public static func mouthTracks(for spoken: SpokenText, fps: Int) -> (audio: [MouthShape], script: [MouthShape]) {
        let features = VoiceAnalyzer().analyze(
            spoken.audio, fps: fps, frameCount: max(1, Int((spoken.audio.duration * Double(fps)).rounded())))
        let audio = MouthShapeTrack().shapes(for: features)
        let script = PhonemeMouthTrack().shapes(
            for: spoken.phonemes.map(\.span), frameCount: features.frames.count, fps: fps, voice: features)
        return (audio, script)
    }

}

extension Phoneme {
    /// The phoneme as the motion stage takes it.
    var span: PhoneSpan { PhoneSpan(symbol: symbol, start: start, end: end, closure: isBilabial ? closure : nil) }
}
