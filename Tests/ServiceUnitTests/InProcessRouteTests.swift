import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import Media
import MouthpieceCore
import Pipeline
import Speech
import Store
import TestSupport
import XCTest

@testable import Service

/// The routes driven in-process (no socket, no process, an in-memory store): every API face's
/// answers and error shapes, in milliseconds. The process-level tests (`ServiceTests`) check the
/// same server end to end.
final class InProcessRouteTests: XCTestCase {
    struct Fixture {
        let store: MemoryStore
        let app: Application<RouterResponder<APIContext>>
        let secret: String
        let other: String
    }

    func fixture(queueCap: Int = ServerConfiguration.defaultQueueCap, plans: [Plan] = []) async throws -> Fixture {
        let dir = try TestFiles.scratchDirectory(for: self)
        var configuration = ServerConfiguration()
        configuration.queueCap = queueCap
        if !plans.isEmpty { configuration.plans = try PlanBook(plans) }
        configuration.dataDirectory = dir
        configuration.workers = 0
        let store = MemoryStore()
        let blobs = try BlobStore(directory: dir + "/blobs")
        let links = try await FileLinks.shared(store: store, legacyFile: nil)
        let http = OutboundHTTP(guardrail: URLGuard(allowlist: []))
        var logger = Logger(label: "test")
        logger.logLevel = .error
        let router = MouthpieceServer.router(
            configuration, store: store, blobs: blobs, links: links, http: http, metrics: nil, signer: nil,
            logger: logger)
        let (_, secret) = try await store.createKey(name: "a", quotaSeconds: nil, concurrency: 10)
        let (_, other) = try await store.createKey(name: "b", quotaSeconds: nil, concurrency: 10)
        return Fixture(store: store, app: Application(router: router, logger: logger), secret: secret, other: other)
    }

    /// A valid submission: the sample portrait and two seconds of speech, as data: URIs.
    func submission(extra: [String: Any] = [:], without: [String] = []) throws -> ByteBuffer {
        let portrait = try Data(contentsOf: URL(fileURLWithPath: try TestFiles.samplePortrait()))
        let wav = try TestFiles.scratchDirectory(for: self) + "/speech.wav"
        try SyntheticSpeech(segments: [.speech(1.5), .silence(0.5)]).writeWAV(to: wav)
        let audio = try Data(contentsOf: URL(fileURLWithPath: wav))
        var body: [String: Any] = [
            "image_url": "data:image/png;base64," + portrait.base64EncodedString(),
            "audio_url": "data:audio/wav;base64," + audio.base64EncodedString(),
        ]
        body.merge(extra) { $1 }
        for name in without { body[name] = nil }
        return ByteBuffer(data: try JSONSerialization.data(withJSONObject: body))
    }

    static func json(_ response: TestResponse) throws -> [String: Any] {
        try XCTUnwrap(JSONSerialization.jsonObject(with: Data(buffer: response.body)) as? [String: Any])
    }

    static func headers(_ secret: String, scheme: String = "Bearer") -> HTTPFields {
        [.authorization: "\(scheme) \(secret)", .contentType: "application/json"]
    }

