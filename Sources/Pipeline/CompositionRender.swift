import Face
import Foundation
import Media
import Motion
import MouthpieceCore
import Render
import Voice

extension CompositionPlan {
    /// Mixes every scene's voices (and the music bed) into one mono WAV as long as the video,
    /// scene after scene, a cross-fade's two sides mixed where scenes overlap; answers each
    /// scene's speakers' voices measured at the frame rate (a listener's is silent).
    func mixSound(into path: String, music: Composition.Music?, files: CompositionFiles) throws -> [[VoiceFeatures]] {
        let rate = CompositionJob.sampleRate
        let analysisRate = VoiceAnalyzer.sampleRate
        let writer = try WAVWriter(path: path, sampleRate: rate)
        let bed = try music.map { try MusicBed($0, files: files, rate: rate) }
        var pending: [Float] = []
        var voices: [[VoiceFeatures]] = []
        for (s, scene) in scenes.enumerated() {
            let sampleCount = scene.frames * samplesPerFrame
            var mix = [Float](repeating: 0, count: sampleCount)
            var sceneVoices: [VoiceFeatures] = []
            for (k, speaker) in scene.speakers.enumerated() {
                guard let voice = speaker.voice else {
                    sceneVoices.append(.silent(fps: fps, count: scene.frames))
                    continue
                }
                let field = "scenes[\(s)].speakers[\(k)].audio"
                let heard = try Self.read(voice, rate: rate, field: field)
                Self.add(heard, to: &mix, at: Int((voice.start * Double(rate)).rounded()))
                // Measured alone, at the analysis rate, where it falls in the scene.
                var alone = [Float](repeating: 0, count: scene.frames * analysisRate / fps + analysisRate / 10)
                Self.add(
                    try Self.read(voice, rate: analysisRate, field: field), to: &alone,
                    at: Int((voice.start * Double(analysisRate)).rounded()))
                let clip = AudioClip(sampleRate: analysisRate, samples: alone)
                sceneVoices.append(VoiceAnalyzer().analyze(clip, fps: fps, frameCount: scene.frames))
                if speaker.videoPath != nil {
                    // The voice a video speaker's clone will follow, placed as here.
                    let wav = FileManager.default.temporaryDirectory.appendingPathComponent(
                        "mouthpiece-voice-\(UUID().uuidString).wav"
                    ).path
                    temporaryFiles.append(wav)
                    // As long as the scene (the clone is as long as its voice).
                    let placed = AudioClip(
                        sampleRate: analysisRate, samples: Array(alone.prefix(scene.frames * analysisRate / fps)))
                    try AtomicFile.write(placed.wavBytes(), to: wav)
                    cloneVoices["\(s).\(k)"] = wav
                }
            }
            voices.append(sceneVoices)
            // The previous scene's tail fades out as this one's head fades in.
            for j in pending.indices where j < mix.count {
                let w = (Float(j) + 0.5) / Float(pending.count)
                mix[j] = pending[j] * (1 - w) + mix[j] * w
            }
            let hold = s + 1 < scenes.count ? scene.overlap * samplesPerFrame : 0
            pending = Array(mix.suffix(hold))
            var out = Array(mix.dropLast(hold))
            if let bed { try bed.mix(into: &out) }
            try writer.write(out)
        }
        try writer.finish()
        return voices
    }

    /// A voice's samples at `rate`, mono: its channel of a two-channel file, or all channels mixed.
    static func read(_ voice: Voice, rate: Int, field: String) throws -> [Float] {
        do {
            let probe = try AudioReader(path: voice.path, sampleRate: rate, channels: 1)
            if let channel = voice.channel {
                guard probe.info.channels >= 2 else {
                    throw MouthpieceError(
                        .invalidParameter, "channel needs a two-channel recording; this audio has one.",
                        field: field.replacingOccurrences(of: ".audio", with: ".channel"))
                }
                let reader = try AudioReader(path: voice.path, sampleRate: rate, channels: 2)
                var samples: [Float] = []
                while let chunk = try reader.next() {
                    samples += stride(from: channel, to: chunk.count, by: 2).map { chunk[$0] }
                }
                return samples
            }
            var samples: [Float] = []
            while let chunk = try probe.next() { samples += chunk }
            return samples
        } catch let error as MouthpieceError where error.field == "audio" {
            throw error.about(field)
        }
    }

