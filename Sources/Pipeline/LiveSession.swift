import Face
import Foundation
import Media
import Motion
import MouthpieceCore
import Render
import Speech
import Voice

/// What a live session is made with; every field has the product's default.
public struct LiveSettings: Sendable {
    public static let sampleRates = [16_000, 24_000]
    public static let allowedFPS = [20, 24, 25, 30]

    public var resolution: Resolution = .p720
    public var fps = 25
    /// The rate of the PCM16 audio sent in (16 or 24 kHz), and of the stream's AAC.
    public var sampleRate = 16_000
    /// How far past a frame the mouth may hear before the frame is shown, in seconds (rounded down
    /// to whole frames, at least one).
    public var lookahead = 0.1
    /// Audio held before speech starts playing, in seconds: covers chunks that arrive a little late.
    public var jitter = 0.02
    public var seed: UInt64 = 0
    public var expressiveness = 1.0
    public var headMotion = 1.0
    public var preset = "ultrafast"
    public var crf = 23
    /// Encoder and render threads (1 each: several sessions share a machine).
    public var threads = 1
    /// Seconds of audio a client may queue ahead of playback.
    public var maxQueuedSeconds = 120.0
    /// Fragments waiting for a slow reader beyond which video frames are dropped (audio goes on),
    /// and beyond which the session ends with `client_too_slow`, in seconds of stream.
    public var dropAfter = 0.5
    public var closeAfter = 10.0
    public var imageLimits = ImageDecoder.Limits()

    public init() {}

    /// Whole frames of look-ahead.
    public var lookaheadFrames: Int { max(1, Int((lookahead * Double(fps) + 1e-9).rounded(.down))) }

    public func validate() throws {
        guard Self.sampleRates.contains(sampleRate) else {
            throw MouthpieceError(
                .invalidParameter, "sample_rate must be 16000 or 24000; got \(sampleRate).", field: "sample_rate")
        }
        guard Self.allowedFPS.contains(fps) else {
            throw MouthpieceError(
                .invalidParameter,
                "fps must be one of \(Self.allowedFPS.map(String.init).joined(separator: ", ")) for a live session; "
                    + "got \(fps).", field: "fps")
        }
        guard (0...0.5).contains(lookahead) else {
            throw MouthpieceError(.invalidParameter, "lookahead must be 0 to 0.5 s.", field: "lookahead")
        }
    }
}

/// Something a live session says: a JSON event beside the video.
public struct LiveEvent: Encodable, Sendable, Equatable {
    public enum Kind: String, Encodable, Sendable {
        /// The stream's shape, sent first: what `MediaSource.addSourceBuffer` needs.
        case ready
        /// Speech started playing in the stream (at `media_time` seconds).
        case speaking
        /// The queue ran dry: the avatar listens, idle.
        case idle
        /// Queued audio was dropped at the client's word.
        case interrupted
        /// Figures, once a second.
        case stats
        /// The session is over; no more fragments follow.
        case ended
        case error
    }

    public var type: Kind
    public var mediaTime: Double?
    public var mime: String?
    public var width: Int?
    public var height: Int?
    public var fps: Int?
    public var sampleRate: Int?
    /// For `speaking`: milliseconds from the utterance's first audio chunk to this fragment.
    public var latencyMs: Double?
    public var stats: LiveFigures?
    public var code: String?
    public var message: String?
    public var reason: String?

    init(_ type: Kind, at mediaTime: Double? = nil) {
        self.type = type
        self.mediaTime = mediaTime
    }

    enum CodingKeys: String, CodingKey {
        case type, mime, width, height, fps, stats, code, message, reason
        case mediaTime = "media_time"
        case sampleRate = "sample_rate"
        case latencyMs = "latency_ms"
    }
}