    /// `POST /v1/live/sessions`: a session prepared with a one-time WebSocket url; the plan's
    /// largest picture; keys whose output is metered refused (live is not metered yet); refusals with
    /// their codes.
    func testLiveSessionsArePreparedWithAOneTimeURL() async throws {
        let f = try await fixture(plans: [
            Plan(name: "small", maxResolution: "480p"), Plan(name: "metered", monthlyCreditSeconds: 100),
        ])
        let (_, smallSecret) = try await f.store.createKey(name: "s", quotaSeconds: nil, concurrency: 1, plan: "small")
        let (_, meteredSecret) = try await f.store.createKey(
            name: "m", quotaSeconds: nil, concurrency: 1, plan: "metered")
        let portrait = try Data(contentsOf: URL(fileURLWithPath: try TestFiles.samplePortrait()))
        let body: @Sendable ([String: Any]) throws -> ByteBuffer = { extra in
            var fields: [String: Any] = ["image_url": "data:image/png;base64," + portrait.base64EncodedString()]
            fields.merge(extra) { $1 }
            return ByteBuffer(data: try JSONSerialization.data(withJSONObject: fields))
        }
        try await f.app.test(.router) { client in
            try await client.execute(
                uri: "/v1/live/sessions", method: .post, headers: Self.headers(f.secret),
                body: try body(["resolution": "720p", "sample_rate": 24000])
            ) { response in
                XCTAssertEqual(response.status, .created)
                let session = try Self.json(response)
                let id = try XCTUnwrap(session["id"] as? String)
                let token = try XCTUnwrap(session["token"] as? String)
                XCTAssertEqual(session["url"] as? String, "/v1/live/sessions/\(id)/stream?token=\(token)")
                XCTAssertEqual(session["sample_rate"] as? Int, 24000)
                XCTAssertEqual(min(session["width"] as? Int ?? 0, session["height"] as? Int ?? 0), 720)
                XCTAssertTrue((session["mime"] as? String ?? "").hasPrefix("video/mp4; codecs=\"avc1."))
                XCTAssertEqual((session["mouth_box"] as? [Int])?.count, 4)
            }
            try await client.execute(
                uri: "/v1/live/sessions", method: .post, headers: Self.headers(smallSecret),
                body: try body(["resolution": "1080p"])
            ) { response in
                XCTAssertEqual(response.status, .created)
                let session = try Self.json(response)
                XCTAssertEqual(
                    min(session["width"] as? Int ?? 0, session["height"] as? Int ?? 0), 480, "the plan's largest")
            }
            try await client.execute(
                uri: "/v1/live/sessions", method: .post, headers: Self.headers(meteredSecret), body: try body([:])
            ) { response in
                XCTAssertEqual(response.status.code, 402)
                XCTAssertTrue(String(buffer: response.body).contains("quota_exceeded"))
            }
            let refusals: [([String: Any], String, String)] = [
                (["sample_rate": 44100], "invalid_parameter", "sample_rate"),
                (["fps": 60], "invalid_parameter", "fps"),
                (["avatar_id": "av_nope", "image_url": NSNull()], "not_found", "avatar_id"),
            ]
            for (extra, code, field) in refusals {
                var fields = extra
                if fields["image_url"] is NSNull { fields["image_url"] = nil }
                let request =
                    extra["image_url"] is NSNull
                    ? ByteBuffer(data: try JSONSerialization.data(withJSONObject: fields)) : try body(fields)
                try await client.execute(
                    uri: "/v1/live/sessions", method: .post, headers: Self.headers(f.secret), body: request
                ) { response in
                    let error = try XCTUnwrap(try Self.json(response)["error"] as? [String: Any])
                    XCTAssertEqual(error["code"] as? String, code, "\(extra)")
                    XCTAssertEqual(error["field"] as? String, field, "\(extra)")
                }
            }
            // Without the socket's upgrade, the stream's url says what is wrong.
            try await client.execute(uri: "/v1/live/sessions/live_x/stream?token=t", method: .get) { response in
                XCTAssertEqual(response.status, .unauthorized)
            }
        }
    }

    /// A prepared session holds a place until its socket claims it, once, or its token expires.
    func testLiveSessionPlacesAreHeldUntilClaimedOrExpired() async throws {
        let sessions = LiveSessions(limit: 1, tokenLifetime: .milliseconds(300))
        let portrait = try ImageDecoder.decode(path: try TestFiles.samplePortrait())
        let id = try sessions.reserve()
        XCTAssertThrowsError(try sessions.reserve()) { error in
            XCTAssertEqual((error as? MouthpieceError)?.code, .concurrencyLimit)
        }
        let token = sessions.hold(id, session: try LiveSession(portrait: portrait), keyID: "k")
        XCTAssertNil(sessions.claim(id, token: "wrong"))
        XCTAssertNil(sessions.claim("live_other", token: token))
        XCTAssertNotNil(sessions.claim(id, token: token))
        XCTAssertNil(sessions.claim(id, token: token), "a token is good once")
        XCTAssertEqual(sessions.count, 1, "running")
        sessions.release(id)
        XCTAssertEqual(sessions.count, 0)
        // Prepared and never connected: the place comes back when the token expires.
        let unused = try sessions.reserve()
        let late = sessions.hold(unused, session: try LiveSession(portrait: portrait), keyID: "k")
        XCTAssertEqual(sessions.count, 1)
        try await Task.sleep(for: .milliseconds(700))
        XCTAssertEqual(sessions.count, 0, "expired and dropped")
        XCTAssertNil(sessions.claim(unused, token: late))
    }

