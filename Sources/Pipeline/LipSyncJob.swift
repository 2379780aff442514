import Face
import Foundation
import Media
import Motion
import MouthpieceCore
import Provenance
import Render
import Voice

/// How a video and a sound of different lengths are matched.
public enum SyncMode: String, Sendable, CaseIterable {
    /// The shorter decides: the longer is cut.
    case cut
    /// The sound decides; the video starts again from its first frame.
    case loop
    /// The sound decides; the video plays forward, then backward, then forward again.
    case bounce
    /// The video decides; the sound is padded with silence (or cut).
    case silence

    /// Reads a mode by name; Sync.so's `cut_off` is `cut`. Their `remap` (time-stretching the
    /// video) is refused with a clear error.
    public static func parse(_ name: String, field: String = "sync_mode") throws -> SyncMode {
        let lowered = name.lowercased()
        if lowered == "cut_off" { return .cut }
        guard let mode = SyncMode(rawValue: lowered) else {
            throw MouthpieceError(
                .invalidParameter,
                "\(field) must be one of cut (or cut_off), loop, bounce, silence; got \(name)"
                    + (lowered == "remap" ? " (remap, stretching the video in time, is not supported)." : "."),
                field: field)
        }
        return mode
    }

    /// Frame of the source video shown at output frame `n`, for a video of `count` frames.
    public func sourceFrame(_ n: Int, count: Int) -> Int {
        guard n >= count, count > 1 else { return min(n, count - 1) }
        switch self {
        case .cut, .silence: return count - 1
        case .loop: return n % count
        case .bounce:
            let period = 2 * count - 2
            let k = n % period
            return k < count ? k : period - k
        }
    }

    /// Output frames for a video of `videoFrames` and a sound of `soundFrames`.
    public func outputFrames(video videoFrames: Int, sound soundFrames: Int) -> Int {
        switch self {
        case .cut: return min(videoFrames, soundFrames)
        case .loop, .bounce: return soundFrames
        case .silence: return videoFrames
        }
    }
}

/// Re-lip-syncs a video of a person to new speech: video + audio (or a script) -> MP4.
///
/// The output keeps the video's own frames, frame rate and size; only the lower face changes. Two
/// passes over the video: the first tracks the face and collects a `MouthBank` of the person's own
/// mouths; the second pastes, on each frame, the real mouth that matches the new speech (chosen
/// along a path that does not flicker) and encodes. Frames without a usable face pass through
/// untouched. As with `RenderJob`, the file appears only when complete.
public struct LipSyncJob: Sendable {
    public let videoPath: String
    public let sound: RenderJob.Sound
    public let outputPath: String
    public var syncMode: SyncMode
    public var options: RenderOptions
    public var videoLimits = VideoSource.Limits()
    /// A clone rather than a lip-sync: the clip is only a source of natural motion for an output
    /// as long as the sound (`syncMode` is then ignored). It plays forward and backward between
    /// two moments where the head is at rest, so a turn-around shows no jump.
    public var clone = false
    /// Signs the output: a provenance record appended to the MP4 (nil: none).
    public var provenance: ProvenanceStamp?
    /// The clip's face track from an earlier look at it (`VideoInspection`, kept with a video
    /// avatar): the faces are then not tracked again. Ignored when it does not fit the clip.
    public var knownTrack: FaceTrack?

    /// Takes a known track from `FaceTrack.serialized()` bytes (ignored when they are not one).
    public mutating func useKnownTrack(serialized bytes: [UInt8]) { knownTrack = FaceTrack(serialized: bytes) }

    public init(
        videoPath: String, sound: RenderJob.Sound, outputPath: String, syncMode: SyncMode = .bounce,
        options: RenderOptions = RenderOptions()
    ) {
        self.videoPath = videoPath
        self.sound = sound
        self.outputPath = outputPath
        self.syncMode = syncMode
        self.options = options
    }

    /// The rate the voice is measured at before it is resampled to the video's frame times.
    static let voiceRate = 100