/// A live session's figures.
public struct LiveFigures: Codable, Sendable, Equatable {
    /// Milliseconds from the session's first audio chunk to the first fragment that plays it.
    public var firstFragmentMs: Double?
    /// Where the mouth's opening best follows the audio's loudness in the stream, in milliseconds
    /// (negative: the mouth leads, as lips do).
    public var mouthLagMs: Double?
    /// Frames out per second of wall time over the session.
    public var fps: Double
    public var frames: Int
    /// Frames not rendered: late (the machine fell behind) or held back (the client read slowly).
    public var droppedFrames: Int
    /// Milliseconds from audio arriving to its fragment leaving: the jitter hold, the look-ahead
    /// and the wait for the frame's turn.
    public var streamDelayMs: Double
    /// Median milliseconds to render and encode a frame.
    public var frameMs: Double
    /// Seconds of audio queued ahead of playback now.
    public var queuedSeconds: Double
    public var mediaSeconds: Double

    enum CodingKeys: String, CodingKey {
        case fps, frames
        case firstFragmentMs = "first_fragment_ms"
        case mouthLagMs = "mouth_lag_ms"
        case droppedFrames = "dropped_frames"
        case streamDelayMs = "stream_delay_ms"
        case frameMs = "frame_ms"
        case queuedSeconds = "queued_seconds"
        case mediaSeconds = "media_seconds"
    }
}

/// What a live session sends out, in order.
public enum LiveOutput: Sendable {
    case initSegment([UInt8])
    case fragment([UInt8])
    case event(LiveEvent)
}

/// A talking avatar streamed as the audio arrives.
///
/// Audio comes in as PCM16 chunks (or text, spoken by espeak-ng), queues, and plays at real-time
/// pace: each frame period the session takes one frame's worth of audio (silence when nothing is
/// queued, so the avatar idles: blinks, breathing, small head motion), hears it, and shows the
/// frame `lookahead` frames behind it, whose mouth could hear that far ahead. Video and audio of a
/// frame go out together in one fragment, stamped from the frame index. A reader that falls behind
/// gets audio without new pictures until it catches up, and the session ends if it stays behind.
public final class LiveSession: @unchecked Sendable {
    public let settings: LiveSettings
    public let width: Int
    public let height: Int
    public var mimeType: String { writer.mimeType }
    /// Where the mouth is in the picture at rest (lips with a margin of half their height), in
    /// pixels: for clients that watch it.
    public let mouthBox: (x: Int, y: Int, width: Int, height: Int)

    private let renderer: FrameRenderer
    private let writer: FragmentedWriter
    private let motion: LiveMotionTrack
    private let analysisRate: Resampler
    private let voice: VoiceStream
    private let lock = NSLock()
    private let outbox = Outbox()
    private var thread: Thread?

    // Guarded by `lock`: what the client sent and asked.
    private var queue: [Float] = []
    private var queueHead = 0
    private var speaking = false
    private var ending = false
    private var closed = false
    private var interruptAsked = false
    /// When the audio now at the head of the queue started an utterance (the first chunk after idle).
    private var utteranceStarted: [ContinuousClock.Instant] = []
    private var firstChunk: ContinuousClock.Instant?

    // The render thread's own.
    private var figures = LiveFigures(
        firstFragmentMs: nil, mouthLagMs: nil, fps: 0, frames: 0, droppedFrames: 0, streamDelayMs: 0, frameMs: 0,
        queuedSeconds: 0, mediaSeconds: 0)
    private var frameTimes: [Double] = []
    private var openings: [Double] = []
    private var levels: [Double] = []
    private var figuresLock = NSLock()

