import Foundation
import Logging
import Media
import MouthpieceCore
import Pipeline
import Speech
import Store

/// What a video submission may carry, whichever API face it came through (the native API decodes
/// it as it is; the compatibility faces translate their own bodies into it).
struct VideoRequest: Decodable, Sendable {
    var avatar_id: String?
    var image_url: String?
    /// A video of the person to re-lip-sync (instead of a portrait).
    var video_url: String?
    var audio_url: String?
    /// Files of a multipart/form-data submission.
    var image: UploadedFile?
    var video: UploadedFile?
    var audio: UploadedFile?
    /// For a video: how its length and the sound's are matched (cut, loop, bounce, silence).
    var sync_mode: String?
    /// Speech from text instead of audio.
    var script: ScriptBody?
    /// For a script: draw the captions into the video.
    var burn_captions: Bool?
    var resolution: String?
    var fps: Int?
    var aspect: String?
    var expressiveness: Double?
    var head_motion: Double?
    var seed: UInt64?
    var face_index: Int?
    var webhook_url: String?
    /// A composition instead of one person and one voice: its scenes (files as http(s) URLs,
    /// data: URIs or avatar ids), captions and music bed; `resolution`, `fps`, `aspect`, `seed`,
    /// `expressiveness` and `head_motion` apply to it too.
    var scenes: [Composition.Scene]?
    var captions: Composition.CaptionMode?
    var music: Composition.Music?

    /// `script: {text, language?, voice?, rate?, pitch?}`; what is left out takes `Script`'s defaults.
    struct ScriptBody: Decodable, Sendable {
        var text: String? = nil
        var language: String? = nil
        var voice: String? = nil
        var rate: Int? = nil
        var pitch: Int? = nil

        func script() throws -> Script {
            guard let text else {
                throw MouthpieceError(.emptyText, "script.text is required.", field: "script.text")
            }
            return Script(
                text: text, language: language ?? Script.defaultLanguage, voice: voice,
                rate: rate ?? Script.defaultRate, pitch: pitch ?? Script.defaultPitch)
        }
    }
}

/// The video use cases, free of HTTP: submit, find, list, cancel, delete. The native, fal, D-ID
/// and Sync.so routes all call these and only shape the answers.
struct Videos: Sendable {
    let store: any DataStore
    let blobs: any BlobStorage
    let limits: InputLimits
    let loader: InputLoader
    let logger: Logger
    /// Jobs a key may have queued or rendering; how many render at once is the key's concurrency,
    /// enforced when workers claim.
    var queueCap = ServerConfiguration.defaultQueueCap
    /// Whether an avatar needs a consent attestation to make videos.
    var consentRequired = true
    /// The operator's plans (a key on none has the server's limits and no credits).
    var plans = PlanBook.examples

    /// Checks limits and inputs, stores the inputs and queues the job; or returns the job an
    /// earlier submission with the same idempotency key made (and `created` false). `face` is the
    /// compatibility face submitting, kept with the job so that its webhook is shaped for it.
    func submit(
        _ request: VideoRequest, key: APIKey, idempotencyKey: String?, face: APIFace? = nil, logger: Logger? = nil
    ) async throws -> (VideoJob, created: Bool) {
        let logger = logger ?? self.logger
        // A retried submission gets the job the first one made, whatever the limits say now.
        if let idempotencyKey, let earlier = try await store.video(idempotencyKey: idempotencyKey, keyID: key.id) {
            return (earlier, false)
        }
        let plan = try plan(of: key)
        let credits = try await checkLimits(key, plan: plan)
        try await checkWebhook(request.webhook_url)
        if let scenes = request.scenes {
            return try await submit(
                composition: request, scenes: scenes, key: key, idempotencyKey: idempotencyKey, face: face,
                logger: logger, admit: Admission(credits: credits, plan: plan))
        }
        if request.captions != nil || request.music != nil {
            throw MouthpieceError(
                .invalidParameter, "captions and music belong to a composition (scenes).",
                field: request.captions != nil ? "captions" : "music")
        }
        // The options are checked now, so that a bad value is a 400 and not a failed job later.
        var options = try RenderOptions.parse(
            resolution: request.resolution, fps: request.fps, aspect: request.aspect, seed: request.seed,
            expressiveness: request.expressiveness, faceIndex: request.face_index, headMotion: request.head_motion)
        // A larger resolution than the plan's is rendered at the plan's.
        if let plan { options.resolution = plan.capped(options.resolution) }
        var spec = JobSpec(options: options)
        spec.face = face
        if plan?.watermark == true { spec.watermark = true }
        spec.maxSeconds = plan?.maxDurationSeconds
        let sound = try await sound(of: request, key: key)
        if let script = sound.script {
            spec.script = ScriptSpec(script)
            spec.burnCaptions = request.burn_captions ?? false
        } else if request.burn_captions == true {
            throw MouthpieceError(
                .invalidParameter, "burn_captions needs a script (there is no transcript of audio).",
                field: "burn_captions")
        }
        let syncMode = try request.sync_mode.map { try SyncMode.parse($0) }
        let person = try await person(of: request, key: key)
        do {
            try check(request, input: person.input, syncMode: syncMode)
        } catch {
            // The portrait stored (or the avatar's image linked) for a job that is not made.
            if !person.imageBlob.isEmpty { blobs.remove(person.imageBlob) }
            throw error
        }
        spec.input = person.input
        spec.trackBlob = person.trackBlob
        spec.avatarID = person.avatarID
        spec.consent = person.consent.map {
            .init(
                attestedBy: $0.attestedBy, relation: $0.relation, statementVersion: $0.statementVersion,
                acceptedAt: $0.acceptedAt)
        }
        if person.input != .image { spec.syncMode = syncMode ?? .bounce }
        return try await queue(
            spec, person: person, audio: sound.audio, webhookURL: request.webhook_url, key: key,
            idempotencyKey: idempotencyKey, logger: logger,
            admit: Admission(credits: credits, plan: plan))
    }

