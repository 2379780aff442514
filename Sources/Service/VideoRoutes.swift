import Foundation
import Hummingbird
import Media
import MouthpieceCore
import Pipeline
import Provenance
import Speech
import Store

/// `/v1/videos`: submit, status, content, cancel.
struct VideoRoutes {
    let videos: Videos
    /// Prefix of the links in answers and webhooks ("" leaves them relative).
    let publicURL: String
    /// Whether this server speaks https (for absolute links when no public URL is set).
    var tls = false

    var store: any DataStore { videos.store }
    var blobs: any BlobStorage { videos.blobs }

    func add(to group: RouterGroup<APIContext>) {
        group.post("videos") { request, context in try await submit(request, context) }
        group.get("voices") { _, _ in try await voices() }
        group.get("voices/preview") { request, _ in try await voicePreview(request) }
        group.get("videos/:id/captions.srt") { _, context in try await captions(context, format: "srt") }
        group.get("videos/:id/captions.vtt") { _, context in try await captions(context, format: "vtt") }
        group.get("videos") { request, context in try await list(request, context) }
        group.get("usage") { _, context in try await usage(context) }
        group.get("videos/:id") { _, context in try await describe(try job(context)) }
        group.get("videos/:id/content") { request, context in try await content(request, context) }
        group.post("videos/:id/cancel") { _, context in
            try await describe(try videos.cancel(context.parameters.require("id"), key: context.requireKey()))
        }
        group.delete("videos/:id") { _, context in
            try await videos.delete(context.parameters.require("id"), key: context.requireKey(), logger: context.logger)
            return Response(status: .noContent)
        }
        group.get("videos/:id/events") { _, context in try await events(context) }
        group.get("videos/:id/provenance") { _, context in try await provenance(context) }
        group.get("videos/:id/poster") { _, context in try await poster(context) }
    }

    func submit(_ request: Request, _ context: APIContext) async throws -> Response {
        let key = try context.requireKey()
        let idempotencyKey = request.headers[.init("Idempotency-Key")!]
        if let idempotencyKey, let earlier = try await store.video(idempotencyKey: idempotencyKey, keyID: key.id) {
            return JSONResponse.make(try await describe(earlier))
        }
        let body = try await request.decode(as: VideoRequest.self, context: context)
        let (saved, created) = try await videos.submit(
            body, key: key, idempotencyKey: idempotencyKey, logger: context.logger)
        return JSONResponse.make(try await describe(saved), status: created ? .accepted : .ok)
    }

    /// `GET /v1/videos?limit=N&after=<id>`: newest first; `next_cursor` continues the list.
    func list(_ request: Request, _ context: APIContext) async throws -> PageResource<VideoResource> {
        let query = request.uri.queryParameters
        let page = try await videos.page(
            key: try context.requireKey(), after: query.get("after"), limit: query.get("limit", as: Int.self) ?? 20)
        var data: [VideoResource] = []
        for job in page.jobs { data.append(try await describe(job)) }
        return PageResource(data: data, nextCursor: page.next)
    }

    /// `GET /v1/usage`: output seconds rendered with this key, in all and by day.
    func usage(_ context: APIContext) async throws -> UsageResource {
        let key = try context.requireKey()
        let usage = try await store.usage(keyID: key.id)
        let credits = Videos.credits(plan: try videos.plan(of: key), byDay: usage.byDay)
        return UsageResource(
            keyID: key.id, outputSeconds: usage.total, quotaSeconds: key.quotaSeconds,
            byDay: usage.byDay.map { .init(date: $0.day, outputSeconds: $0.seconds, videos: $0.videos) },
            plan: key.plan,
            credits: credits.map {
                .init(
                    periodStart: $0.periodStart, periodEnd: $0.periodEnd, monthlySeconds: $0.monthly,
                    usedSeconds: $0.used, leftSeconds: $0.left)
            })
    }

