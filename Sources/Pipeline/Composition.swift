import Foundation
import MouthpieceCore
import Render
import Speech

/// A video of several scenes, each with one or more speakers, as the command line
/// (`mouthpiece compose spec.json`) and the API (`POST /v1/videos` with `scenes`) take it: one
/// schema. Files are named by strings the caller resolves (local paths relative to the spec on
/// the command line; uploads, URLs or avatar ids in the API).
///
/// ```json
/// {"resolution": "720p", "fps": 25, "aspect": "16:9", "captions": "sidecar",
///  "music": {"audio": "bed.mp3", "volume": 0.2},
///  "scenes": [
///    {"speakers": [{"image": "ana.jpg", "audio": "hello.wav"}], "background": {"blur": true},
///     "transition": {"type": "crossfade", "seconds": 0.5}},
///    {"speakers": [{"image": "ana.jpg", "audio": "q.wav"}, {"image": "ben.jpg", "script": "Yes."}],
///     "layout": "side_by_side"}]}
/// ```
public struct Composition: Codable, Equatable, Sendable {
    public var resolution: String?
    public var fps: Int?
    public var aspect: String?
    public var captions: CaptionMode?
    public var music: Music?
    public var seed: UInt64?
    /// Mouth and head motion amplitudes, 0 to 2 (1 by default), for every speaker.
    public var expressiveness: Double?
    public var headMotion: Double?
    public var scenes: [Scene]
    /// Pronunciations for every script: word -> respelling (through the API, the key's lexicon).
    public var lexicon: [String: String]?

    enum CodingKeys: String, CodingKey {
        case resolution, fps, aspect, captions, music, seed, expressiveness, scenes, lexicon
        case headMotion = "head_motion"
    }

    public static let maxScenes = 100
    public static let maxSpeakers = 4

    public enum CaptionMode: String, Codable, Sendable, CaseIterable {
        /// No captions.
        case none
        /// `.srt` and `.vtt` beside the video (the API: the video's captions links).
        case sidecar
        /// Drawn into the frames, and the files too.
        case burned
    }

    /// A music bed under the speech, quieter while anyone speaks.
    public struct Music: Codable, Equatable, Sendable {
        public var audio: String
        /// Its level, 0 to 1 (0.25 by default) ...
        public var volume: Double?
        /// ... and how far it drops under speech, 0 (not at all) to 1 (silent); 0.7 by default.
        public var ducking: Double?

        public init(audio: String, volume: Double? = nil, ducking: Double? = nil) {
            self.audio = audio
            self.volume = volume
            self.ducking = ducking
        }
    }

    public enum Layout: String, Codable, Sendable, CaseIterable {
        /// One speaker fills the frame.
        case single
        /// Speakers in equal columns, left to right.
        case sideBySide = "side_by_side"
        /// The first speaker fills the frame; the others in small pictures at the bottom right.
        case pictureInPicture = "picture_in_picture"
    }

    public struct Scene: Codable, Equatable, Sendable {
        public var speakers: [Speaker]
        public var layout: Layout?
        public var background: Background?
        public var framing: Framing.Shot?
        public var transition: Transition?
        /// Seconds; by default the end of the last speech.
        public var duration: Double?

        public init(
            speakers: [Speaker], layout: Layout? = nil, background: Background? = nil, framing: Framing.Shot? = nil,
            transition: Transition? = nil, duration: Double? = nil
        ) {
            self.speakers = speakers
            self.layout = layout
            self.background = background
            self.framing = framing
            self.transition = transition
            self.duration = duration
        }
    }

    /// One person in a scene: who (an avatar, a portrait or a video) and what they say (an audio
    /// file or a script); with neither they listen.
    public struct Speaker: Codable, Equatable, Sendable {
        public var avatarID: String?
        public var image: String?
        public var video: String?
        public var audio: String?
        public var script: ScriptText?
        /// Seconds into the scene where the speech starts (0 by default).
        public var start: Double?
        /// Of a two-channel recording of a dialogue, this speaker's channel (0 left, 1 right).
        public var channel: Int?

        public init(
            avatarID: String? = nil, image: String? = nil, video: String? = nil, audio: String? = nil,
            script: ScriptText? = nil, start: Double? = nil, channel: Int? = nil
        ) {
            self.avatarID = avatarID
            self.image = image
            self.video = video
            self.audio = audio
            self.script = script
            self.start = start
            self.channel = channel
        }

        enum CodingKeys: String, CodingKey {
            case avatarID = "avatar_id"
            case image, video, audio, script, start, channel
        }

        /// Whether this speaker says anything.
        public var speaks: Bool { audio != nil || script != nil }
    }

    /// A script: a plain string, or `{text, language, voice, rate, pitch}`.
    public struct ScriptText: Codable, Equatable, Sendable {
        public var text: String
        public var language: String?
        public var voice: String?
        public var rate: Int?
        public var pitch: Int?

        public init(text: String, language: String? = nil, voice: String? = nil, rate: Int? = nil, pitch: Int? = nil) {
            self.text = text
            self.language = language
            self.voice = voice
            self.rate = rate
            self.pitch = pitch
        }