    /// The plan a key is on (nil for none).
    func plan(of key: APIKey) throws -> Plan? {
        guard let name = key.plan else { return nil }
        guard let plan = plans.plan(named: name) else {
            throw MouthpieceError(
                .internalError, "This key is on the plan \"\(name)\", which this server does not define (see --plans).")
        }
        return plan
    }

    /// A key's monthly credits: the period (a calendar month, UTC) and the seconds used in it.
    struct Credits: Sendable {
        var monthly: Double
        var used: Double
        var periodStart: String
        var periodEnd: String
        var left: Double { max(0, monthly - used) }

        func refusal(needing seconds: Double?) -> MouthpieceError {
            let need = seconds.map { "; this video needs \($0.formatted(1))" } ?? ""
            return MouthpieceError(
                .quotaExceeded,
                "This key's plan has \(monthly.formatted(0)) credit seconds a month: \(used.formatted(1)) used and "
                    + "\(left.formatted(1)) left until \(periodEnd)\(need).")
        }
    }

    /// The credits of a key on a plan with monthly credits this month, from its usage by day.
    static func credits(
        plan: Plan?, byDay: [(day: String, seconds: Double, videos: Int)], now: Date = Date()
    ) -> Credits? {
        guard let monthly = plan?.monthlyCreditSeconds else { return nil }
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let start = calendar.date(from: calendar.dateComponents([.year, .month], from: now))!
        let end = calendar.date(byAdding: .month, value: 1, to: start)!
        let day = { (date: Date) in String(date.formatted(.iso8601).prefix(10)) }
        let month = String(day(start).prefix(7))
        let used = byDay.filter { $0.day.hasPrefix(month) }.reduce(0) { $0 + $1.seconds }
        return Credits(monthly: monthly, used: used, periodStart: day(start), periodEnd: day(end))
    }

    /// Limits first: a client over them learns so before uploading is wasted on decoding.
    func checkLimits(_ key: APIKey, plan: Plan?) async throws -> Credits? {
        // The usage ledger is read once, and only for a key that has a quota or credits.
        let usage =
            key.quotaSeconds != nil || plan?.monthlyCreditSeconds != nil ? try await store.usage(keyID: key.id) : nil
        if let quota = key.quotaSeconds, let usage, usage.total >= quota {
            throw MouthpieceError(
                .quotaExceeded, "This key has used its quota of \(quota.formatted(0)) output seconds.")
        }
        let credits = usage.flatMap { Self.credits(plan: plan, byDay: $0.byDay) }
        if let credits, credits.left <= 0 { throw credits.refusal(needing: nil) }
        let cap = plan?.queueCap ?? queueCap
        if try await store.inFlightCount(keyID: key.id) >= cap {
            throw RetryLater(
                error: MouthpieceError(
                    .queueFull,
                    "This key already has \(cap) videos queued or rendering; retry when some have finished."),
                seconds: 30)
        }
        return credits
    }

    /// What a plan lets in once the audio's length is known.
    struct Admission: Sendable {
        var credits: Credits?
        var plan: Plan?

        /// `subject`: what lasts `duration` (the audio, or a composition).
        func check(duration: Double, subject: String = "The audio") throws {
            if let credits, duration > credits.left { throw credits.refusal(needing: duration) }
            if let longest = plan?.maxDurationSeconds, duration > longest {
                throw MouthpieceError(
                    .audioTooLong,
                    "\(subject) lasts \(duration.formatted(1)) s; this key's plan makes videos up to "
                        + "\(longest.formatted(0)) s.",
                    field: "audio")
            }
        }
    }