    func testEachFaceAnswersItsOwnErrorShape() async throws {
        let f = try await fixture()
        let badResolution = try submission(extra: ["resolution": "4k"])
        try await f.app.test(.router) { client in
            // Ours: {error: {code, message, field?}}.
            try await client.execute(uri: "/v1/videos", method: .get) { response in
                XCTAssertEqual(response.status, .unauthorized)
                let error = try XCTUnwrap(try Self.json(response)["error"] as? [String: Any])
                XCTAssertEqual(error["code"] as? String, "unauthorized")
            }
            try await client.execute(
                uri: "/v1/videos", method: .post, headers: Self.headers(f.secret),
                body: badResolution
            ) { response in
                XCTAssertEqual(response.status, .badRequest)
                let error = try XCTUnwrap(try Self.json(response)["error"] as? [String: Any])
                XCTAssertEqual(error["code"] as? String, "invalid_parameter")
                XCTAssertEqual(error["field"] as? String, "resolution")
            }
            // fal: a validation error is 422 {detail: [{loc, msg, type}]}.
            try await client.execute(
                uri: "/fal-ai/kling-video/ai-avatar/v2/pro", method: .post,
                headers: Self.headers(f.secret, scheme: "Key"),
                body: ByteBuffer(string: "{\"audio_url\": \"https://example.com/a.wav\"}")
            ) { response in
                XCTAssertEqual(response.status, .unprocessableContent)
                let detail = try XCTUnwrap(try Self.json(response)["detail"] as? [[String: Any]])
                XCTAssertEqual(detail.first?["loc"] as? [String], ["body", "image_url"])
                XCTAssertEqual(detail.first?["type"] as? String, "invalid_parameter")
            }
            // D-ID: {kind, description, code}.
            try await client.execute(
                uri: "/talks", method: .post, headers: Self.headers(f.secret, scheme: "Basic"),
                body: ByteBuffer(string: "{}")
            ) { response in
                XCTAssertEqual(response.status, .badRequest)
                let body = try Self.json(response)
                XCTAssertEqual(body["kind"] as? String, "ValidationError")
                XCTAssertEqual(body["code"] as? String, "invalid_parameter")
            }
            // Sync.so: {statusCode, message, error, code}.
            try await client.execute(
                uri: "/v2/generate", method: .post,
                headers: [.init("x-api-key")!: f.secret, .contentType: "application/json"],
                body: ByteBuffer(string: "{\"input\": []}")
            ) { response in
                XCTAssertEqual(response.status, .badRequest)
                let body = try Self.json(response)
                XCTAssertEqual(body["statusCode"] as? Int, 400)
                XCTAssertEqual(body["error"] as? String, "Bad Request")
            }
        }
    }

    func testAVideoIsSubmittedShownListedAndCanceledInItsOwnKeyOnly() async throws {
        let f = try await fixture()
        let body = try submission(extra: ["resolution": "480p", "head_motion": 0.5])
        try await f.app.test(.router) { client in
            let id = try await client.execute(
                uri: "/v1/videos", method: .post, headers: Self.headers(f.secret),
                body: body
            ) { response -> String in
                XCTAssertEqual(response.status, .accepted)
                let video = try Self.json(response)
                XCTAssertEqual(video["status"] as? String, "queued")
                XCTAssertEqual(video["queue_position"] as? Int, 0)
                let options = try XCTUnwrap(video["options"] as? [String: Any])
                XCTAssertEqual(options["resolution"] as? String, "480p")
                XCTAssertEqual(options["head_motion"] as? Double, 0.5)
                XCTAssertTrue(options["face_index"] is NSNull, "shown as null: the largest face")
                XCTAssertNil(options["protocol"])
                return try XCTUnwrap(video["id"] as? String)
            }
            try await client.execute(uri: "/v1/videos/\(id)", method: .get, headers: Self.headers(f.other)) {
                response in
                XCTAssertEqual(response.status, .notFound, "another key's video is not found")
            }
            try await client.execute(uri: "/v1/videos?limit=1", method: .get, headers: Self.headers(f.secret)) {
                response in
                let list = try Self.json(response)
                XCTAssertEqual((list["data"] as? [[String: Any]])?.first?["id"] as? String, id)
                XCTAssertTrue(list["next_cursor"] is NSNull)
            }
            try await client.execute(uri: "/v1/videos/\(id)/cancel", method: .post, headers: Self.headers(f.secret)) {
                response in
                XCTAssertEqual(try Self.json(response)["status"] as? String, "canceled")
            }
            try await client.execute(uri: "/v1/usage", method: .get, headers: Self.headers(f.secret)) { response in
                let usage = try Self.json(response)
                XCTAssertEqual(usage["output_seconds"] as? Double, 0)
                XCTAssertTrue(usage["quota_seconds"] is NSNull)
            }
        }
    }