        enum CodingKeys: String, CodingKey { case text, language, voice, rate, pitch }

        public init(from decoder: any Decoder) throws {
            if let text = try? decoder.singleValueContainer().decode(String.self) {
                self.init(text: text)
                return
            }
            let c = try decoder.container(keyedBy: CodingKeys.self)
            self.init(
                text: try c.decode(String.self, forKey: .text),
                language: try c.decodeIfPresent(String.self, forKey: .language),
                voice: try c.decodeIfPresent(String.self, forKey: .voice),
                rate: try c.decodeIfPresent(Int.self, forKey: .rate),
                pitch: try c.decodeIfPresent(Int.self, forKey: .pitch))
        }

        public var script: Script {
            Script(
                text: text, language: language ?? Script.defaultLanguage, voice: voice,
                rate: rate ?? Script.defaultRate,
                pitch: pitch ?? Script.defaultPitch)
        }
    }

    /// `{"color": "#rrggbb"}`, `{"image": ...}` or `{"blur": true}`; absent: the portrait's own.
    public struct Background: Codable, Equatable, Sendable {
        public var color: String?
        public var image: String?
        public var blur: Bool?

        public init(color: String? = nil, image: String? = nil, blur: Bool? = nil) {
            self.color = color
            self.image = image
            self.blur = blur
        }
    }

    public struct Transition: Codable, Equatable, Sendable {
        public enum Kind: String, Codable, Sendable, CaseIterable { case cut, crossfade }
        public var type: Kind
        public var seconds: Double?

        public init(type: Kind, seconds: Double? = nil) {
            self.type = type
            self.seconds = seconds
        }

        /// The overlap with the next scene, in seconds.
        public var overlap: Double { type == .crossfade ? (seconds ?? 0.5) : 0 }
    }

    public init(
        scenes: [Scene], resolution: String? = nil, fps: Int? = nil, aspect: String? = nil,
        captions: CaptionMode? = nil, music: Music? = nil, seed: UInt64? = nil, expressiveness: Double? = nil,
        headMotion: Double? = nil
    ) {
        self.scenes = scenes
        self.resolution = resolution
        self.fps = fps
        self.aspect = aspect
        self.captions = captions
        self.music = music
        self.seed = seed
        self.expressiveness = expressiveness
        self.headMotion = headMotion
    }

    /// Decodes a composition, a malformed one refused with the field at fault
    /// (`scenes[1].speakers[0].start`).
    public static func decode(_ data: Data) throws -> Composition {
        do {
            return try JSONDecoder().decode(Composition.self, from: data)
        } catch let error as DecodingError {
            throw Self.refusal(error)
        }
    }

    static func refusal(_ error: DecodingError) -> MouthpieceError {
        let field = error.field
        switch error {
        case .keyNotFound:
            return MouthpieceError(.invalidParameter, "\(field ?? "") is required.", field: field)
        case .typeMismatch(let type, _), .valueNotFound(let type, _):
            return MouthpieceError(
                .invalidParameter, "\(field ?? "The composition") must be \(Self.describe(type)).", field: field)
        case .dataCorrupted(let context):
            guard let field else { return MouthpieceError(.invalidParameter, "The composition is not valid JSON.") }
            return MouthpieceError(
                .invalidParameter, "\(field) has a value it cannot take (\(context.debugDescription)).", field: field)
        @unknown default:
            return MouthpieceError(.invalidParameter, "The composition could not be read.")
        }
    }

    private static func describe(_ type: Any.Type) -> String {
        switch type {
        case is String.Type: return "a string"
        case is Int.Type, is UInt64.Type: return "a whole number"
        case is Double.Type: return "a number"
        case is Bool.Type: return "true or false"
        case is [Any].Type: return "a list"
        default: return "an object"
        }
    }

    /// The render options its top-level fields ask for (16:9 at 720p, 30 fps by default).
    public func renderOptions() throws -> RenderOptions {
        var options = try RenderOptions.parse(
            resolution: resolution, fps: fps, aspect: aspect ?? Aspect.landscape.rawValue, seed: seed,
            expressiveness: expressiveness, faceIndex: nil, headMotion: headMotion)
        if options.aspect == .original {
            throw MouthpieceError(
                .invalidParameter, "A composition needs a frame shape: aspect must be 16:9, 9:16 or 1:1.",
                field: "aspect")
        }
        options.captionFiles = (captions ?? .sidecar) != .none
        options.burnCaptions = captions == .burned
        return options
    }