    /// `GET /v1/voices`: the voices, languages and voice variants a script may use (the list
    /// `mouthpiece voices` prints).
    func voices() async throws -> VoicesResource {
        let listing = try await Offload.run { try Voices.listing() }
        return VoicesResource(
            voices: listing.voices,
            languages: listing.languages.map { .init(code: $0.code, name: $0.name, aliases: $0.aliases) },
            variants: listing.variants)
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

    /// `GET /v1/voices/preview?language=es[&voice=f3]`: a short WAV of the voice counting to five
    /// in its language (numbers are words every espeak-ng language reads).
    func voicePreview(_ request: Request) async throws -> Response {
        let query = request.uri.queryParameters
        let script = Script(
            text: "1, 2, 3, 4, 5.", language: query.get("language", as: String.self) ?? Script.defaultLanguage,
            voice: query.get("voice", as: String.self))
        let wav = try await Offload.run { () -> [UInt8] in
            try SpeechSynthesizer.check(script)
            return try SpeechSynthesizer.speak(script).audio.wavBytes()
        }
        return Response(
            status: .ok, headers: [.contentType: "audio/wav", .cacheControl: "max-age=86400"],
            body: .init(byteBuffer: ByteBuffer(bytes: wav)))
    }

    /// The portrait a video was made from (a thumbnail for lists); 404 for a video input.
    func poster(_ context: APIContext) async throws -> Response {
        let job = try await job(context)
        let spec = try? JobSpec.decode(job.options)
        let path = blobs.path(job.imageBlob)
        // The first bytes say the format; FileIO streams the file itself.
        let head = FileHandle(forReadingAtPath: path).map { handle in
            defer { try? handle.close() }
            return [UInt8](handle.readData(ofLength: 16))
        }
        guard spec?.input ?? .image == .image, !job.imageBlob.isEmpty, let head,
            let format = ImageDecoder.sniff(head)
        else {
            throw MouthpieceError(.notFound, "Video \(job.id) has no portrait to show.", field: "id")
        }
        return Response(
            status: .ok, headers: [.contentType: "image/\(format.rawValue)"],
            body: try await FileIO().loadFile(path: path, context: context))
    }

    /// The signed provenance record the MP4 carries (as `mouthpiece verify` reads it).
    func provenance(_ context: APIContext) async throws -> Response {
        let job = try await job(context)
        guard job.status == .completed, let blob = job.resultBlob else {
            throw MouthpieceError(.notFound, "Video \(job.id) is \(job.status.rawValue), not completed.", field: "id")
        }
        let path = blobs.path(blob)
        guard let record = try await Offload.run({ try MP4Provenance.record(in: path) }) else {
            throw MouthpieceError(.notFound, "Video \(job.id) was made before outputs were signed.", field: "id")
        }
        return JSONResponse.make(record)
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
    func eventStream<Data: Encodable>(
        _ first: VideoJob, event: @escaping @Sendable (VideoJob) async throws -> (name: String?, data: Data)
    ) -> Response {
        let store = store
        let body = ResponseBody { writer in
            var last: (VideoStatus, Double)? = nil
            var current = first
            while true {
                if last == nil || last! != (current.status, current.progress) {
                    last = (current.status, current.progress)
                    let (name, object) = try await event(current)
                    try await writer.write(
                        ByteBuffer(
                            string: (name.map { "event: \($0)\n" } ?? "") + "data: \(try APIJSON.string(object))\n\n"))
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
        try await videos.job(try context.parameters.require("id"), key: try context.requireKey())
    }

    /// Where the client reached us: the public URL when set, else the request's own host (the
    /// compatibility faces hand out absolute URLs).
    func base(_ request: Request) -> String {
        if !publicURL.isEmpty { return publicURL }
        return (tls ? "https://" : "http://") + (request.head.authority ?? "127.0.0.1")
    }

    func describe(_ job: VideoJob) async throws -> VideoResource {
        try await videos.resource(job, baseURL: publicURL)
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
