import Face
import Foundation
import Media
import Motion
import MouthpieceCore
import Render
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
    /// Seconds per stage: decode_image, face_analysis, voice_analysis (audio decoding included),
    /// render (waiting for frames), encode, total.
    public let timings: [(stage: String, seconds: Double)]
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
    }

    public let imagePath: String
    public let sound: Sound
    public let outputPath: String
    public let options: RenderOptions

    public init(imagePath: String, sound: Sound, outputPath: String, options: RenderOptions = RenderOptions()) {
        self.imagePath = imagePath
        self.sound = sound
        self.outputPath = outputPath
        self.options = options
    }

    public init(imagePath: String, audioPath: String, outputPath: String, options: RenderOptions = RenderOptions()) {
        self.init(imagePath: imagePath, sound: .audio(path: audioPath), outputPath: outputPath, options: options)
    }

    var audioPath: String? {
        if case .audio(let path) = sound { return path }
        return nil
    }

    /// Renders the clip. `shouldStop` is asked after every frame; when it answers true the render
    /// ends with `canceled` and nothing is left behind.
    public func run(
        progress: (RenderProgress) -> Void = { _ in }, shouldStop: () -> Bool = { false }
    ) throws -> RenderSummary {
        let clock = ContinuousClock()
        let started = clock.now
        var timings: [(String, Double)] = []
        func timed<T>(_ name: String, _ body: () throws -> T) rethrows -> T {
            let t0 = clock.now
            defer { timings.append((name, Self.seconds(clock.now - t0))) }
            return try body()
        }

        let temporary = try OutputFile.reserve(outputPath)
        var keep = false
        defer { if !keep { OutputFile.discard(temporary) } }

        progress(RenderProgress(stage: .analysing, framesDone: 0, frameCount: 0))
        let portrait = try timed("decode_image") {
            try ImageDecoder.decode(path: imagePath, limits: options.imageLimits)
        }
        let analysis = try timed("face_analysis") {
            try FaceAnalyzer(models: FaceModels.shared()).analyze(portrait, faceIndex: options.faceIndex)
        }
        // The audio streams through the analysis: never held whole.
        let features = try timed("voice_analysis") {
            switch sound {
            case .audio(let path):
                return try VoiceAnalyzer().analyze(
                    path: path, fps: options.fps, limits: AudioDecoder.Limits(maxDuration: options.maxAudioSeconds))
            case .silence(let seconds):
                guard seconds.isFinite, seconds >= 0.5, seconds <= options.maxAudioSeconds else {
                    throw MouthpieceError(
                        .invalidParameter,
                        "duration must be between 0.5 and \(options.maxAudioSeconds.formatted(0)) seconds.",
                        field: "duration")
                }
                let count = max(1, Int((seconds * Double(options.fps)).rounded()))
                let quiet = VoiceFrame(loudness: -100, lowBand: 0, midBand: 0, highBand: 0, centroid: 0)
                return VoiceFeatures(fps: options.fps, frames: [VoiceFrame](repeating: quiet, count: count))
            }
        }
        let frameCount = features.frames.count
        let motion = motionTrack(for: features)

        let framing = Framing.plan(
            imageWidth: portrait.width, imageHeight: portrait.height, face: analysis.landmarks,
            resolution: options.resolution, aspect: options.aspect)
        let base = framing.baseFrame(from: portrait)
        let rig = FaceRig(
            landmarks: analysis.landmarks.mapped(framing.map), frameWidth: framing.width,
            frameHeight: framing.height, expressiveness: options.expressiveness, portrait: base)
        let renderer = FrameRenderer(base: base, rig: rig)

        let writer = try VideoWriter(
            path: temporary,
            settings: VideoWriter.Settings(
                width: framing.width, height: framing.height, fps: options.fps, preset: options.encoderPreset,
                crf: options.crf,
                metadata: [
                    "comment": "Synthetic media: generated by Mouthpiece from a still portrait and audio.",
                    "title": "Mouthpiece render",
                ]),
            audioPath: audioPath)
        // Frames are rendered on a second thread while this one encodes the previous frame.
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
        // "render" is the time spent waiting for frames: rendering not hidden behind encoding.
        timings.append(("render", Self.seconds(renderTime)))
        timings.append(("encode", Self.seconds(encodeTime)))
        if let sheet, let path = options.contactSheetPath {
            try AtomicFile.write(try ImageEncoder.png(sheet.image), to: path)
        }
        try OutputFile.commit(temporary, to: outputPath)
        keep = true
        timings.append(("total", Self.seconds(clock.now - started)))
        let bytes = ((try? FileManager.default.attributesOfItem(atPath: outputPath))?[.size] as? Int) ?? 0
        return RenderSummary(
            output: outputPath, duration: Double(frameCount) / Double(options.fps), frames: frameCount,
            fps: options.fps, width: framing.width, height: framing.height, bytes: bytes, framing: framing.mode,
            warnings: analysis.warnings, timings: timings)
    }

    /// The still picture every frame of this job starts from (the portrait, framed): what a plain
    /// still-image encode would show. For benchmarks and previews.
    public func stillFrame() throws -> RGBImage {
        let portrait = try ImageDecoder.decode(path: imagePath, limits: options.imageLimits)
        let analysis = try FaceAnalyzer(models: FaceModels.shared()).analyze(portrait, faceIndex: options.faceIndex)
        return Framing.plan(
            imageWidth: portrait.width, imageHeight: portrait.height, face: analysis.landmarks,
            resolution: options.resolution, aspect: options.aspect
        ).baseFrame(from: portrait)
    }

    /// Voice -> mouth shapes, plus blinks from the seed.
    func motionTrack(for features: VoiceFeatures) -> MotionTrack {
        var mouthTrack = MouthShapeTrack()
        mouthTrack.lead = options.lipLead
        let mouths = mouthTrack.shapes(for: features)
        let frameCount = features.frames.count
        let blinks = BlinkTrack().closure(frameCount: frameCount, fps: options.fps, seed: options.seed)
        var headTrack = HeadMotionTrack()
        headTrack.scale = options.headMotion
        let heads = headTrack.motion(for: features, seed: options.seed)
        return MotionTrack(
            fps: options.fps,
            frames: (0..<frameCount).map { FaceMotion(mouth: mouths[$0], blink: blinks[$0], head: heads[$0]) })
    }

    static func seconds(_ d: Duration) -> Double {
        Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
    }
}
