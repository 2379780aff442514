import Face
import Foundation
import Media
import Motion
import MouthpieceCore
import Provenance
import Render
import Speech
import Voice

/// Where the files a composition names are: the command line resolves paths relative to the
/// spec; the service, its stored uploads and avatars. Each answers a local path or throws a
/// refusal naming `field`.
public struct CompositionFiles: Sendable {
    public let file: @Sendable (_ reference: String, _ field: String) throws -> String
    public let avatar: @Sendable (_ id: String, _ field: String) throws -> String

    public init(
        file: @escaping @Sendable (_ reference: String, _ field: String) throws -> String,
        avatar: @escaping @Sendable (_ id: String, _ field: String) throws -> String
    ) {
        self.file = file
        self.avatar = avatar
    }

    /// Local files, relative paths taken from `directory`; avatar ids are the service's.
    public static func local(relativeTo directory: String) -> CompositionFiles {
        CompositionFiles(
            file: { reference, field in
                let path = reference.hasPrefix("/") ? reference : directory + "/" + reference
                guard FileManager.default.fileExists(atPath: path) else {
                    throw MouthpieceError(
                        .inputNotFound, "\(field): the file \(reference) does not exist.", field: field)
                }
                return path
            },
            avatar: { _, field in
                throw MouthpieceError(
                    .invalidParameter, "Avatars live in the service; on the command line give an image.", field: field)
            })
    }
}

/// What a finished composition made.
public struct CompositionSummary: Sendable {
    public let output: String
    public let duration: Double
    public let frames: Int
    public let fps: Int
    public let width: Int
    public let height: Int
    public let bytes: Int
    /// Where each scene starts, in seconds (a whole frame).
    public let sceneStarts: [Double]
    public let captions: [CaptionCue]
    public let warnings: [FaceWarning]
    public var provenance: SignedProvenance? = nil
}

/// Renders a `Composition` to one MP4: every input is read and every face found first (a bad
/// input is refused before a frame is rendered), then the sound of all scenes is mixed into one
/// track on disk, then the frames are rendered scene after scene, at most two scenes' renderers
/// alive at once (a cross-fade), so memory stays flat however many scenes there are.
public struct CompositionJob: Sendable {
    public let composition: Composition
    public let outputPath: String
    public let files: CompositionFiles
    /// The composition's render options; a service may bound threads, the length, or add a mark.
    public var options: RenderOptions
    public var analyser = PortraitAnalyser.dlib
    public var speaker = ScriptSpeaker.espeak
    public var provenance: ProvenanceStamp?

    /// The mix's sample rate.
    static let sampleRate = 48_000

    public init(composition: Composition, outputPath: String, files: CompositionFiles) throws {
        try composition.validate()
        self.composition = composition
        self.outputPath = outputPath
        self.files = files
        options = try composition.renderOptions()
    }

    /// Reads every input, finds every face and says every script, as a render would before its
    /// first frame, and answers the composition's length in seconds: a service refuses a bad
    /// composition with this at submission.
    public func check() throws -> Double {
        let plan = try CompositionPlan(self)
        plan.cleanUp()
        return Double(plan.frameCount) / Double(plan.fps)
    }