    /// Refused now rather than failing for three days: the same guard as URL inputs.
    func checkWebhook(_ hook: String?) async throws {
        guard let hook else { return }
        guard let url = URL(string: hook), hook.count <= 2048 else {
            throw MouthpieceError(.invalidParameter, "webhook_url is not a valid URL.", field: "webhook_url")
        }
        _ = try await loader.fetcher.guardrail.check(url, field: "webhook_url")
    }

    /// The key's pronunciations for words that occur in `texts` (the rest are not kept with a job).
    func lexicon(for texts: [String], keyID: String) async throws -> [String: String] {
        let folded = texts.map(LexiconEntry.fold)
        var out: [String: String] = [:]
        for entry in try await store.lexicon(keyID: keyID) where folded.contains(where: { $0.contains(entry.folded) }) {
            out[entry.word] = entry.respelling
        }
        return out
    }

    /// The voice: an audio file, an audio URL, or a script spoken at render time.
    func sound(of request: VideoRequest, key: APIKey) async throws -> (audio: [UInt8]?, script: Script?) {
        switch (request.audio, request.audio_url, request.script) {
        case (let file?, nil, nil): return (try file.checked(field: "audio", maxBytes: limits.audioBytes), nil)
        case (nil, let url?, nil):
            return (try await loader.load(url, field: "audio_url", maxBytes: limits.audioBytes), nil)
        case (nil, nil, let body?):
            var script = try body.script()
            script.lexicon = try await lexicon(for: [script.text], keyID: key.id)
            let checked = script
            // espeak-ng's tables are behind a lock: checked off the event loop.
            try await Offload.run { try SpeechSynthesizer.check(checked) }
            return (nil, checked)
        case (nil, nil, nil):
            throw MouthpieceError(
                .invalidParameter, "Give audio_url, an audio file, or a script {text, language}.", field: "audio_url")
        default:
            throw MouthpieceError(.invalidParameter, "Give only one of audio_url, audio or script.", field: "audio")
        }
    }

    /// Where the person comes from: a portrait (stored now), a video to re-lip-sync (bytes, stored
    /// once checked) or an avatar (a portrait, or a video clip to clone).
    struct Person {
        var input: JobSpec.Input
        /// The portrait's blob (a link to an avatar's), or "" for a video not stored yet.
        var imageBlob = ""
        var video: [UInt8]?
        var trackBlob: String?
        var avatarID: String?
        var consent: Consent?
    }

    func person(of request: VideoRequest, key: APIKey) async throws -> Person {
        switch (request.avatar_id, request.image_url, request.image, request.video_url, request.video) {
        case (let id?, nil, nil, nil, nil):
            let avatar = try await usableAvatar(id, key: key)
            let analysis = AvatarAnalysis.of(avatar)
            // A clone reads the track at render time if the avatar still exists then; tracked
            // again otherwise.
            return Person(
                input: analysis?.isVideo == true ? .clone : .image, imageBlob: try blobs.link(avatar.imageBlob),
                trackBlob: analysis?.trackBlob, avatarID: avatar.id, consent: Consent.of(avatar))
        case (nil, let url?, nil, nil, nil):
            return Person(
                input: .image,
                imageBlob: try await storeImage(loader.load(url, field: "image_url", maxBytes: limits.imageBytes)))
        case (nil, nil, let file?, nil, nil):
            return Person(
                input: .image, imageBlob: try storeImage(file.checked(field: "image", maxBytes: limits.imageBytes)))
        case (nil, nil, nil, let url?, nil):
            return Person(
                input: .video, video: try await loader.load(url, field: "video_url", maxBytes: limits.videoBytes))
        case (nil, nil, nil, nil, let file?):
            return Person(input: .video, video: try file.checked(field: "video", maxBytes: limits.videoBytes))
        default:
            throw MouthpieceError(
                .invalidParameter, "Give exactly one of avatar_id, image_url, image, video_url or video.",
                field: "image_url")
        }
    }

    /// An avatar of `key` that may speak: 404 if there is none, 403 without a consent attestation
    /// where one is required.
    func usableAvatar(_ id: String, key: APIKey) async throws -> Avatar {
        guard let avatar = try await store.avatar(id, keyID: key.id) else {
            throw MouthpieceError(.notFound, "No avatar \(id).", field: "avatar_id")
        }
        if consentRequired && avatar.consent == nil {
            throw MouthpieceError(
                .consentRequired,
                "Avatar \(id) has no consent attestation for the person it shows; make it again with consent "
                    + "{attested_by, relation, accepted: true}.",
                field: "avatar_id")
        }
        return avatar
    }

    func storeImage(_ bytes: [UInt8]) throws -> String {
        try ImageDecoder.checkHeader(bytes: bytes)
        return try blobs.put(bytes)
    }