    static func add(_ samples: [Float], to mix: inout [Float], at offset: Int) {
        guard offset < mix.count else { return }
        for (i, s) in samples.prefix(mix.count - offset).enumerated() { mix[offset + i] += s }
    }
}

/// Music under the speech, looped to the video's length, lowered while anyone speaks (the level
/// follows the speech in 10 ms steps: down in 60 ms, starting a little before the voice, back
/// up over 400 ms).
final class MusicBed {
    private let path: String
    private let rate: Int
    private let volume: Float
    private let ducking: Float
    private var reader: AudioReader
    private var buffered: [Float] = []
    private var gain: Float = 1

    init(_ music: Composition.Music, files: CompositionFiles, rate: Int) throws {
        path = try files.file(music.audio, "music.audio")
        self.rate = rate
        volume = Float(music.volume ?? 0.25)
        ducking = Float(music.ducking ?? 0.7)
        reader = try AudioReader(path: path, sampleRate: rate, channels: 1)
    }

    private func take(_ count: Int) throws -> [Float] {
        var restarted = false
        while buffered.count < count {
            if let chunk = try reader.next() {
                buffered += chunk
                restarted = false
            } else {
                // Loop; a file with no samples at all ends in silence.
                guard !restarted else { return buffered + [Float](repeating: 0, count: count - buffered.count) }
                reader = try AudioReader(path: path, sampleRate: rate, channels: 1)
                restarted = true
            }
        }
        defer { buffered.removeFirst(count) }
        return Array(buffered.prefix(count))
    }

    func mix(into speech: inout [Float]) throws {
        let music = try take(speech.count)
        let step = rate / 100
        let blocks = (speech.count + step - 1) / step
        // Speech present in each 10 ms block (above about -45 dBFS), looking 50 ms ahead.
        var speaking = (0..<blocks).map { b -> Bool in
            let part = speech[(b * step)..<min(speech.count, (b + 1) * step)]
            let power = part.reduce(Float(0)) { $0 + $1 * $1 } / Float(max(1, part.count))
            return power > 3e-5
        }
        speaking = speaking.indices.map { b in speaking[b..<min(blocks, b + 6)].contains(true) }
        let down: Float = 1 - ducking
        for b in 0..<blocks {
            let target: Float = speaking[b] ? down : 1
            let rate: Float = target < gain ? 1 / 6 : 1 / 40
            let from = gain
            gain += (target - gain) * rate
            let lo = b * step
            let hi = min(speech.count, lo + step)
            for i in lo..<hi {
                let g = from + (gain - from) * Float(i - lo) / Float(max(1, hi - lo))
                speech[i] = max(-1, min(1, speech[i] + music[i] * volume * g))
            }
        }
    }
}

/// Makes the composition's frames in order: each scene's speakers rendered into their panels
/// of the frame, two scenes blended where they cross-fade. Scenes are built when their first
/// frame comes and let go after their last.
final class SceneFrames: @unchecked Sendable {
    private let plan: CompositionPlan
    private let voices: [[VoiceFeatures]]
    private let options: RenderOptions
    private let analyser: PortraitAnalyser
    private var built: [Int: SceneRender] = [:]

    init(plan: CompositionPlan, voices: [[VoiceFeatures]], options: RenderOptions, analyser: PortraitAnalyser) {
        self.plan = plan
        self.voices = voices
        self.options = options
        self.analyser = analyser
    }

