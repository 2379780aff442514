import Foundation
import Hummingbird
import Media
import MouthpieceCore
import Pipeline
import Speech
import Store

/// `/v1/videos`: submit, status, content, cancel.
struct VideoRoutes {
    let store: any DataStore
    let blobs: any BlobStorage
    let limits: InputLimits
    let loader: InputLoader
    /// Prefix of the links in answers and webhooks ("" leaves them relative).
    let publicURL: String
    /// Whether this server speaks https (for absolute links when no public URL is set).
    var tls = false

    /// What a submission may carry.
    struct Submission: Decodable {
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
    }

    /// `script: {text, language, voice?, rate?, pitch?}`.
    struct ScriptBody: Decodable {
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
                text: text, language: language ?? "en-us", voice: voice, rate: rate ?? 160, pitch: pitch ?? 50)
        }
    }

    func add(to group: RouterGroup<APIContext>) {
        group.post("videos") { request, context in try await submit(request, context) }
        group.get("voices") { _, _ in try await voices() }
        group.get("videos/:id/captions.srt") { _, context in try await captions(context, format: "srt") }
        group.get("videos/:id/captions.vtt") { _, context in try await captions(context, format: "vtt") }
        group.get("videos") { request, context in try await list(request, context) }
        group.get("usage") { _, context in try await usage(context) }
        group.get("videos/:id") { _, context in try await status(context) }
        group.get("videos/:id/content") { request, context in try await content(request, context) }
        group.post("videos/:id/cancel") { _, context in try await cancel(context) }
        group.delete("videos/:id") { _, context in try await delete(context) }
        group.get("videos/:id/events") { _, context in try await events(context) }
    }

    func submit(_ request: Request, _ context: APIContext) async throws -> Response {
        let key = try context.requireKey()
        let idempotencyKey = request.headers[.init("Idempotency-Key")!]
        // A retried submission gets the job the first one made, whatever the limits say now.
        if let idempotencyKey, let earlier = try await store.video(idempotencyKey: idempotencyKey, keyID: key.id) {
            return await JSONResponse.make(try describe(earlier))
        }
        let body = try await request.decode(as: Submission.self, context: context)
        let (saved, created) = try await create(body, key: key, idempotencyKey: idempotencyKey, context: context)
        return await JSONResponse.make(try describe(saved), status: created ? .accepted : .ok)
    }

    /// Checks limits and inputs, stores the inputs and queues the job (every protocol's submit).
    ///
    /// `extra` is kept with the job's options (how another protocol wants its webhook shaped).
    func create(
        _ body: Submission, key: APIKey, idempotencyKey: String?, context: APIContext, extra: [String: String] = [:]
    ) async throws -> (VideoJob, created: Bool) {
        // Limits first: a client over them learns so before uploading is wasted on decoding.
        if let quota = key.quotaSeconds, try await store.usage(keyID: key.id).total >= quota {
            throw MouthpieceError(
                .quotaExceeded, "This key has used its quota of \(quota.formatted(0)) output seconds.")
        }
        if try await store.inFlightCount(keyID: key.id) >= key.concurrency {
            throw RetryLater(
                error: MouthpieceError(
                    .concurrencyLimit,
                    "This key already has \(key.concurrency) videos queued or rendering; retry when one finishes."),
                seconds: 5)
        }
        if let hook = body.webhook_url {
            // Refused now rather than failing for three days: the same guard as URL inputs.
            guard let url = URL(string: hook), hook.count <= 2048 else {
                throw MouthpieceError(.invalidParameter, "webhook_url is not a valid URL.", field: "webhook_url")
            }
            _ = try await loader.fetcher.guardrail.check(url, field: "webhook_url")
        }
        // The options are checked now, so that a bad value is a 400 and not a failed job later.
        let options = try RenderOptions.parse(
            resolution: body.resolution, fps: body.fps, aspect: body.aspect, seed: body.seed,
            expressiveness: body.expressiveness, faceIndex: body.face_index, headMotion: body.head_motion)
        // The voice: an audio file, an audio URL, or a script spoken at render time.
        var audio: [UInt8]?
        var script: Script?
        switch (body.audio, body.audio_url, body.script) {
        case (let file?, nil, nil): audio = try file.checked(field: "audio", maxBytes: limits.audioBytes)
        case (nil, let url?, nil): audio = try await loader.load(url, field: "audio_url", maxBytes: limits.audioBytes)
        case (nil, nil, let body?):
            let checked = try body.script()
            // espeak-ng's tables are behind a lock: checked off the event loop.
            try await Offload.run { try SpeechSynthesizer.check(checked) }
            script = checked
        case (nil, nil, nil):
            throw MouthpieceError(
                .invalidParameter, "Give audio_url, an audio file, or a script {text, language}.", field: "audio_url")
        default:
            throw MouthpieceError(.invalidParameter, "Give only one of audio_url, audio or script.", field: "audio")
        }
        if body.burn_captions == true && script == nil {
            throw MouthpieceError(
                .invalidParameter, "burn_captions needs a script (there is no transcript of audio).",
                field: "burn_captions")
        }
        // The person: a portrait, a video to re-lip-sync, or an avatar (a portrait, or a video
        // clip to clone).
        let syncMode = try body.sync_mode.map { try SyncMode.parse($0) }
        var input = "image"
        var trackBlob: String?
        var video: [UInt8]?
        var imageBlob = ""
        switch (body.avatar_id, body.image_url, body.image, body.video_url, body.video) {
        case (let id?, nil, nil, nil, nil):
            guard let avatar = try await store.avatar(id, keyID: key.id) else {
                throw MouthpieceError(.notFound, "No avatar \(id).", field: "avatar_id")
            }
            if AvatarRoutes.isVideo(avatar) {
                input = "clone"
                // Read at render time if the avatar still exists then; tracked again otherwise.
                trackBlob = AvatarRoutes.trackBlob(avatar)
            }
            imageBlob = try blobs.link(avatar.imageBlob)
        case (nil, let url?, nil, nil, nil):
            let bytes = try await loader.load(url, field: "image_url", maxBytes: limits.imageBytes)
            try ImageDecoder.checkHeader(bytes: bytes)
            imageBlob = try blobs.put(bytes)
        case (nil, nil, let file?, nil, nil):
            let bytes = try file.checked(field: "image", maxBytes: limits.imageBytes)
            try ImageDecoder.checkHeader(bytes: bytes)
            imageBlob = try blobs.put(bytes)
        case (nil, nil, nil, let url?, nil):
            video = try await loader.load(url, field: "video_url", maxBytes: limits.videoBytes)
            input = "video"
        case (nil, nil, nil, nil, let file?):
            video = try file.checked(field: "video", maxBytes: limits.videoBytes)
            input = "video"
        default:
            throw MouthpieceError(
                .invalidParameter, "Give exactly one of avatar_id, image_url, image, video_url or video.",
                field: "image_url")
        }
        if syncMode != nil && input != "video" {
            throw MouthpieceError(
                .invalidParameter, "sync_mode applies to a video input (video_url or video).", field: "sync_mode")
        }
        if input != "image" && body.burn_captions == true {
            throw MouthpieceError(
                .invalidParameter, "Captions cannot be drawn into a video input yet.", field: "burn_captions")
        }
        var stored: [String: Any] = [
            "resolution": options.resolution.rawValue, "fps": options.fps, "aspect": options.aspect.rawValue,
            "expressiveness": options.expressiveness, "head_motion": options.headMotion, "seed": options.seed,
            "face_index": options.faceIndex as Any? ?? NSNull(),
        ]
        if let script {
            stored["script"] = [
                "text": script.text, "language": script.language, "voice": script.voice as Any? ?? NSNull(),
                "rate": script.rate, "pitch": script.pitch,
            ]
            stored["burn_captions"] = body.burn_captions ?? false
        }
        if input != "image" {
            stored["input"] = input
            stored["sync_mode"] = (syncMode ?? .bounce).rawValue
            if let trackBlob { stored["track_blob"] = trackBlob }
        }
        if !extra.isEmpty { stored["protocol"] = extra }
        let optionsJSON = String(
            decoding: try JSONSerialization.data(withJSONObject: stored, options: [.sortedKeys]), as: UTF8.self)
        // Inputs stored for a job that is not made (an error, or a racing retry with the same
        // idempotency key that made it first) are removed: nothing is left without an owner.
        var written = imageBlob.isEmpty ? [] : [imageBlob]
        do {
            if let video {
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
                try await Offload.run { try AudioDecoder.validate(path: path) }
            }
            let job = VideoJob.queued(
                id: "vid_" + StoreRules.randomToken(bytes: 12), keyID: key.id, options: optionsJSON,
                imageBlob: imageBlob, audioBlob: audioBlob, webhookURL: body.webhook_url)
            let (saved, created) = try await store.submit(job, idempotencyKey: idempotencyKey)
            if created {
                context.logger.info("video queued", metadata: ["job_id": .string(saved.id)])
            } else {
                written.forEach(blobs.remove)
            }
            return (saved, created)
        } catch {
            written.forEach(blobs.remove)
            throw error
        }
    }

    /// `GET /v1/videos?limit=N&after=<id>`: newest first; `next_cursor` continues the list.
    func list(_ request: Request, _ context: APIContext) async throws -> Response {
        let key = try context.requireKey()
        let query = request.uri.queryParameters
        let limit = query.get("limit", as: Int.self) ?? 20
        guard (1...100).contains(limit) else {
            throw MouthpieceError(.invalidParameter, "limit must be between 1 and 100.", field: "limit")
        }
        let page = try await store.videos(keyID: key.id, after: query.get("after"), limit: limit + 1)
        let shown = Array(page.prefix(limit))
        var data: [[String: Any]] = []
        for job in shown { data.append(try await describe(job)) }
        var out: [String: Any] = ["object": "list", "data": data]
        out["next_cursor"] = page.count > limit ? shown.last?.id ?? NSNull() : NSNull()
        return JSONResponse.make(out)
    }

    /// `GET /v1/usage`: output seconds rendered with this key, in all and by day.
    func usage(_ context: APIContext) async throws -> Response {
        let key = try context.requireKey()
        let usage = try await store.usage(keyID: key.id)
        return JSONResponse.make([
            "key_id": key.id, "output_seconds": usage.total,
            "quota_seconds": key.quotaSeconds as Any? ?? NSNull(),
            "by_day": usage.byDay.map { ["date": $0.day, "output_seconds": $0.seconds, "videos": $0.videos] },
        ])
    }

    func status(_ context: APIContext) async throws -> Response {
        await JSONResponse.make(try describe(try job(context)))
    }

    func cancel(_ context: APIContext) async throws -> Response {
        let key = try context.requireKey()
        let id = try context.parameters.require("id")
        guard let job = try await store.cancel(id, keyID: key.id) else {
            throw MouthpieceError(.notFound, "No video \(id).", field: "id")
        }
        return await JSONResponse.make(try describe(job))
    }

    /// `DELETE /v1/videos/{id}`: a finished video's files go (inputs, result, captions) and it is
    /// no longer listed or served; its usage still counts. 409 `video_in_progress` before it ends.
    func delete(_ context: APIContext) async throws -> Response {
        let key = try context.requireKey()
        let id = try context.parameters.require("id")
        guard let (job, deleted) = try await store.deleteVideo(id, keyID: key.id) else {
            throw MouthpieceError(.notFound, "No video \(id).", field: "id")
        }
        guard deleted else {
            throw MouthpieceError(
                .videoInProgress, "Video \(id) is \(job.status.rawValue); cancel it, or wait for it to end, first.",
                field: "id")
        }
        VideoFiles.remove(job, from: blobs)
        context.logger.info("video deleted", metadata: ["job_id": .string(id)])
        return Response(status: .noContent)
    }

    /// `GET /v1/voices`: the languages and voice variants a script may use.
    func voices() async throws -> Response {
        let (languages, variants) = try await Offload.run {
            (try SpeechSynthesizer.languages(), try SpeechSynthesizer.variants())
        }
        return JSONResponse.make([
            "object": "list",
            "languages": languages.map { ["code": $0.code, "name": $0.name, "aliases": $0.aliases] },
            "variants": variants,
        ])
    }

    /// The captions of a video made from a script, as SubRip or WebVTT.
    func captions(_ context: APIContext, format: String) async throws -> Response {
        let job = try await job(context)
        guard job.status == .completed, let blob = job.resultBlob,
            FileManager.default.fileExists(atPath: Captions.paths(besides: blobs.path(blob)).srt)
        else {
            throw MouthpieceError(
                .notFound, "Video \(job.id) has no captions (only completed videos made from a script do).",
                field: "id")
        }
        let paths = Captions.paths(besides: blobs.path(blob))
        return Response(
            status: .ok,
            headers: [
                .contentType: format == "srt" ? "application/x-subrip; charset=utf-8" : "text/vtt; charset=utf-8"
            ],
            body: try await FileIO().loadFile(path: format == "srt" ? paths.srt : paths.vtt, context: context))
    }

    /// The MP4, with `Range` support so that a browser can seek.
    func content(_ request: Request, _ context: APIContext) async throws -> Response {
        let job = try await job(context)
        guard job.status == .completed, let blob = job.resultBlob else {
            throw MouthpieceError(.notFound, "Video \(job.id) is \(job.status.rawValue), not completed.", field: "id")
        }
        return try await Self.serveVideo(blobs.path(blob), size: blobs.size(blob), request, context)
    }

    /// An MP4 file, whole or the one byte range asked for.
    static func serveVideo(
        _ path: String, size: Int, _ request: Request, _ context: some RequestContext
    ) async throws -> Response {
        var headers: HTTPFields = [.contentType: "video/mp4", .acceptRanges: "bytes"]
        if let range = request.headers[.range], let bytes = Self.byteRange(range, size: size) {
            headers[.contentRange] = "bytes \(bytes.lowerBound)-\(bytes.upperBound)/\(size)"
            headers[.contentLength] = String(bytes.count)
            let body = try await FileIO().loadFile(path: path, range: bytes, context: context)
            return Response(status: .partialContent, headers: headers, body: body)
        }
        if request.headers[.range] != nil {
            headers[.contentRange] = "bytes */\(size)"
            return Response(status: .rangeNotSatisfiable, headers: headers)
        }
        headers[.contentLength] = String(size)
        return Response(status: .ok, headers: headers, body: try await FileIO().loadFile(path: path, context: context))
    }

    /// Server-Sent Events: a `progress` event whenever the status or progress changes, then one
    /// `completed`, `failed` or `canceled` event, and the stream ends.
    func events(_ context: APIContext) async throws -> Response {
        eventStream(try await job(context)) { job in
            (job.status.isFinal ? job.status.rawValue : "progress", try await describe(job))
        }
    }

    /// Server-Sent Events following a job: one event whenever its status or progress changes
    /// (checked every 250 ms) until it ends. `event` gives each event's name (nil for none) and data.
    func eventStream(
        _ first: VideoJob, event: @escaping @Sendable (VideoJob) async throws -> (name: String?, data: [String: Any])
    ) -> Response {
        let store = store
        let body = ResponseBody { writer in
            var last: (VideoStatus, Double)? = nil
            var current = first
            while true {
                if last == nil || last! != (current.status, current.progress) {
                    last = (current.status, current.progress)
                    let (name, object) = try await event(current)
                    let data = try JSONSerialization.data(
                        withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])
                    try await writer.write(
                        ByteBuffer(
                            string: (name.map { "event: \($0)\n" } ?? "")
                                + "data: \(String(decoding: data, as: UTF8.self))\n\n"))
                }
                if current.status.isFinal { break }
                try await Task.sleep(for: .milliseconds(250))
                guard let next = try await store.video(current.id, keyID: first.keyID) else { break }
                current = next
            }
            try await writer.finish(nil)
        }
        return Response(
            status: .ok, headers: [.contentType: "text/event-stream", .cacheControl: "no-cache"], body: body)
    }

    /// `bytes=a-b`, `bytes=a-`, `bytes=-n` within a file of `size` bytes (one range).
    static func byteRange(_ header: String, size: Int) -> ClosedRange<Int>? {
        guard size > 0, header.hasPrefix("bytes="), !header.contains(",") else { return nil }
        let spec = header.dropFirst(6).split(separator: "-", maxSplits: 1, omittingEmptySubsequences: false)
        guard spec.count == 2 else { return nil }
        let (first, last) = (Int(spec[0]), Int(spec[1]))
        switch (first, last) {
        case (let a?, let b?) where a <= b && a < size: return a...min(b, size - 1)
        case (let a?, nil) where spec[1].isEmpty && a < size: return a...(size - 1)
        case (nil, let n?) where spec[0].isEmpty && n > 0: return max(0, size - n)...(size - 1)
        default: return nil
        }
    }

    func job(_ context: APIContext) async throws -> VideoJob {
        let key = try context.requireKey()
        let id = try context.parameters.require("id")
        // Another key's video is "not found", never "forbidden": its existence is not revealed.
        guard let job = try await store.video(id, keyID: key.id) else {
            throw MouthpieceError(.notFound, "No video \(id).", field: "id")
        }
        return job
    }

    /// Where the client reached us: the public URL when set, else the request's own host (the
    /// compatibility faces hand out absolute URLs).
    func base(_ request: Request) -> String {
        if !publicURL.isEmpty { return publicURL }
        return (tls ? "https://" : "http://") + (request.head.authority ?? "127.0.0.1")
    }

    func describe(_ job: VideoJob) async throws -> [String: Any] {
        VideoJSON.describe(
            job, queuePosition: job.status == .queued ? try await store.queuePosition(of: job) : nil, baseURL: publicURL
        )
    }
}