    /// Prepares the avatar (finds the face, frames the shot, closes an open mouth) and the encoder.
    public init(portrait: RGBImage, analyser: PortraitAnalyser = .dlib, settings: LiveSettings = LiveSettings())
        throws
    {
        try settings.validate()
        self.settings = settings
        let analysis = try analyser.analyse(portrait, nil)
        var options = RenderOptions()
        options.resolution = settings.resolution
        options.expressiveness = settings.expressiveness
        options.headMotion = settings.headMotion
        options.renderThreads = settings.threads
        let shot = RenderJob.Shot(portrait: portrait, analysis: analysis, options: options)
        renderer = shot.renderer
        width = shot.framing.width
        height = shot.framing.height
        let lips = Rect.bounding((48...67).map { shot.renderer.rig.landmarks[$0] })
        let margin = lips.height / 2
        mouthBox = (
            Int(lips.minX - margin), Int(lips.minY - margin), Int(lips.width + 2 * margin),
            Int(lips.height + 2 * margin)
        )
        var writerSettings = FragmentedWriter.Settings(
            width: width, height: height, fps: settings.fps, sampleRate: settings.sampleRate)
        writerSettings.preset = settings.preset
        writerSettings.crf = settings.crf
        writerSettings.threads = settings.threads
        writer = try FragmentedWriter(settings: writerSettings)
        motion = LiveMotionTrack(fps: settings.fps, lookahead: settings.lookaheadFrames, seed: settings.seed)
        motion.mouth.amplitude = settings.expressiveness
        motion.head.scale = settings.headMotion
        analysisRate = try Resampler(from: settings.sampleRate, to: VoiceAnalyzer.sampleRate)
        voice = VoiceStream(fps: settings.fps)
    }

    /// Decodes and analyses a portrait file, then prepares the session.
    public convenience init(imagePath: String, analyser: PortraitAnalyser = .dlib, settings: LiveSettings) throws {
        let portrait = try ImageDecoder.decode(path: imagePath, limits: settings.imageLimits)
        try self.init(portrait: portrait, analyser: analyser, settings: settings)
    }

    /// Starts the clock: the init segment and `ready` go out, then a fragment every frame period.
    public func start() {
        var ready = LiveEvent(.ready, at: 0)
        ready.mime = writer.mimeType
        ready.width = width
        ready.height = height
        ready.fps = settings.fps
        ready.sampleRate = settings.sampleRate
        outbox.push(.event(ready))
        outbox.push(.initSegment(writer.initSegment))
        let thread = Thread { [self] in run() }
        thread.name = "live-session"
        thread.qualityOfService = .userInteractive
        lock.withLock { self.thread = thread }
        thread.start()
    }

    // MARK: What the client sends

    /// Queues little-endian PCM16 mono samples at the session's rate.
    public func push(pcm16 data: [UInt8]) throws {
        guard data.count % 2 == 0 else {
            throw MouthpieceError(.invalidParameter, "PCM16 audio comes in whole samples (an even byte count).")
        }
        var samples = [Float](repeating: 0, count: data.count / 2)
        data.withUnsafeBytes { raw in
            for i in samples.indices {
                samples[i] =
                    Float(Int16(littleEndian: raw.loadUnaligned(fromByteOffset: i * 2, as: Int16.self))) / 32768
            }
        }
        try push(samples)
    }

    /// Queues samples in -1...1 at the session's rate.
    public func push(_ samples: [Float]) throws {
        guard !samples.isEmpty else { return }
        let now = ContinuousClock.now
        try lock.withLock {
            guard !closed, !ending else {
                throw MouthpieceError(.invalidParameter, "The session is ending: no more audio is taken.")
            }
            let queued = Double(queue.count - queueHead + samples.count) / Double(settings.sampleRate)
            guard queued <= settings.maxQueuedSeconds else {
                throw MouthpieceError(
                    .queueFull,
                    "More than \(Int(settings.maxQueuedSeconds)) s of audio is queued; send it at about real-time pace."
                )
            }
            if firstChunk == nil { firstChunk = now }
            if queue.count == queueHead && !speaking { utteranceStarted.append(now) }
            if queueHead > settings.sampleRate * 10 {
                queue.removeFirst(queueHead)
                queueHead = 0
            }
            queue += samples
        }
    }