    /// `/v1/lexicon`: each key's own pronunciations, checked, and a script's video keeps the entries
    /// its words use.
    func testALexiconBelongsToItsKeyIsCheckedAndTravelsWithAScript() async throws {
        let f = try await fixture()
        @Sendable func body(_ object: [String: Any]) throws -> ByteBuffer {
            ByteBuffer(data: try JSONSerialization.data(withJSONObject: object))
        }
        let video = try submission(extra: ["script": ["text": "Mr. Nguyen says hello."]], without: ["audio_url"])
        try await f.app.test(.router) { client in
            let entries = [["word": "Nguyen", "respelling": "win"], ["word": "GIF", "respelling": "jif"]]
            try await client.execute(
                uri: "/v1/lexicon", method: .put, headers: Self.headers(f.secret), body: try body(["entries": entries])
            ) { response in
                XCTAssertEqual(response.status, .ok)
                let words = (try Self.json(response)["entries"] as? [[String: String]])?.map { $0["word"] ?? "" }
                XCTAssertEqual(words, ["GIF", "Nguyen"])
            }
            // One entry, by its word in the path (percent-encoded), in any case.
            try await client.execute(
                uri: "/v1/lexicon/M%C3%BCller", method: .put, headers: Self.headers(f.secret),
                body: try body(["respelling": "mueller"])
            ) { response in
                XCTAssertEqual(response.status, .ok)
                XCTAssertEqual((try Self.json(response)["entries"] as? [Any])?.count, 3)
            }
            try await client.execute(uri: "/v1/lexicon/gif", method: .delete, headers: Self.headers(f.secret)) {
                XCTAssertEqual($0.status, .noContent)
            }
            try await client.execute(uri: "/v1/lexicon/gif", method: .delete, headers: Self.headers(f.secret)) {
                XCTAssertEqual($0.status, .notFound)
            }
            // Another key sees none of it and cannot remove it.
            try await client.execute(uri: "/v1/lexicon", method: .get, headers: Self.headers(f.other)) { response in
                XCTAssertEqual((try Self.json(response)["entries"] as? [Any])?.count, 0)
            }
            try await client.execute(uri: "/v1/lexicon/Nguyen", method: .delete, headers: Self.headers(f.other)) {
                XCTAssertEqual($0.status, .notFound)
            }
            try await client.execute(uri: "/v1/lexicon", method: .get, headers: [:]) {
                XCTAssertEqual($0.status, .unauthorized)
            }
            // Bad lexicons: refused with the field, nothing changed.
            let many = (0..<1001).map { ["word": "w\($0)", "respelling": "x"] }
            for bad: [[String: String]] in [
                [["word": "Ann", "respelling": "an"], ["word": "ANN", "respelling": "ahn"]],
                [["word": "a", "respelling": ""]],
                [["word": "a", "respelling": "<b>"]], many,
            ] {
                try await client.execute(
                    uri: "/v1/lexicon", method: .put, headers: Self.headers(f.secret), body: try body(["entries": bad])
                ) { response in
                    XCTAssertEqual(response.status, .badRequest)
                    let error = try XCTUnwrap(try Self.json(response)["error"] as? [String: Any])
                    XCTAssertEqual(error["field"] as? String, "entries")
                }
            }
            try await client.execute(uri: "/v1/lexicon", method: .get, headers: Self.headers(f.secret)) { response in
                let words = (try Self.json(response)["entries"] as? [[String: String]])?.map { $0["word"] ?? "" }
                XCTAssertEqual(words, ["Müller", "Nguyen"])
            }
            // A script's video keeps the entries its words use, and only those.
            let id = try await client.execute(
                uri: "/v1/videos", method: .post, headers: Self.headers(f.secret), body: video
            ) { response -> String in
                XCTAssertEqual(response.status, .accepted, String(buffer: response.body))
                return try XCTUnwrap(try Self.json(response)["id"] as? String)
            }
            let job = try await f.store.video(id)
            let spec = try JobSpec.decode(try XCTUnwrap(job).options)
            XCTAssertEqual(spec.script?.script.lexicon, ["Nguyen": "win"])
        }
    }