    public func run(
        progress: (RenderProgress) -> Void = { _ in }, shouldStop: () -> Bool = { false }
    ) throws -> RenderSummary {
        let clock = ContinuousClock()
        let stages = StageTimer()
        func timed<T>(_ name: String, _ body: () throws -> T) rethrows -> T { try stages.time(name, body) }
        let temporary = try OutputFile.reserve(outputPath)
        var keep = false
        defer { if !keep { OutputFile.discard(temporary) } }
        progress(RenderProgress(stage: .analysing, framesDone: 0, frameCount: 0))

        if case .silence = sound, !clone {
            throw MouthpieceError(.invalidParameter, "Lip-sync needs audio or a script.", field: "audio")
        }
        let prepared = try timed("speech") { try SpokenSound.prepare(sound, maxSeconds: options.maxAudioSeconds) }
        defer { prepared.cleanUp() }
        let audioPath = prepared.audioPath

        // Pass 1: follow the face and collect the person's mouths.
        let source = try VideoSource(path: videoPath, limits: videoLimits)
        let info = source.info
        let (track, bank) = try timed("face_tracking") { () throws -> (FaceTrack, MouthBank) in
            var bank = MouthBank(expectedFrames: info.estimatedFrameCount)
            if let known = knownTrack {
                // Only the mouths to collect: the faces were found when the avatar was made.
                var n = 0
                while let frame = try source.next() {
                    if known.frames.indices.contains(n), let face = known.frames[n] {
                        bank.offer(frame, face: face, index: n)
                    }
                    n += 1
                    if shouldStop() { throw MouthpieceError(.canceled, "The render was stopped.") }
                }
                if n == known.frames.count { return (known, bank) }
                try source.rewind()
                bank = MouthBank(expectedFrames: info.estimatedFrameCount)
            }
            let tracker = FaceTracker(models: try FaceModels.shared(), faceIndex: options.faceIndex)
            var n = 0
            while let frame = try source.next() {
                if let face = try tracker.track(frame) { bank.offer(frame, face: face, index: n) }
                n += 1
                if shouldStop() { throw MouthpieceError(.canceled, "The render was stopped.") }
            }
            guard n > 0 else {
                throw MouthpieceError(.unsupportedVideo, "The video holds no decodable frame.", field: "video")
            }
            return (tracker.finish(), bank)
        }
        guard !bank.samples.isEmpty else {
            throw MouthpieceError(
                .noFaceDetected,
                "No frame of the video shows a usable face (front-facing, at least 24 px between the eyes).",
                field: "video")
        }
        // The bank kept the track's raw landmarks; the track is smoothed. Both are the same face.
        let videoFrames = track.frames.count

        // The voice, measured at a fixed rate and read at the video's own frame times.
        let features = try timed("voice_analysis") {
            try prepared.features(of: sound, fps: Self.voiceRate, maxSeconds: options.maxAudioSeconds)
        }
        let voiceShapes = prepared.mouthShapes(for: features, lipLead: options.lipLead)
        let soundSeconds = Double(features.frames.count) / Double(Self.voiceRate)
        let soundFrames = max(1, info.frameRate.frames(in: soundSeconds))
        let frameCount = clone ? soundFrames : syncMode.outputFrames(video: videoFrames, sound: soundFrames)
        let shapes = (0..<frameCount).map { n in
            Self.shape(at: info.frameRate.seconds(ofFrame: n), in: voiceShapes, rate: Self.voiceRate)
                .scaled(by: options.expressiveness)
        }
        let sources: [Int]
        if clone {
            let (first, last) = Self.turningPoints(track)
            sources = (0..<frameCount).map { first + SyncMode.bounce.sourceFrame($0, count: last - first + 1) }
        } else {
            sources = (0..<frameCount).map { syncMode.sourceFrame($0, count: videoFrames) }
        }
        let yaws = sources.map { track.frames[$0]?.pose.yaw ?? 0 }
        let path = timed("mouth_selection") { bank.path(for: shapes, yaws: yaws) }

        // Pass 2: paste and encode.
        let writer = try VideoWriter(
            path: temporary,
            settings: {
                var settings = VideoWriter.Settings(
                    width: info.width, height: info.height, fps: 30, preset: options.encoderPreset, crf: options.crf,
                    threads: options.encoderThreads,
                    metadata: [
                        "comment": "Synthetic media: lip-synced by Mouthpiece to new audio.",
                        "title": "Mouthpiece lip-sync",
                    ])
                settings.frameRate = info.frameRate
                settings.audioMatchesVideo = true
                return settings
            }(), audioPath: audioPath,
            watermark: options.watermark.map {
                $0.avoiding(Self.faceBounds(track), width: info.width, height: info.height)
            })
        try source.rewind()
        // Frames are fetched and pasted on a second thread while this one encodes.
        let maker = PasteWork(
            frames: FrameCache(source: source), track: track, bank: bank, path: path,
            openings: shapes.map { bank.target(for: $0).opening }, sources: sources)
        let producer = FrameProducer(count: frameCount) { try maker.frame($0) }
        defer { producer.stop() }
        var waitTime = Duration.zero
        var encodeTime = Duration.zero
        for n in 0..<frameCount {
            let t0 = clock.now
            let frame = try producer.take(n)
            let t1 = clock.now
            waitTime += t1 - t0
            try writer.append(frame)
            encodeTime += clock.now - t1
            progress(RenderProgress(stage: .rendering, framesDone: n + 1, frameCount: frameCount))
            if shouldStop() { throw MouthpieceError(.canceled, "The render was stopped.") }
        }
        progress(RenderProgress(stage: .finishing, framesDone: frameCount, frameCount: frameCount))
        let t2 = clock.now
        try writer.finish()
        encodeTime += clock.now - t2
        // "render" is the time spent waiting for pasted frames: work not hidden behind encoding.
        stages.record("render", waitTime.inSeconds)
        stages.record("encode", encodeTime.inSeconds)
        let captions = prepared.spoken.map { Captions.cues($0.words) } ?? []
        if prepared.spoken != nil && options.captionFiles {
            try Captions.writeFiles(captions, besides: outputPath)
        }
        let record = try provenance?.apply(to: temporary)
        try OutputFile.commit(temporary, to: outputPath)
        keep = true
        stages.finish()
        let bytes = ((try? FileManager.default.attributesOfItem(atPath: outputPath))?[.size] as? Int) ?? 0
        return RenderSummary(
            output: outputPath, duration: info.frameRate.seconds(ofFrame: frameCount), frames: frameCount,
            fps: Int(info.frameRate.perSecond.rounded()), width: info.width, height: info.height, bytes: bytes,
            framing: .fit, warnings: [], captions: captions, voice: prepared.spoken?.voice, timings: stages.timings,
            provenance: record)
    }

