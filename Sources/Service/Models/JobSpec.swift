import Foundation
import MouthpieceCore
import Pipeline
import Provenance
import Speech

/// What a job asks for, typed: the render options, the script, the kind of input and the API
/// face that submitted it. Made once at submission (after every value was checked), stored with
/// the job as JSON (the job's `options`, sorted keys), shown to clients as the video's `options`
/// and decoded once by the worker. The JSON keys are the API's own (`head_motion`, `face_index`).
struct JobSpec: Codable, Equatable, Sendable {
    /// What the person comes from.
    enum Input: String, Codable, Sendable {
        /// A portrait (uploaded, fetched, or an image avatar's).
        case image
        /// A video to re-lip-sync.
        case video
        /// A video avatar to clone.
        case clone
        /// A composition of scenes (`composition`), its files stored as `blobs`.
        case composition
    }

    var resolution: String
    var fps: Int
    var aspect: String
    var expressiveness: Double
    var headMotion: Double
    var seed: UInt64
    /// Shown as `null` when the largest face is used.
    var faceIndex: Int?
    var script: ScriptSpec?
    /// Only with a script.
    var burnCaptions: Bool?
    var input: Input = .image
    /// Only for a video or a clone.
    var syncMode: SyncMode?
    /// A video avatar's face track, kept from when the avatar was made.
    var trackBlob: String?
    /// The compatibility face that submitted the job (nil: the native API).
    var face: APIFace?
    /// The avatar the person comes from, and the consent it was made under (for the output's
    /// provenance record).
    var avatarID: String?
    var consent: ProvenanceManifest.ConsentReference?
    /// From the key's plan: outputs carry the server's watermark; the longest video.
    var watermark: Bool?
    var maxSeconds: Double?
    /// A composition: its scenes, every file named `blob:<id>`, and those blobs (removed with the job).
    var composition: Composition?
    var blobs: [String]?

    /// The spec of checked options; everything else is added by the submission.
    init(options: RenderOptions) {
        resolution = options.resolution.rawValue
        fps = options.fps
        aspect = options.aspect.rawValue
        expressiveness = options.expressiveness
        headMotion = options.headMotion
        seed = options.seed
        faceIndex = options.faceIndex
    }

    enum CodingKeys: String, CodingKey {
        case resolution, fps, aspect, expressiveness, seed, script, input
        case headMotion = "head_motion"
        case faceIndex = "face_index"
        case burnCaptions = "burn_captions"
        case syncMode = "sync_mode"
        case trackBlob = "track_blob"
        case face = "protocol"
        case avatarID = "avatar_id"
        case consent, watermark
        case maxSeconds = "max_seconds"
        case composition, blobs
    }

    init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        resolution = try c.decode(String.self, forKey: .resolution)
        fps = try c.decode(Int.self, forKey: .fps)
        aspect = try c.decode(String.self, forKey: .aspect)
        expressiveness = try c.decode(Double.self, forKey: .expressiveness)
        headMotion = try c.decode(Double.self, forKey: .headMotion)
        seed = try c.decode(UInt64.self, forKey: .seed)
        faceIndex = try c.decodeIfPresent(Int.self, forKey: .faceIndex)
        script = try c.decodeIfPresent(ScriptSpec.self, forKey: .script)
        burnCaptions = try c.decodeIfPresent(Bool.self, forKey: .burnCaptions)
        input = try c.decodeIfPresent(Input.self, forKey: .input) ?? .image
        syncMode = try c.decodeIfPresent(String.self, forKey: .syncMode).map { try SyncMode.parse($0) }
        trackBlob = try c.decodeIfPresent(String.self, forKey: .trackBlob)
        face = try c.decodeIfPresent(APIFace.self, forKey: .face)
        avatarID = try c.decodeIfPresent(String.self, forKey: .avatarID)
        consent = try c.decodeIfPresent(ProvenanceManifest.ConsentReference.self, forKey: .consent)
        watermark = try c.decodeIfPresent(Bool.self, forKey: .watermark)
        maxSeconds = try c.decodeIfPresent(Double.self, forKey: .maxSeconds)
        composition = try c.decodeIfPresent(Composition.self, forKey: .composition)
        blobs = try c.decodeIfPresent([String].self, forKey: .blobs)
    }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(resolution, forKey: .resolution)
        try c.encode(fps, forKey: .fps)
        try c.encode(aspect, forKey: .aspect)
        try c.encode(expressiveness, forKey: .expressiveness)
        try c.encode(headMotion, forKey: .headMotion)
        try c.encode(seed, forKey: .seed)
        try c.encode(faceIndex, forKey: .faceIndex)
        try c.encodeIfPresent(script, forKey: .script)
        try c.encodeIfPresent(burnCaptions, forKey: .burnCaptions)
        if input != .image { try c.encode(input, forKey: .input) }
        try c.encodeIfPresent(syncMode?.rawValue, forKey: .syncMode)
        try c.encodeIfPresent(trackBlob, forKey: .trackBlob)
        try c.encodeIfPresent(face, forKey: .face)
        try c.encodeIfPresent(avatarID, forKey: .avatarID)
        try c.encodeIfPresent(consent, forKey: .consent)
        try c.encodeIfPresent(watermark, forKey: .watermark)
        try c.encodeIfPresent(maxSeconds, forKey: .maxSeconds)
        try c.encodeIfPresent(composition, forKey: .composition)
        try c.encodeIfPresent(blobs, forKey: .blobs)
    }

    /// The spec as stored with the job.
    func stored() throws -> String { try APIJSON.string(self) }

    /// The spec a job stored at submission.
    static func decode(_ stored: String) throws -> JobSpec {
        try JSONDecoder().decode(JobSpec.self, from: Data(stored.utf8))
    }

    /// The render options, checked again (a spec stored by an older version may hold values this
    /// one no longer takes).
    func renderOptions() throws -> RenderOptions {
        if let composition {
            var options = try composition.renderOptions()
            if let maxSeconds { options.maxAudioSeconds = min(options.maxAudioSeconds, maxSeconds) }
            return options
        }
        var options = try RenderOptions.parse(
            resolution: resolution, fps: fps, aspect: aspect, seed: seed, expressiveness: expressiveness,
            faceIndex: faceIndex, headMotion: headMotion)
        options.burnCaptions = script != nil && burnCaptions == true
        if let maxSeconds { options.maxAudioSeconds = min(options.maxAudioSeconds, maxSeconds) }
        return options
    }
}