    func frame(_ f: Int) throws -> YUVImage {
        let showing = plan.scenes.indices.filter { s in
            let scene = plan.scenes[s]
            return f >= scene.startFrame && f < scene.startFrame + scene.frames
        }
        for s in built.keys where !showing.contains(s) { built[s] = nil }
        var frames: [(YUVImage, Int)] = []
        for s in showing {
            if built[s] == nil {
                built[s] = try SceneRender(
                    plan.scenes[s], index: s, voices: voices[s], plan: plan, options: options, analyser: analyser)
            }
            frames.append((try built[s]!.frame(f - plan.scenes[s].startFrame), s))
        }
        guard let first = frames.first else {
            throw MouthpieceError(.internalError, "No scene covers frame \(f).")
        }
        guard frames.count == 2 else { return first.0 }
        // A cross-fade: the later scene comes in over the shared frames.
        let earlier = plan.scenes[first.1]
        let into = f - plan.scenes[frames[1].1].startFrame
        let weight = (Double(into) + 0.5) / Double(earlier.overlap)
        return Self.blend(first.0, frames[1].0, weight)
    }

    static func blend(_ a: YUVImage, _ b: YUVImage, _ weight: Double) -> YUVImage {
        let w = Int((weight * 256).rounded())
        func mixed(_ x: [UInt8], _ y: [UInt8]) -> [UInt8] {
            zip(x, y).map { UInt8((Int($0) * (256 - w) + Int($1) * w + 128) >> 8) }
        }
        return YUVImage(width: a.width, height: a.height, y: mixed(a.y, b.y), u: mixed(a.u, b.u), v: mixed(a.v, b.v))
    }
}

/// One scene's panels: a renderer and a motion track for each speaker (or the frames of their
/// clone), and where it goes.
final class SceneRender {
    struct Panel {
        let renderer: FrameRenderer?
        var frame: YUVImage
        let motion: [FaceMotion]
        let clip: ClipPanel?
        let x: Int
        let y: Int
        let border: Bool
    }

    /// A video speaker's clone read frame by frame, at the composition's rate, cropped and scaled
    /// to its place in the panel as the framing of a portrait would be.
    final class ClipPanel {
        let source: VideoSource
        let crop: (x: Int, y: Int, width: Int, height: Int)
        let size: (width: Int, height: Int)
        let offset: (x: Int, y: Int)
        /// For a clip that does not fill its panel: the panel with its first frame fitted on a
        /// blurred fill, as a portrait's would be, under every frame.
        let fill: YUVImage?
        let rate: Double
        let fps: Int
        private var current: YUVImage

        init(path: String, panel: (width: Int, height: Int), shot: Framing.Shot, fps: Int, analyser: PortraitAnalyser)
            throws
        {
            source = try VideoSource(path: path)
            self.fps = fps
            rate = source.info.frameRate.perSecond
            guard let first = try source.next() else {
                throw MouthpieceError(.unsupportedVideo, "The clone holds no frame.", field: "video")
            }
            current = first
            let face = try analyser.analyse(PixelConverter.toRGB(first), nil)
            let framing = Framing.plan(
                imageWidth: first.width, imageHeight: first.height, face: face.landmarks, width: panel.width,
                height: panel.height, shot: shot)
            crop = framing.sourceRegion(imageWidth: first.width, imageHeight: first.height, even: true)
            size = (max(2, Int(framing.destination.width) & ~1), max(2, Int(framing.destination.height) & ~1))
            offset = (Int(framing.destination.x) & ~1, Int(framing.destination.y) & ~1)
            fill =
                framing.mode == .pad ? PixelConverter.toYUV(framing.baseFrame(from: PixelConverter.toRGB(first))) : nil
        }

        /// The clip's frame at the composition's frame `n` (the last one held past its end).
        func frame(_ n: Int) throws -> YUVImage {
            let wanted = Int(Double(n) / Double(fps) * rate + 1e-6)
            while source.position <= wanted, let next = try source.next() { current = next }
            let picture = PixelConverter.resize(current, source: crop, width: size.width, height: size.height)
            guard var panel = fill else { return picture }
            panel.paste(picture, x: offset.x, y: offset.y)
            return panel
        }
    }