    public func run(
        progress: (RenderProgress) -> Void = { _ in }, shouldStop: () -> Bool = { false }
    ) throws -> CompositionSummary {
        progress(RenderProgress(stage: .analysing, framesDone: 0, frameCount: 0))
        let plan = try CompositionPlan(self)
        defer { plan.cleanUp() }
        let temporary = try OutputFile.reserve(outputPath)
        var keep = false
        defer { if !keep { OutputFile.discard(temporary) } }
        let mix = FileManager.default.temporaryDirectory.appendingPathComponent(
            "mouthpiece-mix-\(UUID().uuidString).wav"
        ).path
        defer { try? FileManager.default.removeItem(atPath: mix) }
        let voices = try plan.mixSound(into: mix, music: composition.music, files: files)
        try plan.makeClones(options: options, shouldStop: shouldStop)
        var captionsPath: String? = nil
        defer { if let captionsPath { try? FileManager.default.removeItem(atPath: captionsPath) } }
        if options.burnCaptions && !plan.captions.isEmpty { captionsPath = try Captions.fileToDraw(plan.captions) }
        let writer = try VideoWriter(
            path: temporary,
            settings: {
                var settings = VideoWriter.Settings(
                    width: plan.width, height: plan.height, fps: options.fps, preset: options.encoderPreset,
                    crf: options.crf, threads: options.encoderThreads,
                    metadata: [
                        "comment": "Synthetic media: generated by Mouthpiece from still portraits and audio.",
                        "title": "Mouthpiece composition",
                    ])
                settings.audioMatchesVideo = true
                return settings
            }(), audioPath: mix, burnCaptions: captionsPath,
            watermark: options.watermark.map { $0.avoiding(plan.faceBox, width: plan.width, height: plan.height) })
        let frames = SceneFrames(plan: plan, voices: voices, options: options, analyser: analyser)
        let producer = FrameProducer(count: plan.frameCount, depth: 3) { try frames.frame($0) }
        defer { producer.stop() }
        for n in 0..<plan.frameCount {
            try writer.append(try producer.take(n))
            progress(RenderProgress(stage: .rendering, framesDone: n + 1, frameCount: plan.frameCount))
            if shouldStop() { throw MouthpieceError(.canceled, "The render was stopped.") }
        }
        progress(RenderProgress(stage: .finishing, framesDone: plan.frameCount, frameCount: plan.frameCount))
        try writer.finish()
        if options.captionFiles && !plan.captions.isEmpty {
            try Captions.writeFiles(plan.captions, besides: outputPath)
        }
        let record = try provenance?.apply(to: temporary)
        try OutputFile.commit(temporary, to: outputPath)
        keep = true
        let bytes = ((try? FileManager.default.attributesOfItem(atPath: outputPath))?[.size] as? Int) ?? 0
        return CompositionSummary(
            output: outputPath, duration: Double(plan.frameCount) / Double(options.fps), frames: plan.frameCount,
            fps: options.fps, width: plan.width, height: plan.height, bytes: bytes,
            sceneStarts: plan.scenes.map { Double($0.startFrame) / Double(options.fps) }, captions: plan.captions,
            warnings: plan.warnings, provenance: record)
    }
}

/// Everything read and checked before rendering: each speaker's portrait and face, each voice
/// and its length, each scene's frames and where it starts.
final class CompositionPlan: @unchecked Sendable {
    struct Voice {
        /// The audio to read (a script's speech, in a temporary file).
        let path: String
        let channel: Int?
        /// Seconds into the scene.
        let start: Double
        let length: Double
        /// A script's phonemes and words (its samples are in the file, not held here: memory stays
        /// flat however many scenes are spoken).
        let script: (phonemes: [Phoneme], words: [SpokenWord])?
    }

    struct Speaker {
        /// What names the person (its hash seeds their blinks and drift, the same in every scene).
        let identity: String
        /// A portrait and its face, or a video of the person (cloned for the scene).
        let imagePath: String
        let analysis: FaceAnalysis?
        let videoPath: String?
        let voice: Voice?
    }

    struct Scene {
        let speakers: [Speaker]
        let layout: Composition.Layout
        let backdrop: Composition.Background?
        let backgroundPath: String?
        let shot: Framing.Shot
        let frames: Int
        let startFrame: Int
        /// Frames shared with the next scene (a cross-fade).
        let overlap: Int
    }

    let width: Int
    let height: Int
    let fps: Int
    private(set) var scenes: [Scene] = []
    private(set) var captions: [CaptionCue] = []
    private(set) var warnings: [FaceWarning] = []
    /// Files made for this composition, removed by `cleanUp()`.
    var temporaryFiles: [String] = []
    /// Each video speaker's voice placed in its scene (made by `mixSound`), and the clone that
    /// follows it (made by `makeClones`), by "scene.speaker".
    var cloneVoices: [String: String] = [:]
    private(set) var clones: [String: String] = [:]
    let limits: ImageDecoder.Limits

    var frameCount: Int { scenes.last.map { $0.startFrame + $0.frames } ?? 0 }
    var samplesPerFrame: Int { CompositionJob.sampleRate / fps }
    /// Where faces are across the frame (for a watermark to avoid): the middle of the frame.
    var faceBox: Rect { Rect(x: Double(width) * 0.2, y: 0, width: Double(width) * 0.6, height: Double(height)) }