    /// Everywhere the face goes in the clip: the bounds of every tracked frame's landmarks (a
    /// watermark keeps clear of them).
    static func faceBounds(_ track: FaceTrack) -> Rect {
        var (x0, y0, x1, y1) = (Double.infinity, Double.infinity, -Double.infinity, -Double.infinity)
        for frame in track.frames.compactMap({ $0 }) {
            for p in frame.landmarks.points {
                (x0, y0, x1, y1) = (min(x0, p.x), min(y0, p.y), max(x1, p.x), max(y1, p.y))
            }
        }
        guard x1 > x0, y1 > y0 else { return Rect(x: 0, y: 0, width: 0, height: 0) }
        return Rect(x: x0, y: y0, width: x1 - x0, height: y1 - y0)
    }

    /// Where a clone turns around: the frame where the head moves least in the clip's first fifth
    /// and the one where it moves least in its last fifth (the clip's ends when it is too short).
    /// The head's motion at a frame is how far the eyes and nose move to the next, per eye distance.
    public static func turningPoints(_ track: FaceTrack) -> (first: Int, last: Int) {
        let count = track.frames.count
        guard count >= 10 else { return (0, max(0, count - 1)) }
        let anchors = Array(27...47)
        var speed = [Double](repeating: .infinity, count: count)
        for n in 0..<count {
            let a = track.frames[max(0, n - 1)]
            let b = track.frames[min(count - 1, n + 1)]
            guard let a, let b, let here = track.frames[n] else { continue }
            let iod = max(here.landmarks.interocular, 1)
            let moved = anchors.map { a.landmarks[$0].distance(to: b.landmarks[$0]) }.reduce(0, +)
            speed[n] = moved / Double(anchors.count) / iod
        }
        let fifth = max(1, count / 5)
        let first = (0..<fifth).min { speed[$0] < speed[$1] }!
        let last = ((count - fifth)..<count).min { speed[$0] < speed[$1] }!
        return speed[first].isFinite && speed[last].isFinite ? (first, last) : (0, count - 1)
    }

