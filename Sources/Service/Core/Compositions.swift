import Foundation
import Logging
import Media
import MouthpieceCore
import Pipeline
import Store

/// `POST /v1/videos` with `scenes`: a composition's files fetched and stored, every input read
/// and every face found (a bad composition is a 400 naming its field, before anything renders),
/// then one job whose spec holds the composition with each file named `blob:<id>`.
extension Videos {
    /// At most this many distinct files in one composition.
    static let maxCompositionFiles = 48

    func submit(
        composition request: VideoRequest, scenes: [Composition.Scene], key: APIKey, idempotencyKey: String?,
        face: APIFace?, logger: Logger, admit: Admission
    ) async throws -> (VideoJob, created: Bool) {
        let single: [(String, Bool)] = [
            ("avatar_id", request.avatar_id != nil), ("image_url", request.image_url != nil),
            ("image", request.image != nil), ("video_url", request.video_url != nil), ("video", request.video != nil),
            ("audio_url", request.audio_url != nil), ("audio", request.audio != nil), ("script", request.script != nil),
            ("burn_captions", request.burn_captions != nil), ("sync_mode", request.sync_mode != nil),
            ("face_index", request.face_index != nil),
        ]
        if let (field, _) = single.first(where: \.1) {
            throw MouthpieceError(
                .invalidParameter,
                "\(field) is for a single-speaker video; in a composition each scene's speakers say who and what.",
                field: field)
        }
        var composition = Composition(
            scenes: scenes, resolution: request.resolution, fps: request.fps, aspect: request.aspect,
            captions: request.captions, music: request.music, seed: request.seed,
            expressiveness: request.expressiveness, headMotion: request.head_motion)
        try composition.validate()
        let texts = scenes.flatMap { $0.speakers.compactMap { $0.script?.text } }
        let lexicon = try await lexicon(for: texts, keyID: key.id)
        composition.lexicon = lexicon.isEmpty ? nil : lexicon
        // A larger resolution than the plan's is rendered at the plan's.
        if let plan = admit.plan {
            let asked = try composition.renderOptions().resolution
            composition.resolution = plan.capped(asked).rawValue
        }
        var stored = CompositionBlobs(videos: self, key: key)
        do {
            try await stored.take(&composition)
            var check = try CompositionJob(
                composition: composition, outputPath: "", files: Self.blobFiles(blobs))
            if let longest = admit.plan?.maxDurationSeconds {
                check.options.maxAudioSeconds = min(check.options.maxAudioSeconds, longest)
            }
            let ready = check
            let seconds = try await Offload.run { try ready.check() }
            do {
                try admit.check(duration: seconds, subject: "The composition")
            } catch let error as MouthpieceError {
                // About the whole composition, not one audio file.
                throw MouthpieceError(error.code, error.message, field: "scenes")
            }
            var spec = JobSpec(options: try composition.renderOptions())
            spec.input = .composition
            spec.composition = composition
            spec.blobs = stored.written
            spec.face = face
            if admit.plan?.watermark == true { spec.watermark = true }
            spec.maxSeconds = admit.plan?.maxDurationSeconds
            let (job, created) = try await queue(
                spec, person: Person(input: .composition), audio: nil, webhookURL: request.webhook_url, key: key,
                idempotencyKey: idempotencyKey, logger: logger, admit: admit)
            if !created { stored.removeAll() }
            return (job, created)
        } catch {
            stored.removeAll()
            throw error
        }
    }

    /// Files named `blob:<id>` in a stored composition, read from the blob store.
    static func blobFiles(_ blobs: any BlobStorage) -> CompositionFiles {
        CompositionFiles(
            file: { reference, field in
                guard reference.hasPrefix("blob:") else {
                    throw MouthpieceError(.internalError, "\(field) was not stored.", field: field)
                }
                return blobs.path(String(reference.dropFirst(5)))
            },
            avatar: { _, field in
                throw MouthpieceError(.internalError, "\(field): avatars are resolved at submission.", field: field)
            })
    }
}

/// The files of one composition being submitted: each reference (URL, data: URI, avatar id)
/// fetched or linked once and stored, and the blobs written, to be removed if it is not queued.
struct CompositionBlobs {
    let videos: Videos
    let key: APIKey
    private(set) var written: [String] = []
    /// Blobs already stored, by the reference that named them, and by avatar id.
    private var known: [String: String] = [:]
    private var avatars: [String: (blob: String, isVideo: Bool)] = [:]

    init(videos: Videos, key: APIKey) {
        self.videos = videos
        self.key = key
    }

    /// Replaces every file reference in `composition` by its stored blob.
    mutating func take(_ composition: inout Composition) async throws {
        let limits = videos.limits
        for s in composition.scenes.indices {
            let at = "scenes[\(s)]"
            for k in composition.scenes[s].speakers.indices {
                var speaker = composition.scenes[s].speakers[k]
                let place = "\(at).speakers[\(k)]"
                if let id = speaker.avatarID {
                    // An image avatar speaks as its portrait, a video avatar as a clone of its clip.
                    let (blob, isVideo) = try await avatar(id, field: "\(place).avatar_id")
                    if isVideo { speaker.video = "blob:" + blob } else { speaker.image = "blob:" + blob }
                    speaker.avatarID = nil
                } else if let image = speaker.image {
                    speaker.image = try await file(
                        image, field: "\(place).image", maxBytes: limits.imageBytes, image: true)
                } else if let video = speaker.video {
                    speaker.video = try await file(video, field: "\(place).video", maxBytes: limits.videoBytes)
                }
                if let audio = speaker.audio {
                    speaker.audio = try await file(audio, field: "\(place).audio", maxBytes: limits.audioBytes)
                }
                composition.scenes[s].speakers[k] = speaker
            }
            if let image = composition.scenes[s].background?.image {
                composition.scenes[s].background?.image = try await file(
                    image, field: "\(at).background.image", maxBytes: limits.imageBytes, image: true)
            }
        }
        if let music = composition.music?.audio {
            composition.music?.audio = try await file(music, field: "music.audio", maxBytes: limits.audioBytes)
        }
    }

    private mutating func file(_ reference: String, field: String, maxBytes: Int, image: Bool = false) async throws
        -> String
    {
        if let blob = known[reference] { return "blob:" + blob }
        try roomForAnother(field)
        let bytes = try await videos.loader.load(reference, field: field, maxBytes: maxBytes)
        let blob: String
        do {
            blob = image ? try videos.storeImage(bytes) : try videos.blobs.put(bytes)
        } catch let error as MouthpieceError {
            throw MouthpieceError(error.code, error.message, field: field)
        }
        written.append(blob)
        known[reference] = blob
        return "blob:" + blob
    }

    private mutating func avatar(_ id: String, field: String) async throws -> (blob: String, isVideo: Bool) {
        if let known = avatars[id] { return known }
        try roomForAnother(field)
        let avatar: Avatar
        do {
            avatar = try await videos.usableAvatar(id, key: key)
        } catch let error as MouthpieceError {
            throw MouthpieceError(error.code, error.message, field: field)
        }
        let isVideo = AvatarAnalysis.of(avatar)?.isVideo == true
        let blob = try videos.blobs.link(avatar.imageBlob)
        written.append(blob)
        avatars[id] = (blob, isVideo)
        return (blob, isVideo)
    }

    private func roomForAnother(_ field: String) throws {
        guard written.count < Videos.maxCompositionFiles else {
            throw MouthpieceError(
                .invalidParameter, "A composition names at most \(Videos.maxCompositionFiles) different files.",
                field: field)
        }
    }

    func removeAll() { written.forEach(videos.blobs.remove) }
}