    /// What only makes sense for some inputs.
    func check(_ request: VideoRequest, input: JobSpec.Input, syncMode: SyncMode?) throws {
        if syncMode != nil && input != .video {
            throw MouthpieceError(
                .invalidParameter, "sync_mode applies to a video input (video_url or video).", field: "sync_mode")
        }
        if input != .image && request.burn_captions == true {
            throw MouthpieceError(
                .invalidParameter, "Captions cannot be drawn into a video input yet.", field: "burn_captions")
        }
    }

    /// Stores what is not stored yet and queues the job. Inputs stored for a job that is not made
    /// (an error, or a racing retry with the same idempotency key that made it first) are
    /// removed: nothing is left without an owner.
    func queue(
        _ spec: JobSpec, person: Person, audio: [UInt8]?, webhookURL: String?, key: APIKey, idempotencyKey: String?,
        logger: Logger, admit: Admission
    ) async throws -> (VideoJob, created: Bool) {
        var imageBlob = person.imageBlob
        var written = imageBlob.isEmpty ? [] : [imageBlob]
        do {
            if let video = person.video {
                imageBlob = try blobs.put(video)
                written.append(imageBlob)
                // Opened once now, so that a video no render could use is a 400 at once.
                let path = blobs.path(imageBlob)
                let limits = VideoSource.Limits()
                try await Offload.run { _ = try VideoSource(path: path, limits: limits, field: "video") }
            }
            let audioBlob = try audio.map { try blobs.put($0) } ?? ""
            if !audioBlob.isEmpty {
                written.append(audioBlob)
                // Decoded once now (off the event loop), so that audio no render could use is a
                // 400 with its code at once, not a failed job later.
                let path = blobs.path(audioBlob)
                let duration = try await Offload.run { try AudioDecoder.validate(path: path) }
                // Credits and the plan's longest video, now that the length is known.
                try admit.check(duration: duration)
            }
            let job = VideoJob.queued(
                id: "vid_" + StoreRules.randomToken(bytes: 12), keyID: key.id, options: try spec.stored(),
                imageBlob: imageBlob, audioBlob: audioBlob, webhookURL: webhookURL, priority: admit.plan?.priority ?? 0)
            let (saved, created) = try await store.submit(job, idempotencyKey: idempotencyKey)
            if created {
                logger.info("video queued", metadata: ["job_id": .string(saved.id)])
            } else {
                written.forEach(blobs.remove)
            }
            return (saved, created)
        } catch {
            written.forEach(blobs.remove)
            throw error
        }
    }

    /// A job of `key`; another key's is "not found", never "forbidden": its existence is not
    /// revealed.
    func job(_ id: String, key: APIKey) async throws -> VideoJob {
        guard let job = try await store.video(id, keyID: key.id) else {
            throw MouthpieceError(.notFound, "No video \(id).", field: "id")
        }
        return job
    }

    /// A page of `key`'s videos, newest first, and the cursor of the next page (nil on the last).
    func page(key: APIKey, after cursor: String?, limit: Int) async throws -> (jobs: [VideoJob], next: String?) {
        guard (1...100).contains(limit) else {
            throw MouthpieceError(.invalidParameter, "limit must be between 1 and 100.", field: "limit")
        }
        let page = try await store.videos(keyID: key.id, after: cursor, limit: limit + 1)
        let shown = Array(page.prefix(limit))
        return (shown, page.count > limit ? shown.last?.id : nil)
    }

    /// Cancels a job of `key`: a queued one at once, a running one when its worker next checks.
    func cancel(_ id: String, key: APIKey) async throws -> VideoJob {
        guard let job = try await store.cancel(id, keyID: key.id) else {
            throw MouthpieceError(.notFound, "No video \(id).", field: "id")
        }
        return job
    }

    /// A finished video's files go (inputs, result, captions) and it is no longer listed or
    /// served; its usage still counts. `video_in_progress` before it ends.
    func delete(_ id: String, key: APIKey, logger: Logger? = nil) async throws {
        let logger = logger ?? self.logger
        guard let (job, deleted) = try await store.deleteVideo(id, keyID: key.id) else {
            throw MouthpieceError(.notFound, "No video \(id).", field: "id")
        }
        guard deleted else {
            throw MouthpieceError(
                .videoInProgress, "Video \(id) is \(job.status.rawValue); cancel it, or wait for it to end, first.",
                field: "id")
        }
        VideoFiles.remove(job, from: blobs)
        logger.info("video deleted", metadata: ["job_id": .string(id)])
    }

    /// The job's place in the queue while it waits (0 = next), nil once it has left it.
    func queuePosition(_ job: VideoJob) async throws -> Int? {
        job.status == .queued ? try await store.queuePosition(of: job) : nil
    }

    /// The video as the native API shows it.
    func resource(_ job: VideoJob, baseURL: String) async throws -> VideoResource {
        VideoResource(job, queuePosition: try await queuePosition(job), baseURL: baseURL)
    }
}