/// Size limits on what a request may bring.
public struct InputLimits: Sendable {
    public var imageBytes = 20 * 1024 * 1024
    public var audioBytes = 40 * 1024 * 1024
    /// A video input, by upload or URL (an upload also fits the 64 MB request limit).
    public var videoBytes = 60 * 1024 * 1024
    public init() {}
}

extension APIContext {
    func requireKey() throws -> APIKey {
        guard let key else { throw MouthpieceError(.unauthorized, "An API key is required.") }
        return key
    }
}

/// `data:[<type>][;base64],<payload>` inputs.
enum DataURI {
    static func decode(_ uri: String, field: String, maxBytes: Int) throws -> [UInt8] {
        guard uri.hasPrefix("data:") else {
            throw MouthpieceError(.invalidParameter, "\(field) is not a data: URI.", field: field)
        }
        guard let comma = uri.firstIndex(of: ",") else {
            throw MouthpieceError(.invalidParameter, "\(field) is not a valid data URI.", field: field)
        }
        let header = uri[uri.index(uri.startIndex, offsetBy: 5)..<comma]
        let payload = uri[uri.index(after: comma)...]
        // Base64 is 4/3 of the bytes: refuse before decoding anything too large.
        guard payload.utf8.count / 4 * 3 <= maxBytes + 3 else {
            throw MouthpieceError(.payloadTooLarge, "\(field) is over \(maxBytes / 1_048_576) MB.", field: field)
        }
        if header.hasSuffix(";base64") {
            guard let data = Data(base64Encoded: String(payload), options: .ignoreUnknownCharacters) else {
                throw MouthpieceError(.invalidParameter, "\(field) has invalid base64.", field: field)
            }
            guard data.count <= maxBytes else {
                throw MouthpieceError(.payloadTooLarge, "\(field) is over \(maxBytes / 1_048_576) MB.", field: field)
            }
            return [UInt8](data)
        }
        guard let text = String(payload).removingPercentEncoding else {
            throw MouthpieceError(.invalidParameter, "\(field) is not a valid data URI.", field: field)
        }
        return [UInt8](text.utf8)
    }
}