    init(_ job: CompositionJob) throws {
        let options = job.options
        (width, height) = options.aspect.frameSize(options.resolution) ?? (1280, 720)
        fps = options.fps
        limits = options.imageLimits
        var faces: [String: FaceAnalysis] = [:]
        var startFrame = 0
        var total = 0.0
        do {
            for (s, scene) in job.composition.scenes.enumerated() {
                let at = "scenes[\(s)]"
                var speakers: [Speaker] = []
                for (k, input) in scene.speakers.enumerated() {
                    speakers.append(
                        try speaker(input, at: "\(at).speakers[\(k)]", job: job, faces: &faces))
                }
                try Self.checkOverlaps(speakers, at: at)
                let speechEnd = speakers.compactMap { $0.voice.map { $0.start + $0.length } }.max() ?? 0
                if let duration = scene.duration, duration + 0.5 / Double(fps) < speechEnd {
                    let late = speakers.firstIndex { ($0.voice.map { $0.start + $0.length } ?? 0) > duration } ?? 0
                    throw MouthpieceError(
                        .invalidParameter,
                        "\(at).speakers[\(late)] speaks until \(speechEnd.formatted(2)) s, past the scene's duration of \(duration.formatted(2)) s.",
                        field: "\(at).duration")
                }
                let seconds = scene.duration ?? speechEnd
                let frames = max(1, Int((seconds * Double(fps)).rounded()))
                total += Double(frames) / Double(fps)
                guard total <= options.maxAudioSeconds else {
                    throw MouthpieceError(
                        .audioTooLong,
                        "The composition runs past \(options.maxAudioSeconds.formatted(0)) s by \(at).", field: at)
                }
                let overlap = Int((scene.transition?.overlap ?? 0) * Double(fps) + 0.5)
                var backgroundPath: String? = nil
                if let image = scene.background?.image {
                    let path = try job.files.file(image, "\(at).background.image")
                    do {
                        _ = try ImageDecoder.decode(path: path, limits: limits)
                    } catch let error as MouthpieceError { throw error.about("\(at).background.image") }
                    backgroundPath = path
                }
                scenes.append(
                    Scene(
                        speakers: speakers, layout: scene.layout ?? (speakers.count == 1 ? .single : .sideBySide),
                        backdrop: scene.background, backgroundPath: backgroundPath, shot: scene.framing ?? .closeUp,
                        frames: frames, startFrame: startFrame, overlap: overlap))
                startFrame += frames - overlap
            }
            for (s, scene) in scenes.enumerated() where scene.overlap > 0 {
                let next = scenes[s + 1]
                guard scene.overlap < scene.frames && scene.overlap < next.frames else {
                    throw MouthpieceError(
                        .invalidParameter,
                        "The cross-fade of scenes[\(s)] is longer than it or the next scene.",
                        field: "scenes[\(s)].transition.seconds")
                }
            }
            if let music = job.composition.music {
                let path = try job.files.file(music.audio, "music.audio")
                do {
                    _ = try AudioDecoder.validate(path: path, limits: AudioDecoder.Limits(minDuration: 0.1))
                } catch let error as MouthpieceError { throw error.about("music.audio") }
            }
        } catch {
            cleanUp()
            throw error
        }
        captions = scenes.flatMap { scene in
            scene.speakers.flatMap { speaker -> [CaptionCue] in
                guard let voice = speaker.voice, let spoken = voice.script else { return [] }
                let offset = Double(scene.startFrame) / Double(fps) + voice.start
                return Captions.cues(spoken.words).map {
                    CaptionCue(start: $0.start + offset, end: $0.end + offset, lines: $0.lines)
                }
            }
        }.sorted { $0.start < $1.start }
    }

    private func speaker(
        _ input: Composition.Speaker, at: String, job: CompositionJob, faces: inout [String: FaceAnalysis]
    ) throws -> Speaker {
        let imagePath: String
        let identity: String
        if let id = input.avatarID {
            imagePath = try job.files.avatar(id, "\(at).avatar_id")
            identity = "avatar:" + id
        } else if let image = input.image {
            imagePath = try job.files.file(image, "\(at).image")
            identity = "image:" + image
        } else {
            let reference = input.video ?? ""
            let path = try job.files.file(reference, "\(at).video")
            // Opened now, so that a video no render could use is refused before anything renders.
            _ = try VideoSource(path: path, field: "\(at).video")
            return Speaker(
                identity: "video:" + reference, imagePath: "", analysis: nil, videoPath: path,
                voice: try voice(input, at: at, job: job))
        }
        let analysis: FaceAnalysis
        if let known = faces[imagePath] {
            analysis = known
        } else {
            do {
                let portrait = try ImageDecoder.decode(path: imagePath, limits: limits)
                analysis = try job.analyser.analyse(portrait, nil)
            } catch let error as MouthpieceError {
                throw error.about(input.avatarID != nil ? "\(at).avatar_id" : "\(at).image")
            }
            faces[imagePath] = analysis
            warnings += analysis.warnings.filter { !warnings.contains($0) }
        }
        return Speaker(
            identity: identity, imagePath: imagePath, analysis: analysis, videoPath: nil,
            voice: try voice(input, at: at, job: job))
    }