    private var panels: [Panel] = []
    private var canvas: YUVImage

    init(
        _ scene: CompositionPlan.Scene, index: Int, voices: [VoiceFeatures], plan: CompositionPlan,
        options: RenderOptions, analyser: PortraitAnalyser
    ) throws {
        canvas = YUVImage(
            width: plan.width, height: plan.height, y: [UInt8](repeating: 16, count: plan.width * plan.height),
            u: [UInt8](repeating: 128, count: plan.width * plan.height / 4),
            v: [UInt8](repeating: 128, count: plan.width * plan.height / 4))
        let rects = Self.layout(scene.layout, count: scene.speakers.count, width: plan.width, height: plan.height)
        var backdrop: Backdrop? = nil
        if let background = scene.backdrop {
            if let color = background.color {
                backdrop = Backdrop.color(hex: color)
            } else if let path = scene.backgroundPath {
                backdrop = .image(try ImageDecoder.decode(path: path, limits: plan.limits))
            } else if background.blur == true {
                backdrop = .blur
            }
        }
        for (k, speaker) in scene.speakers.enumerated() {
            let rect = rects[k]
            let border = scene.layout == .pictureInPicture && k > 0
            if let clone = plan.clones["\(index).\(k)"] {
                let clip = try ClipPanel(
                    path: clone, panel: (rect.width, rect.height), shot: scene.shot, fps: options.fps,
                    analyser: analyser)
                let first = try clip.frame(0)
                panels.append(
                    Panel(renderer: nil, frame: first, motion: [], clip: clip, x: rect.x, y: rect.y, border: border))
                continue
            }
            guard let analysis = speaker.analysis else {
                throw MouthpieceError(.internalError, "A video speaker was not cloned.", field: "video")
            }
            let portrait = try ImageDecoder.decode(path: speaker.imagePath, limits: plan.limits)
            let framing = Framing.plan(
                imageWidth: portrait.width, imageHeight: portrait.height, face: analysis.landmarks,
                width: rect.width, height: rect.height, shot: scene.shot)
            let shot = RenderJob.Shot(
                portrait: portrait, analysis: analysis, options: options, framing: framing, backdrop: backdrop)
            let renderer = shot.renderer
            let others = voices.indices.filter { $0 != k }.map { voices[$0] }
            panels.append(
                Panel(
                    renderer: renderer, frame: renderer.makeFrame(),
                    motion: Self.motion(
                        speaker, voice: voices[k], others: others, frames: scene.frames, options: options),
                    clip: nil, x: rect.x, y: rect.y, border: border))
        }
    }

    /// Panels for `count` speakers in a `width` x `height` frame, even-aligned.
    static func layout(
        _ layout: Composition.Layout, count: Int, width: Int, height: Int
    ) -> [(x: Int, y: Int, width: Int, height: Int)] {
        switch layout {
        case .single:
            return [(0, 0, width, height)]
        case .sideBySide:
            let column = width / count & ~1
            return (0..<count).map { k in
                (k * column, 0, k == count - 1 ? width - k * column : column, height)
            }
        case .pictureInPicture:
            // The others in small pictures (30 % of the width) along the bottom, from the right.
            let insetWidth = Int(Double(width) * 0.3) & ~1
            let insetHeight = Int(Double(insetWidth) * Double(height) / Double(width)) & ~1
            let margin = Int(Double(min(width, height)) * 0.04) & ~1
            return [(0, 0, width, height)]
                + (1..<count).map { k in
                    (width - k * (insetWidth + margin), height - insetHeight - margin, insetWidth, insetHeight)
                }
        }
    }