    /// Compositions are refused with the field at fault before anything is stored or rendered.
    func testACompositionIsRefusedWithItsFieldBeforeAnythingIsStored() async throws {
        let f = try await fixture()
        let portrait = try Data(contentsOf: URL(fileURLWithPath: try TestFiles.samplePortrait()))
        let image = "data:image/png;base64," + portrait.base64EncodedString()
        func json(_ object: [String: Any]) throws -> Data { try JSONSerialization.data(withJSONObject: object) }
        let speaking: [String: Any] = ["image": image, "script": "Hi."]
        let cases: [(body: Data, status: HTTPResponse.Status, code: String, field: String)] = [
            (try json(["scenes": []]), .badRequest, "invalid_parameter", "scenes"),
            (
                try json(["scenes": [["speakers": [["avatar_id": "av_nobody", "script": "Hi."]]]]]), .notFound,
                "not_found", "scenes[0].speakers[0].avatar_id"
            ),
            (
                try json(["scenes": [["speakers": [["image": image, "script": "Hi.", "start": "soon"]]]]]),
                .badRequest, "invalid_parameter", "scenes[0].speakers[0].start"
            ),
            (
                try json(["scenes": [["speakers": [["image": image, "audio": "data:audio/wav;base64,AAAA"]]]]]),
                .badRequest, "unsupported_audio", "scenes[0].speakers[0].audio"
            ),
            (
                try json(["scenes": [["speakers": [speaking]]], "image_url": image]), .badRequest,
                "invalid_parameter", "image_url"
            ),
            (
                try json(["scenes": [["speakers": [speaking], "background": ["color": "red"]]]]), .badRequest,
                "invalid_parameter", "scenes[0].background.color"
            ),
            (
                try json(["captions": "burned", "image_url": image, "script": ["text": "Hi."]]), .badRequest,
                "invalid_parameter", "captions"
            ),
        ]
        try await f.app.test(.router) { client in
            for (body, status, code, field) in cases {
                try await client.execute(
                    uri: "/v1/videos", method: .post, headers: Self.headers(f.secret), body: ByteBuffer(data: body)
                ) { response in
                    XCTAssertEqual(response.status, status, "\(field)")
                    let error = try XCTUnwrap(try Self.json(response)["error"] as? [String: Any])
                    XCTAssertEqual(error["code"] as? String, code, "\(error)")
                    XCTAssertEqual(error["field"] as? String, field, "\(error)")
                }
            }
        }
        let key = try await f.store.key(secret: f.secret)
        let videos = try await f.store.videos(keyID: try XCTUnwrap(key).id, after: nil, limit: 10)
        XCTAssertEqual(videos.count, 0, "no job made")
    }