    /// Speaks `script` with espeak-ng into the queue.
    public func say(_ script: Script, speaker: ScriptSpeaker = .espeak) throws {
        let spoken = try speaker.speak(script)
        try push(Resampler.convert(spoken.audio.samples, from: spoken.audio.sampleRate, to: settings.sampleRate))
    }

    /// Drops all queued audio at once (barge-in): the mouth closes within the look-ahead.
    public func interrupt() {
        lock.withLock {
            queue = []
            queueHead = 0
            utteranceStarted = []
            interruptAsked = true
        }
    }

    /// Tells the client of a refusal that does not end the session (a bad control, a full queue).
    public func report(_ error: MouthpieceError) {
        var event = LiveEvent(.error)
        event.code = error.code.rawValue
        event.message = error.message
        outbox.push(.event(event))
    }

    /// Ends the session once the queued audio has played.
    public func end() { lock.withLock { ending = true } }

    /// Ends the session now (the client went away): nothing more is sent.
    public func close() {
        lock.withLock { closed = true }
        outbox.close(discarding: true)
    }

    /// The next thing to send, or nil once the session is over.
    public func next() async -> LiveOutput? { await outbox.next() }

    /// The figures so far.
    public var currentFigures: LiveFigures { figuresLock.withLock { figures } }

    /// Waits until the render thread has stopped.
    public func waitUntilDone() async {
        while lock.withLock({ thread?.isFinished == false }) { try? await Task.sleep(for: .milliseconds(10)) }
    }

    // MARK: The render thread

    /// One frame's audio as taken from the queue, waiting for its frame.
    private struct Slice {
        var samples: [Float]
        var speech: Bool
        var started: ContinuousClock.Instant?
        var taken: ContinuousClock.Instant
    }