/// A script as a job keeps it: `{text, language, voice, rate, pitch}`, every value filled in at
/// submission (`Script`'s defaults), `voice` shown as `null` for the language's own.
struct ScriptSpec: Codable, Equatable, Sendable {
    var text: String
    var language: String
    var voice: String?
    var rate: Int
    var pitch: Int
    /// The key's pronunciations for words of this text, as they were at submission.
    var lexicon: [String: String]?

    init(_ script: Script) {
        text = script.text
        language = script.language
        voice = script.voice
        rate = script.rate
        pitch = script.pitch
        lexicon = script.lexicon.isEmpty ? nil : script.lexicon
    }

    var script: Script {
        var script = Script(text: text, language: language, voice: voice, rate: rate, pitch: pitch)
        script.lexicon = lexicon ?? [:]
        return script
    }

    enum CodingKeys: String, CodingKey { case text, language, voice, rate, pitch, lexicon }

    init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        text = try c.decode(String.self, forKey: .text)
        language = try c.decodeIfPresent(String.self, forKey: .language) ?? Script.defaultLanguage
        voice = try c.decodeIfPresent(String.self, forKey: .voice)
        rate = try c.decodeIfPresent(Int.self, forKey: .rate) ?? Script.defaultRate
        pitch = try c.decodeIfPresent(Int.self, forKey: .pitch) ?? Script.defaultPitch
        lexicon = try c.decodeIfPresent([String: String].self, forKey: .lexicon)
    }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(text, forKey: .text)
        try c.encode(language, forKey: .language)
        try c.encode(voice, forKey: .voice)
        try c.encode(rate, forKey: .rate)
        try c.encode(pitch, forKey: .pitch)
        try c.encodeIfPresent(lexicon, forKey: .lexicon)
    }
}

/// The compatibility face that submitted a job, and what it needs to answer in its own shape
/// later (its webhook, its listing): where the client reached us, and what Sync.so's clients sent,
/// echoed back in their generation object.
struct APIFace: Codable, Equatable, Sendable {
    enum Name: String, Codable, Sendable { case fal, sync }

    var name: Name
    /// Where the client reached us: the prefix of absolute links when no public URL is set.
    var base: String
    /// Sync.so's `model`, `input` and `options` (JSON as sent) and `webhookUrl`.
    var model: String?
    var input: String?
    var options: String?
    var webhookUrl: String?

    init(
        name: Name, base: String, model: String? = nil, input: String? = nil, options: String? = nil,
        webhookUrl: String? = nil
    ) {
        self.name = name
        self.base = base
        self.model = model
        self.input = input
        self.options = options
        self.webhookUrl = webhookUrl
    }
}

/// JSON as the API writes it: sorted keys, slashes as they are.
enum APIJSON {
    static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }()

    static func data(_ value: some Encodable) throws -> Data { try encoder.encode(value) }

    static func string(_ value: some Encodable) throws -> String {
        String(decoding: try encoder.encode(value), as: UTF8.self)
    }

    static func decode<T: Decodable>(_ type: T.Type, _ text: String) throws -> T {
        try JSONDecoder().decode(type, from: Data(text.utf8))
    }
}