    func testAnAvatarNeedsConsentToBeMadeAndToBeUsed() async throws {
        let f = try await fixture()
        let portrait = try Data(contentsOf: URL(fileURLWithPath: try TestFiles.samplePortrait()))
        let image = "data:image/png;base64," + portrait.base64EncodedString()
        func body(_ object: [String: Any]) throws -> ByteBuffer {
            ByteBuffer(data: try JSONSerialization.data(withJSONObject: object))
        }
        let without = try body(["image_url": image])
        let unaccepted = try body(["image_url": image, "consent": ["attested_by": "Ann", "relation": "self"]])
        let badRelation = try body([
            "image_url": image, "consent": ["attested_by": "Ann", "relation": "friend", "accepted": true],
        ])
        let with = try body([
            "image_url": image, "consent": ["attested_by": "Ann Lee", "relation": "self", "accepted": true],
        ])
        // An avatar made before consent was asked for (or on an install that does not ask).
        let key = try unwrap(try await f.store.key(secret: f.secret))
        try await f.store.addAvatar(
            Avatar(id: "avt_old", keyID: key.id, imageBlob: "i", previewBlob: "p", analysis: "{}", createdAt: Date()))
        let usesOld = try submission(extra: ["avatar_id": "avt_old"], without: ["image_url"])
        let audio = try JSONSerialization.jsonObject(with: Data(buffer: usesOld)) as? [String: Any]
        let audioURL = try XCTUnwrap(audio?["audio_url"] as? String)
        try await f.app.test(.router) { client in
            for refused in [without, unaccepted] {
                try await client.execute(
                    uri: "/v1/avatars", method: .post, headers: Self.headers(f.secret), body: refused
                ) {
                    response in
                    XCTAssertEqual(response.status, .forbidden)
                    let error = try XCTUnwrap(try Self.json(response)["error"] as? [String: Any])
                    XCTAssertEqual(error["code"] as? String, "consent_required")
                }
            }
            try await client.execute(
                uri: "/v1/avatars", method: .post, headers: Self.headers(f.secret), body: badRelation
            ) {
                response in
                XCTAssertEqual(response.status, .badRequest)
                let error = try XCTUnwrap(try Self.json(response)["error"] as? [String: Any])
                XCTAssertEqual(error["field"] as? String, "consent.relation")
            }
            let id = try await client.execute(
                uri: "/v1/avatars", method: .post, headers: Self.headers(f.secret), body: with
            ) { response -> String in
                XCTAssertEqual(response.status, .created)
                return try XCTUnwrap(try Self.json(response)["id"] as? String)
            }
            try await client.execute(uri: "/v1/avatars/\(id)", method: .get, headers: Self.headers(f.secret)) {
                response in
                let consent = try XCTUnwrap(try Self.json(response)["consent"] as? [String: Any])
                XCTAssertEqual(consent["attested_by"] as? String, "Ann Lee")
                XCTAssertEqual(consent["relation"] as? String, "self")
                XCTAssertEqual(consent["key_id"] as? String, key.id)
                XCTAssertEqual(consent["statement"] as? String, Consent.statement)
                XCTAssertNotNil(consent["accepted_at"] as? String)
            }
            // Used: the one with consent makes a video; the one without is refused.
            let usesNew = ByteBuffer(
                data: try JSONSerialization.data(withJSONObject: ["avatar_id": id, "audio_url": audioURL]))
            try await client.execute(uri: "/v1/videos", method: .post, headers: Self.headers(f.secret), body: usesNew) {
                XCTAssertEqual($0.status, .accepted)
            }
            try await client.execute(uri: "/v1/videos", method: .post, headers: Self.headers(f.secret), body: usesOld) {
                response in
                XCTAssertEqual(response.status, .forbidden)
                let error = try XCTUnwrap(try Self.json(response)["error"] as? [String: Any])
                XCTAssertEqual(error["code"] as? String, "consent_required")
            }
        }
    }