    private func run() {
        let clock = ContinuousClock()
        let period = Duration.seconds(1) / settings.fps
        let perFrame = settings.sampleRate / settings.fps
        let start = clock.now
        var pending: [Slice] = []
        var frame = renderer.makeFrame()
        var wasSpeaking = false
        var lastStats = start
        var delays: [Double] = []
        var stopReason = "ended"
        var failure: MouthpieceError?
        var index = 0
        loop: while true {
            let (stop, interrupted) = lock.withLock { () -> (Bool, Bool) in
                defer { interruptAsked = false }
                return (closed, interruptAsked)
            }
            if stop {
                stopReason = "closed"
                break
            }
            if interrupted {
                // Audio already taken but not shown is dropped too, and the mouth hears silence there.
                for i in pending.indices {
                    pending[i].samples = [Float](repeating: 0, count: perFrame)
                    pending[i].speech = false
                    pending[i].started = nil
                }
                motion.silence(from: index)
                var event = LiveEvent(.interrupted, at: Double(index) / Double(settings.fps))
                event.reason = "client"
                outbox.push(.event(event))
            }
            // Hear ahead until this frame's motion can be made.
            while motion.framesReady <= index {
                let slice = takeSlice(perFrame, now: clock.now)
                pending.append(slice)
                for voiced in voice.append(analysisRate.convert(slice.samples)) { motion.append(voiced) }
            }
            let due = start + period * index
            if clock.now < due { Thread.sleep(forTimeInterval: (due - clock.now).inSeconds) }
            let slice = pending.removeFirst()
            let shape = motion.motion(at: index)
            let t0 = clock.now
            // Late by two frames or more, or a reader far behind: no picture this time.
            let late = t0 - due > period * 2
            let backlog = outbox.waiting
            if backlog > settings.fps * Int(settings.closeAfter) {
                stopReason = "client_too_slow"
                failure = MouthpieceError(
                    .clientTooSlow,
                    "The stream was read too slowly for \(Int(settings.closeAfter)) s; the session ended.")
                break
            }
            let held = Double(backlog) > settings.dropAfter * Double(settings.fps)
            let fragment: [UInt8]
            do {
                if late || held {
                    fragment = try writer.append(nil, audio: slice.samples)
                } else {
                    renderer.render(shape, into: &frame)
                    fragment = try writer.append(frame, audio: slice.samples)
                }
            } catch {
                failure = error as? MouthpieceError ?? MouthpieceError(.encodingFailed, "\(error)")
                stopReason = "error"
                break
            }
            let now = clock.now
            let mediaTime = Double(index) / Double(settings.fps)
            if slice.speech && !wasSpeaking {
                var event = LiveEvent(.speaking, at: mediaTime)
                if let started = slice.started { event.latencyMs = (now - started).inSeconds * 1000 }
                outbox.push(.event(event))
            } else if !slice.speech && wasSpeaking {
                outbox.push(.event(LiveEvent(.idle, at: mediaTime)))
            }
            // A frame with no picture may have too little audio for an AAC packet yet: nothing to send.
            if !fragment.isEmpty { outbox.push(.fragment(fragment)) }
            if slice.speech {
                delays.append((now - slice.taken).inSeconds * 1000)
                // The figure is the median of the last 500: no more is kept.
                if delays.count > 1000 { delays.removeFirst(500) }
            }
            record(index: index, shape: shape, slice: slice, dropped: late || held, frameSeconds: (now - t0).inSeconds)
            if slice.speech && !wasSpeaking, figuresLock.withLock({ figures.firstFragmentMs == nil }),
                let first = lock.withLock({ firstChunk })
            {
                figuresLock.withLock { figures.firstFragmentMs = (now - first).inSeconds * 1000 }
            }
            wasSpeaking = slice.speech
            index += 1
            if now - lastStats >= .seconds(1) {
                lastStats = now
                var event = LiveEvent(.stats, at: mediaTime)
                event.stats = summarise(elapsed: (now - start).inSeconds, index: index, delays: delays)
                outbox.push(.event(event))
            }
            // Ending: once the queue and the frames heard ahead hold no speech.
            let (isEnding, queued) = lock.withLock { (ending, queue.count - queueHead) }
            if isEnding && queued == 0 && !pending.contains(where: \.speech) { break loop }
        }
        if stopReason != "closed" {
            if let tail = try? writer.finish(), !tail.isEmpty { outbox.push(.fragment(tail)) }
            let summary = summarise(elapsed: (clock.now - start).inSeconds, index: index, delays: delays)
            if let failure { report(failure) }
            var ended = LiveEvent(.ended, at: Double(index) / Double(settings.fps))
            ended.reason = stopReason
            ended.stats = summary
            outbox.push(.event(ended))
        }
        outbox.close()
    }

    /// The next frame's audio: queued speech once enough is held to ride out late chunks, silence
    /// otherwise (a queue that runs dry mid-frame is padded, and the avatar goes idle).
    private func takeSlice(_ count: Int, now: ContinuousClock.Instant) -> Slice {
        lock.withLock {
            let queued = queue.count - queueHead
            let hold = speaking ? 0 : Int(settings.jitter * Double(settings.sampleRate))
            guard queued > 0, queued >= count + hold || ending || speaking else {
                speaking = false
                return Slice(samples: [Float](repeating: 0, count: count), speech: false, started: nil, taken: now)
            }
            let started = speaking ? nil : utteranceStarted.first
            if !speaking, !utteranceStarted.isEmpty { utteranceStarted.removeFirst() }
            speaking = true
            let n = min(count, queued)
            var samples = Array(queue[queueHead..<(queueHead + n)])
            queueHead += n
            if n < count {
                samples += [Float](repeating: 0, count: count - n)
                // Ran dry: what follows starts a new utterance.
                speaking = false
            }
            return Slice(samples: samples, speech: true, started: started, taken: now)
        }
    }