    /// The mouth shape at `seconds`, interpolated between the voice's frames (rest past the end).
    static func shape(at seconds: Double, in shapes: [MouthShape], rate: Int) -> MouthShape {
        let position = seconds * Double(rate)
        let i = Int(position.rounded(.down))
        guard i >= 0, i < shapes.count else { return .rest }
        guard i + 1 < shapes.count else { return shapes[i] }
        return shapes[i].mixed(with: shapes[i + 1], position - Double(i))
    }
}

extension MouthShape {
    func mixed(with other: MouthShape, _ t: Double) -> MouthShape {
        func mix(_ a: Double, _ b: Double) -> Double { a + (b - a) * t }
        return MouthShape(
            jawOpen: mix(jawOpen, other.jawOpen), lipGap: mix(lipGap, other.lipGap), spread: mix(spread, other.spread),
            rounding: mix(rounding, other.rounding), upperLipRaise: mix(upperLipRaise, other.upperLipRaise),
            lowerLipTuck: mix(lowerLipTuck, other.lowerLipTuck))
    }

    func scaled(by amount: Double) -> MouthShape {
        MouthShape(
            jawOpen: jawOpen * amount, lipGap: lipGap * amount, spread: spread * amount, rounding: rounding * amount,
            upperLipRaise: upperLipRaise * amount, lowerLipTuck: lowerLipTuck * amount)
    }
}

/// What the paste thread of a `LipSyncJob` does for output frame `n`: fetch its source frame and,
/// where that has a usable face, paste the chosen mouth with the asked-for opening. Used by one
/// thread at a time.
final class PasteWork: @unchecked Sendable {
    let frames: FrameCache
    let track: FaceTrack
    let bank: MouthBank
    let path: [Int]
    let openings: [Double]
    let sources: [Int]
    let compositor = MouthCompositor()

    init(frames: FrameCache, track: FaceTrack, bank: MouthBank, path: [Int], openings: [Double], sources: [Int]) {
        self.frames = frames
        self.track = track
        self.bank = bank
        self.path = path
        self.openings = openings
        self.sources = sources
    }

    func frame(_ n: Int) throws -> YUVImage {
        let s = sources[n]
        var frame = try frames.frame(s)
        if let face = track.frames[s], face.usable {
            compositor.paste(bank.samples[path[n]], opening: openings[n], into: &frame, face: face.landmarks)
        }
        return frame
    }
}

/// Frames of a video by index, in any order, holding at most `capacity` decoded frames: forward
/// reads stream, and a read behind the decoder seeks back to the keyframe before the frames to keep
/// (or starts again from the top when the file cannot seek) and keeps the frames just before the
/// one asked for (what playing backward needs next).
final class FrameCache {
    private let source: VideoSource
    private let capacity: Int
    private var cached: [Int: YUVImage] = [:]

    init(source: VideoSource, capacity: Int = 24) {
        self.source = source
        self.capacity = capacity
    }

    func frame(_ index: Int) throws -> YUVImage {
        if let frame = cached[index] { return frame }
        if index < source.position {
            // Back to a keyframe just before the frames to keep, or else to the start.
            if !source.seek(toFrame: max(0, index - capacity + 1)) { try source.rewind() }
        }
        while source.position <= index {
            guard let frame = try source.next() else { break }
            let position = source.position - 1
            if position > index - capacity {
                cached[position] = frame
                // Beyond capacity, the frame farthest from the one asked for goes.
                if cached.count > capacity, let farthest = cached.keys.max(by: { abs($0 - index) < abs($1 - index) }) {
                    cached[farthest] = nil
                }
            }
        }
        guard let frame = cached[index] else {
            throw MouthpieceError(
                .unsupportedVideo, "Frame \(index) of the video could not be read again.", field: "video")
        }
        return frame
    }
}