    func testAPlanCapsTheResolutionMarksItsOutputsAndCountsItsCredits() async throws {
        let f = try await fixture(plans: [
            Plan(name: "free", monthlyCreditSeconds: 10, maxResolution: "720p", watermark: true, priority: 0),
            Plan(name: "tiny", monthlyCreditSeconds: 1),
            Plan(name: "short", maxDurationSeconds: 1, priority: 5),
        ])
        let (free, freeSecret) = try await f.store.createKey(name: "f", quotaSeconds: nil, concurrency: 1, plan: "free")
        let (_, tinySecret) = try await f.store.createKey(name: "t", quotaSeconds: nil, concurrency: 1, plan: "tiny")
        let (_, shortSecret) = try await f.store.createKey(name: "s", quotaSeconds: nil, concurrency: 1, plan: "short")
        let body = try submission(extra: ["resolution": "1080p"])
        let store = f.store
        try await f.app.test(.router) { client in
            let id = try await client.execute(
                uri: "/v1/videos", method: .post, headers: Self.headers(freeSecret), body: body
            ) { response -> String in
                XCTAssertEqual(response.status, .accepted)
                let video = try Self.json(response)
                let options = try XCTUnwrap(video["options"] as? [String: Any])
                XCTAssertEqual(options["resolution"] as? String, "720p", "the plan's largest")
                XCTAssertEqual(options["watermark"] as? Bool, true)
                return try XCTUnwrap(video["id"] as? String)
            }
            // Rendered: 2.5 s of its 10 credit seconds are used, exactly.
            let claimed = try unwrap(try await store.claim(owner: "w", lease: 30))
            XCTAssertEqual(claimed.id, id)
            try await store.finish(
                id, owner: "w", status: .completed, result: "{\"duration\": 2.5}", outputSeconds: 2.5)
            try await client.execute(uri: "/v1/usage", method: .get, headers: Self.headers(freeSecret)) { response in
                let usage = try Self.json(response)
                XCTAssertEqual(usage["plan"] as? String, "free")
                let credits = try XCTUnwrap(usage["credits"] as? [String: Any])
                XCTAssertEqual(credits["monthly_seconds"] as? Double, 10)
                XCTAssertEqual(credits["used_seconds"] as? Double, 2.5)
                XCTAssertEqual(credits["left_seconds"] as? Double, 7.5)
                XCTAssertEqual((credits["period_start"] as? String)?.suffix(3), "-01")
            }
            // Two seconds of audio with one credit second: refused with the figures, nothing queued.
            try await client.execute(uri: "/v1/videos", method: .post, headers: Self.headers(tinySecret), body: body) {
                response in
                XCTAssertEqual(response.status.code, 402)
                let error = try XCTUnwrap(try Self.json(response)["error"] as? [String: Any])
                XCTAssertEqual(error["code"] as? String, "quota_exceeded")
                let message = try XCTUnwrap(error["message"] as? String)
                XCTAssertTrue(message.contains("1 credit seconds a month") && message.contains("needs 2.0"), message)
            }
            // Longer than the plan's longest video.
            try await client.execute(uri: "/v1/videos", method: .post, headers: Self.headers(shortSecret), body: body) {
                response in
                XCTAssertEqual(response.status, .badRequest)
                XCTAssertEqual(
                    (try Self.json(response)["error"] as? [String: Any])?["code"] as? String, "audio_too_long")
            }
        }
        XCTAssertEqual(free.plan, "free")
        let waiting = try await store.inFlightCount(keyID: free.id)
        XCTAssertEqual(waiting, 0)
    }

    func testSubmissionsBeyondTheQueueCapWaitTheirTurn() async throws {
        let f = try await fixture(queueCap: 2)
        let body = try submission()
        try await f.app.test(.router) { client in
            for _ in 0..<2 {
                try await client.execute(uri: "/v1/videos", method: .post, headers: Self.headers(f.secret), body: body)
                {
                    XCTAssertEqual($0.status, .accepted, "within the cap, whatever the key's concurrency (10)")
                }
            }
            try await client.execute(uri: "/v1/videos", method: .post, headers: Self.headers(f.secret), body: body) {
                response in
                XCTAssertEqual(response.status, .tooManyRequests)
                XCTAssertEqual(response.headers[.retryAfter], "30")
                let error = try XCTUnwrap(try Self.json(response)["error"] as? [String: Any])
                XCTAssertEqual(error["code"] as? String, "queue_full")
            }
            // Another key's queue is its own.
            try await client.execute(uri: "/v1/videos", method: .post, headers: Self.headers(f.other), body: body) {
                XCTAssertEqual($0.status, .accepted)
            }
        }
    }