    private func record(index: Int, shape: FaceMotion, slice: Slice, dropped: Bool, frameSeconds: Double) {
        var energy: Float = 0
        for s in slice.samples { energy += s * s }
        let rms = (Double(energy) / Double(max(1, slice.samples.count))).squareRoot()
        figuresLock.withLock {
            figures.frames = index + 1
            if dropped { figures.droppedFrames += 1 } else { frameTimes.append(frameSeconds * 1000) }
            if frameTimes.count > 2000 { frameTimes.removeFirst(1000) }
            // Ten minutes of pairs are enough to measure the lag.
            if openings.count < settings.fps * 600 {
                openings.append(shape.mouth.lipGap)
                levels.append(rms > 1e-5 ? 20 * log10(rms) : -100)
            }
        }
    }

    private func summarise(elapsed: Double, index: Int, delays: [Double]) -> LiveFigures {
        let queued = lock.withLock { Double(queue.count - queueHead) / Double(settings.sampleRate) }
        return figuresLock.withLock {
            figures.fps = elapsed > 0 ? Double(index) / elapsed : 0
            figures.frameMs = median(frameTimes)
            figures.streamDelayMs = median(delays.suffix(500))
            figures.queuedSeconds = queued
            figures.mediaSeconds = Double(index) / Double(settings.fps)
            if let lag = LipLag.best(openings: openings, loudness: levels, within: 5) {
                figures.mouthLagMs = Double(lag) * 1000 / Double(settings.fps)
            }
            return figures
        }
    }
}

private func median<C: Collection>(_ values: C) -> Double where C.Element == Double {
    guard !values.isEmpty else { return 0 }
    let sorted = values.sorted()
    return sorted[sorted.count / 2]
}

/// The lag (in frames) at which mouth opening best follows loudness: positive when the mouth
/// trails the sound.
enum LipLag {
    static func best(openings: [Double], loudness: [Double], within reach: Int) -> Int? {
        guard min(openings.count, loudness.count) > 4 * reach else { return nil }
        return ClipEvaluation.correlationByLag(
            openings: openings, loudness: loudness.map { max($0, -60) }, maxLag: reach
        ).filter { $0.r.isFinite }.max { $0.r < $1.r }?.lag
    }
}

/// What waits to be sent, with how many fragments are in it; one reader.
final class Outbox: @unchecked Sendable {
    private let lock = NSLock()
    private var items: [LiveOutput] = []
    private var head = 0
    private var fragments = 0
    private var isClosed = false
    private var waiter: CheckedContinuation<LiveOutput?, Never>?

    /// Fragments not yet read.
    var waiting: Int { lock.withLock { fragments } }

    func push(_ item: LiveOutput) {
        let resume: CheckedContinuation<LiveOutput?, Never>? = lock.withLock {
            guard !isClosed else { return nil }
            if let waiter {
                self.waiter = nil
                return waiter
            }
            items.append(item)
            if case .fragment = item { fragments += 1 }
            return nil
        }
        resume?.resume(returning: item)
    }

    /// No more pushes; what waits is still read unless `discarding` (the reader went away).
    func close(discarding: Bool = false) {
        let resume: CheckedContinuation<LiveOutput?, Never>? = lock.withLock {
            isClosed = true
            if discarding {
                items = []
                head = 0
                fragments = 0
            }
            defer { waiter = nil }
            return waiter
        }
        resume?.resume(returning: nil)
    }

    func next() async -> LiveOutput? {
        await withCheckedContinuation { continuation in
            let ready: LiveOutput?? = lock.withLock {
                if head < items.count {
                    let item = items[head]
                    head += 1
                    if case .fragment = item { fragments -= 1 }
                    if head > 256 {
                        items.removeFirst(head)
                        head = 0
                    }
                    return .some(item)
                }
                if isClosed { return .some(nil) }
                waiter = continuation
                return nil
            }
            if let ready { continuation.resume(returning: ready) }
        }
    }
}