    /// A speaker's voice: an audio file checked, or a script spoken now (nil: they listen).
    private func voice(_ input: Composition.Speaker, at: String, job: CompositionJob) throws -> Voice? {
        var voice: Voice? = nil
        if let audio = input.audio {
            let path = try job.files.file(audio, "\(at).audio")
            let length: Double
            do {
                length = try AudioDecoder.validate(path: path, limits: AudioDecoder.Limits(minDuration: 0.1))
            } catch let error as MouthpieceError { throw error.about("\(at).audio") }
            voice = Voice(path: path, channel: input.channel, start: input.start ?? 0, length: length, script: nil)
        } else if let text = input.script {
            let spoken: SpokenSound
            var script = text.script
            script.lexicon = job.composition.lexicon ?? [:]
            do {
                spoken = try SpokenSound.prepare(
                    .script(script), maxSeconds: job.options.maxAudioSeconds, speaker: job.speaker)
            } catch let error as MouthpieceError {
                throw error.about("\(at).script")
            }
            if let path = spoken.audioPath { temporaryFiles.append(path) }
            guard let path = spoken.audioPath, let said = spoken.spoken else {
                throw MouthpieceError(.internalError, "The script was not spoken.", field: "\(at).script")
            }
            voice = Voice(
                path: path, channel: nil, start: input.start ?? 0, length: said.audio.duration,
                script: (said.phonemes, said.words))
        }
        return voice
    }

    /// Two voices of one scene may not speak at once, unless they are the two channels of one
    /// recording (a dialogue recorded together, which may overlap as people do).
    static func checkOverlaps(_ speakers: [Speaker], at: String) throws {
        for i in speakers.indices {
            for j in speakers.indices where j > i {
                guard let a = speakers[i].voice, let b = speakers[j].voice else { continue }
                if a.path == b.path && a.channel != nil && b.channel != nil && a.channel != b.channel { continue }
                if a.start < b.start + b.length && b.start < a.start + a.length {
                    throw MouthpieceError(
                        .invalidParameter,
                        "\(at).speakers[\(j)] speaks from \(b.start.formatted(2)) s while speakers[\(i)] still speaks "
                            + "(\(a.start.formatted(2))-\((a.start + a.length).formatted(2)) s): set start so they take turns.",
                        field: "\(at).speakers[\(j)].start")
                }
            }
        }
    }

    /// Clones each video speaker for their scene: their clip's own motion, as long as the scene,
    /// their mouth following their voice where it falls (as `mixSound` placed it; still while they
    /// listen). Made before the first frame, each in a temporary MP4 the frames are then read from.
    func makeClones(options: RenderOptions, shouldStop: () -> Bool) throws {
        for (s, scene) in scenes.enumerated() {
            for (k, speaker) in scene.speakers.enumerated() {
                guard let video = speaker.videoPath else { continue }
                let seconds = Double(scene.frames) / Double(fps)
                let folder = FileManager.default.temporaryDirectory.path
                let clone = folder + "/mouthpiece-clone-\(UUID().uuidString).mp4"
                let sound =
                    cloneVoices["\(s).\(k)"].map { RenderJob.Sound.audio(path: $0) }
                    ?? .silence(seconds: max(0.5, seconds))
                var cloneOptions = options
                cloneOptions.encoderPreset = "veryfast"
                cloneOptions.crf = 14
                cloneOptions.watermark = nil
                var job = LipSyncJob(videoPath: video, sound: sound, outputPath: clone, options: cloneOptions)
                job.clone = true
                temporaryFiles.append(clone)
                do {
                    _ = try job.run(shouldStop: shouldStop)
                } catch let error as MouthpieceError where error.field == "video" || error.field == nil {
                    throw error.about("scenes[\(s)].speakers[\(k)].video")
                }
                clones["\(s).\(k)"] = clone
            }
        }
    }

    func cleanUp() {
        for path in temporaryFiles { try? FileManager.default.removeItem(atPath: path) }
        temporaryFiles = []
    }
}