    /// Checks everything that can be checked without reading a file: counts, exclusive choices,
    /// ranges, the layout against the speakers. Each refusal names its field.
    public func validate() throws {
        _ = try renderOptions()
        try Script.validate(lexicon: lexicon ?? [:])
        guard !scenes.isEmpty else {
            throw MouthpieceError(.invalidParameter, "scenes is empty: a composition needs a scene.", field: "scenes")
        }
        guard scenes.count <= Self.maxScenes else {
            throw MouthpieceError(
                .invalidParameter, "A composition has at most \(Self.maxScenes) scenes; this one has \(scenes.count).",
                field: "scenes")
        }
        if let music {
            if let volume = music.volume, !(volume.isFinite && (0...1).contains(volume)) {
                throw MouthpieceError(.invalidParameter, "music.volume must be between 0 and 1.", field: "music.volume")
            }
            if let ducking = music.ducking, !(ducking.isFinite && (0...1).contains(ducking)) {
                throw MouthpieceError(
                    .invalidParameter, "music.ducking must be between 0 and 1.", field: "music.ducking")
            }
        }
        for (s, scene) in scenes.enumerated() {
            try validate(scene, at: "scenes[\(s)]", last: s == scenes.count - 1)
        }
    }

    private func validate(_ scene: Scene, at path: String, last: Bool) throws {
        let count = scene.speakers.count
        guard count > 0 else {
            throw MouthpieceError(.invalidParameter, "\(path).speakers is empty.", field: "\(path).speakers")
        }
        guard count <= Self.maxSpeakers else {
            throw MouthpieceError(
                .invalidParameter, "A scene has at most \(Self.maxSpeakers) speakers.", field: "\(path).speakers")
        }
        let layout = scene.layout ?? (count == 1 ? .single : .sideBySide)
        if layout == .single && count > 1 {
            throw MouthpieceError(
                .invalidParameter, "The single layout shows one speaker; this scene has \(count).",
                field: "\(path).layout")
        }
        if layout != .single && count < 2 {
            throw MouthpieceError(
                .invalidParameter, "The \(layout.rawValue) layout needs two speakers or more.", field: "\(path).layout")
        }
        if let duration = scene.duration, !(duration.isFinite && duration > 0) {
            throw MouthpieceError(
                .invalidParameter, "\(path).duration must be a positive number of seconds.", field: "\(path).duration")
        }
        if !scene.speakers.contains(where: \.speaks) && scene.duration == nil {
            throw MouthpieceError(
                .invalidParameter, "Nobody speaks in this scene: give its duration, or a speaker audio or a script.",
                field: "\(path).duration")
        }
        if let background = scene.background {
            let given = [background.color != nil, background.image != nil, background.blur == true].filter { $0 }
            guard given.count == 1 else {
                throw MouthpieceError(
                    .invalidParameter,
                    "A background is one of {\"color\": \"#rrggbb\"}, {\"image\": ...} or {\"blur\": true}.",
                    field: "\(path).background")
            }
            if let color = background.color, Backdrop.color(hex: color) == nil {
                throw MouthpieceError(
                    .invalidParameter, "\(path).background.color must be #rrggbb; got \(color).",
                    field: "\(path).background.color")
            }
        }
        if let transition = scene.transition {
            if let seconds = transition.seconds, !(seconds.isFinite && seconds >= 0) {
                throw MouthpieceError(
                    .invalidParameter, "\(path).transition.seconds must be 0 or more.",
                    field: "\(path).transition.seconds")
            }
            if last && transition.overlap > 0 {
                throw MouthpieceError(
                    .invalidParameter, "The last scene has no next scene to cross-fade into.",
                    field: "\(path).transition")
            }
        }
        for (k, speaker) in scene.speakers.enumerated() {
            let at = "\(path).speakers[\(k)]"
            let who = [speaker.avatarID, speaker.image, speaker.video].compactMap { $0 }
            guard who.count == 1 else {
                throw MouthpieceError(
                    .invalidParameter, "A speaker is one of avatar_id, image or video; \(at) gives \(who.count).",
                    field: at)
            }
            if speaker.audio != nil && speaker.script != nil {
                throw MouthpieceError(
                    .invalidParameter, "A speaker says an audio file or a script, not both.", field: "\(at).script")
            }
            if let start = speaker.start {
                guard start.isFinite, start >= 0 else {
                    throw MouthpieceError(
                        .invalidParameter, "\(at).start must be 0 or more seconds; got \(start).", field: "\(at).start")
                }
                guard speaker.speaks else {
                    throw MouthpieceError(
                        .invalidParameter, "\(at).start is for a speaker who speaks (an audio or a script).",
                        field: "\(at).start")
                }
            }
            if let channel = speaker.channel {
                guard speaker.audio != nil, channel == 0 || channel == 1 else {
                    throw MouthpieceError(
                        .invalidParameter, "\(at).channel is 0 (left) or 1 (right) of the speaker's audio.",
                        field: "\(at).channel")
                }
            }
            if let script = speaker.script {
                do {
                    try script.script.validate()
                } catch let error as MouthpieceError {
                    throw MouthpieceError(
                        error.code, error.message,
                        field: "\(at).script" + (error.field == "text" ? "" : ".\(error.field ?? "")"))
                }
            }
        }
    }
}

extension MouthpieceError {
    /// The same refusal about another field (a file's error named by its place in a composition).
    func about(_ field: String) -> MouthpieceError { MouthpieceError(code, message, field: field) }
}