    /// A speaker's motion over the scene: the mouth from their own voice (or their script's
    /// phonemes), shut while they listen; blinks and drift seeded by who they are (the same in
    /// every scene); the head following their own speech while they speak and, at half the
    /// amplitude, nodding to the others' while they listen; every scene starting from the same
    /// still pose (the head's motion eased in over 0.4 s).
    static func motion(
        _ speaker: CompositionPlan.Speaker, voice: VoiceFeatures, others: [VoiceFeatures], frames: Int,
        options: RenderOptions
    ) -> [FaceMotion] {
        let fps = options.fps
        let seed = options.seed ^ fnv(speaker.identity)
        var mouths = [MouthShape](repeating: .rest, count: frames)
        if let said = speaker.voice {
            // A script's phonemes where they fall in the scene.
            let phones = said.script?.phonemes.map { p -> PhoneSpan in
                let span = p.span
                return PhoneSpan(
                    symbol: span.symbol, start: span.start + said.start, end: span.end + said.start,
                    closure: span.closure.map { ($0.lowerBound + said.start)...($0.upperBound + said.start) })
            }
            mouths = SpokenSound.mouthShapes(phones: phones, for: voice, lipLead: options.lipLead)
        }
        let blinks = BlinkTrack().closure(frameCount: frames, fps: fps, seed: seed)
        var head = HeadMotionTrack()
        head.scale = options.headMotion
        let own = head.motion(for: voice, seed: seed)
        head.scale = options.headMotion * 0.5
        let heard = VoiceFeatures(
            fps: fps,
            frames: (0..<frames).map { n in
                others.map { $0.frames[n] }.max { $0.loudness < $1.loudness } ?? voice.frames[n]
            })
        let listening = head.motion(for: heard, seed: seed)
        // How much the speaker is speaking, smoothed over 0.6 s: their own motion's weight.
        let gate = voice.speechLevels().gate
        let raw = voice.frames.map { speaker.voice != nil && $0.loudness > gate ? 1.0 : 0.0 }
        let reach = max(1, Int(0.3 * Double(fps)))
        let speaking = raw.indices.map { n in
            raw[max(0, n - reach)...min(raw.count - 1, n + reach)].reduce(0, +) / Double(2 * reach + 1)
        }
        return (0..<frames).map { n in
            let w = speaking[n]
            let t = min(1, Double(n) / (0.4 * Double(fps)))
            let ease = t * t * (3 - 2 * t)
            func mixed(_ a: Double, _ b: Double) -> Double { (a * w + b * (1 - w)) * ease }
            let pose = HeadMotion(
                yaw: mixed(own[n].yaw, listening[n].yaw), pitch: mixed(own[n].pitch, listening[n].pitch),
                roll: mixed(own[n].roll, listening[n].roll), browLift: mixed(own[n].browLift, listening[n].browLift))
            return FaceMotion(mouth: mouths[n], blink: blinks[n], head: pose)
        }
    }

    /// FNV-1a: a hash that is the same in every process (Swift's own is seeded per process).
    static func fnv(_ text: String) -> UInt64 {
        text.utf8.reduce(0xcbf2_9ce4_8422_2325) { ($0 ^ UInt64($1)) &* 0x100_0000_01b3 }
    }

    func frame(_ n: Int) throws -> YUVImage {
        for k in panels.indices {
            if let clip = panels[k].clip {
                panels[k].frame = try clip.frame(n)
            } else if let renderer = panels[k].renderer {
                let index = min(n, panels[k].motion.count - 1)
                renderer.render(panels[k].motion[index], into: &panels[k].frame)
            }
            paste(panels[k])
        }
        return canvas
    }

    private func paste(_ panel: Panel) {
        let image = panel.frame
        canvas.paste(image, x: panel.x, y: panel.y)
        guard panel.border else { return }
        // A light 2-pixel frame around a small picture.
        for row in panel.y..<(panel.y + image.height) {
            for col in panel.x..<(panel.x + image.width)
            where row < panel.y + 2 || row >= panel.y + image.height - 2 || col < panel.x + 2
                || col >= panel.x + image.width - 2
            {
                canvas.y[row * canvas.width + col] = 230
                canvas.u[(row / 2) * canvas.chromaWidth + col / 2] = 128
                canvas.v[(row / 2) * canvas.chromaWidth + col / 2] = 128
            }
        }
    }
}