    func testAFalSubmissionKeepsItsFaceAndGetsItsWebhookShape() async throws {
        let f = try await fixture()
        let body = try submission()
        let links = try await FileLinks.shared(store: f.store, legacyFile: nil)
        try await f.app.test(.router) { client in
            let id = try await client.execute(
                uri: "/fal-ai/kling-video/ai-avatar/v2/standard", method: .post,
                headers: Self.headers(f.secret, scheme: "Key"), body: body
            ) { response -> String in
                XCTAssertEqual(response.status, .ok)
                let body = try Self.json(response)
                XCTAssertEqual(body["status"] as? String, "IN_QUEUE")
                let id = try XCTUnwrap(body["request_id"] as? String)
                // Absolute, from where the client reached us (fal's clients follow these).
                let statusURL = try XCTUnwrap(body["status_url"] as? String)
                XCTAssertTrue(statusURL.hasPrefix("http://"), statusURL)
                XCTAssertTrue(statusURL.hasSuffix("/fal-ai/kling-video/requests/\(id)/status"), statusURL)
                XCTAssertEqual(response.headers[.init("x-fal-request-id")!], id)
                return id
            }
            let job = try unwrap(try await f.store.video(id))
            let spec = try JobSpec.decode(job.options)
            XCTAssertEqual(spec.face?.name, .fal)
            XCTAssertEqual(spec.resolution, "720p")
            // Finished, its webhook is fal's {request_id, gateway_request_id, status, payload}.
            var finished = job
            finished.status = .failed
            finished.errorCode = "no_face_detected"
            finished.errorMessage = "No face."
            let shapes = WebhookShapes(publicURL: "", links: links)
            let (event, payload) = try shapes.message(for: finished)
            XCTAssertEqual(event, "video.failed")
            let message = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(payload.utf8)) as? [String: Any])
            XCTAssertEqual(message["gateway_request_id"] as? String, id)
            XCTAssertEqual(message["status"] as? String, "ERROR")
            XCTAssertEqual((message["payload"] as? [String: Any])?["error_type"] as? String, "no_face_detected")
            // The same job through the native API: our own shape.
            let native = try NativeWebhook().message(for: finished, face: nil, base: "")
            let ours = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(native.payload.utf8)) as? [String: Any])
            XCTAssertEqual(ours["type"] as? String, "video.failed")
        }
    }
}

/// The typed job specification and the worker's outcome handling, without a server.
final class JobSpecAndOutcomeTests: XCTestCase {
    func testASpecStoredByTheLastVersionReadsAndWritesTheSameJSON() throws {
        // As the dictionary plumbing wrote it (sorted keys, nulls kept).
        let stored =
            #"{"aspect":"original","burn_captions":false,"expressiveness":1,"face_index":null,"fps":25,"head_motion":1,"#
            + #""resolution":"720p","script":{"language":"es","pitch":50,"rate":160,"text":"Hola","voice":null},"seed":7}"#
        let spec = try JobSpec.decode(stored)
        XCTAssertEqual(spec.script?.script.language, "es")
        XCTAssertNil(spec.faceIndex)
        let again = try JobSpec.decode(try spec.stored())
        XCTAssertEqual(again, spec)
        let object = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(try spec.stored().utf8)) as? [String: Any])
        XCTAssertTrue(object["face_index"] is NSNull)
        XCTAssertTrue((object["script"] as? [String: Any])?["voice"] is NSNull)
        XCTAssertNil(object["input"], "a portrait's input is left out, as before")
        XCTAssertEqual(try spec.renderOptions().burnCaptions, false)

        let clone =
            #"{"aspect":"original","expressiveness":1,"face_index":2,"fps":25,"head_motion":1,"input":"clone","#
            + #""protocol":{"base":"http://h","name":"sync","model":"lipsync-2"},"resolution":"720p","seed":1,"#
            + #""sync_mode":"loop","track_blob":"t1"}"#
        let cloned = try JobSpec.decode(clone)
        XCTAssertEqual(cloned.input, .clone)
        XCTAssertEqual(cloned.syncMode, .loop)
        XCTAssertEqual(cloned.face?.name, .sync)
        XCTAssertEqual(cloned.trackBlob, "t1")
    }

    func testScriptDefaultsLiveInOnePlace() throws {
        let script = try VideoRequest.ScriptBody(text: "Hello").script()
        XCTAssertEqual(script, Speech.Script(text: "Hello"))
        XCTAssertEqual(script.rate, Speech.Script.defaultRate)
    }

    func testTheWorkerDecidesEachOutcome() {
        typealias W = RenderWorkers
        let canceled = MouthpieceError(.canceled, "stop")
        XCTAssertEqual(W.decide(.failure(canceled), reason: .shutdown), .handBack)
        XCTAssertEqual(W.decide(.failure(canceled), reason: .canceled), .cancel)
        let disk = MouthpieceError(.outputNotWritable, "disk full")
        XCTAssertEqual(W.decide(.failure(disk), reason: nil), .retryElsewhere(disk))
        let noFace = MouthpieceError(.noFaceDetected, "no face")
        XCTAssertEqual(W.decide(.failure(noFace), reason: nil), .fail(noFace))
        struct Odd: Error {}
        guard case .retryElsewhere(let error) = W.decide(.failure(Odd()), reason: nil) else {
            return XCTFail("an unknown error may pass on another attempt")
        }
        XCTAssertEqual(error.code, .internalError)
    }
}
