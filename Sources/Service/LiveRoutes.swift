import Crypto
import Foundation
import Hummingbird
import HummingbirdWebSocket
import Logging
import Media
import MouthpieceCore
import NIOCore
import Pipeline
import Render
import Speech
import Store
import Synchronization

/// What `POST /v1/live/sessions` takes: the avatar, and how the stream is made.
struct LiveSessionRequest: Decodable, Sendable {
    var avatar_id: String?
    var image_url: String?
    /// A portrait uploaded with the request (multipart/form-data).
    var image: UploadedFile?
    var sample_rate: Int?
    var fps: Int?
    var resolution: String?
    var seed: UInt64?
    var expressiveness: Double?
    var head_motion: Double?
    var lookahead_ms: Double?

    func settings() throws -> LiveSettings {
        var settings = LiveSettings()
        if let sample_rate { settings.sampleRate = sample_rate }
        if let fps { settings.fps = fps }
        if let resolution {
            guard let value = Resolution(rawValue: resolution.lowercased()) else {
                throw MouthpieceError(
                    .invalidParameter, "resolution must be one of 480p, 720p, 1080p; got \(resolution).",
                    field: "resolution")
            }
            settings.resolution = value
        }
        if let seed { settings.seed = seed }
        if let expressiveness {
            guard (0...2).contains(expressiveness) else {
                throw MouthpieceError(.invalidParameter, "expressiveness must be 0 to 2.", field: "expressiveness")
            }
            settings.expressiveness = expressiveness
        }
        if let head_motion {
            guard (0...2).contains(head_motion) else {
                throw MouthpieceError(.invalidParameter, "head_motion must be 0 to 2.", field: "head_motion")
            }
            settings.headMotion = head_motion
        }
        if let lookahead_ms { settings.lookahead = lookahead_ms / 1000 }
        try settings.validate()
        return settings
    }
}

/// The answer to `POST /v1/live/sessions`: where to connect, and what the stream will be.
struct LiveSessionResource: ResponseEncodable, Sendable {
    var id: String
    var object = "live_session"
    /// The WebSocket to open, with its one-time token (valid for `expires_in` seconds).
    var url: String
    var token: String
    var expires_in: Int
    var mime: String
    var width: Int
    var height: Int
    var fps: Int
    var sample_rate: Int
    /// Where the mouth is in the picture at rest: [x, y, width, height] in pixels.
    var mouth_box: [Int]
}

/// What a client sends as text over the socket.
struct LiveControl: Decodable, Sendable {
    enum Kind: String, Decodable, Sendable { case say, interrupt, end }
    var type: Kind
    var text: String?
    var language: String?
    var voice: String?
}

/// Live sessions prepared and running: each made by an authenticated `POST`, claimed once by the
/// WebSocket that presents its token before it expires. At most `limit` at once on this server
/// (each renders and encodes in real time on a core of its own).
final class LiveSessions: Sendable {
    struct Pending: Sendable {
        let session: LiveSession
        let keyID: String
        /// The key's pronunciations, for the session's `say` controls.
        let lexicon: [String: String]
        let tokenHash: String
        let expires: ContinuousClock.Instant
    }

    let limit: Int
    let tokenLifetime: Duration
    private let state = Mutex<(pending: [String: Pending], running: Set<String>)>(([:], []))

    init(limit: Int, tokenLifetime: Duration = .seconds(60)) {
        self.limit = limit
        self.tokenLifetime = tokenLifetime
    }

    /// Sessions prepared or streaming now.
    var count: Int { state.withLock { $0.pending.count + $0.running.count } }

    /// Takes a place for a session about to be prepared, or refuses with `concurrency_limit`.
    func reserve() throws -> String {
        let id = "live_" + StoreRules.randomToken(bytes: 10)
        try state.withLock { state in
            guard state.pending.count + state.running.count < limit else {
                throw MouthpieceError(
                    .concurrencyLimit,
                    "This server runs at most \(limit) live sessions at once; try again when one has ended.")
            }
            state.running.insert(id)
        }
        return id
    }

    /// Holds a prepared session for its WebSocket; returns the token.
    func hold(_ id: String, session: LiveSession, keyID: String, lexicon: [String: String] = [:]) -> String {
        let token = StoreRules.randomToken(bytes: 24)
        state.withLock { state in
            state.running.remove(id)
            state.pending[id] = Pending(
                session: session, keyID: keyID, lexicon: lexicon, tokenHash: Self.hash(token),
                expires: .now + tokenLifetime)
        }
        // A session never connected gives its place (and its encoder) back when its token expires.
        let lifetime = tokenLifetime
        Task { [weak self] in
            try? await Task.sleep(for: lifetime + .milliseconds(100))
            self?.expire(id)
        }
        return token
    }

    /// Drops a prepared session whose token has expired unused.
    func expire(_ id: String) {
        let stale: LiveSession? = state.withLock { state in
            guard let pending = state.pending[id], pending.expires < .now else { return nil }
            state.pending[id] = nil
            return pending.session
        }
        stale?.close()
    }

    /// The session for a WebSocket presenting `token`, once.
    func claim(_ id: String, token: String) -> (session: LiveSession, lexicon: [String: String])? {
        state.withLock { state in
            guard let pending = state.pending[id], pending.expires >= .now,
                Self.hash(token) == pending.tokenHash
            else { return nil }
            state.pending[id] = nil
            state.running.insert(id)
            return (pending.session, pending.lexicon)
        }
    }

    func release(_ id: String) { _ = state.withLock { $0.running.remove(id) } }

    static func hash(_ token: String) -> String {
        SHA256.hash(data: Data(token.utf8)).map { String(format: "%02x", $0) }.joined()
    }
}

struct LiveRoutes: Sendable {
    /// The video use cases, for what a session shares with them: plans, avatars, URL inputs, limits.
    let videos: Videos
    let sessions: LiveSessions
    let logger: Logger

    func add(to group: RouterGroup<APIContext>, router: Router<APIContext>) {
        group.post("live/sessions") { request, context in try await create(request, context) }
        // Reached only when the WebSocket upgrade was refused (no upgrade asked, or the token is
        // wrong or spent).
        router.get("v1/live/sessions/:id/stream") { _, _ -> Response in
            throw MouthpieceError(
                .unauthorized,
                "The live session's token is missing, not valid, expired or already used: open the WebSocket at the url "
                    + "POST /v1/live/sessions answered, once, within a minute.")
        }
    }

    func create(_ request: Request, _ context: APIContext) async throws -> Response {
        let key = try context.requireKey()
        let body = try await request.decode(as: LiveSessionRequest.self, context: context)
        var settings = try body.settings()
        // Live seconds are not metered yet: a key whose output is counted or marked cannot stream.
        let plan = try videos.plan(of: key)
        if key.quotaSeconds != nil || plan?.monthlyCreditSeconds != nil || plan?.watermark == true {
            throw MouthpieceError(
                .quotaExceeded,
                "Live sessions are not metered or watermarked yet, so keys with a quota, credits or a watermarked plan "
                    + "cannot open them; use a key without.")
        }
        if let plan { settings.resolution = plan.capped(settings.resolution) }
        let bytes: [UInt8]
        switch (body.avatar_id, body.image_url, body.image) {
        case (let id?, nil, nil):
            let avatar = try await videos.usableAvatar(id, key: key)
            if AvatarAnalysis.of(avatar)?.isVideo == true {
                throw MouthpieceError(
                    .invalidParameter, "Live sessions take portrait avatars; avatar \(id) is a video.",
                    field: "avatar_id")
            }
            bytes = Array(try Data(contentsOf: URL(fileURLWithPath: videos.blobs.path(avatar.imageBlob))))
        case (nil, let url?, nil):
            bytes = try await videos.loader.load(url, field: "image_url", maxBytes: videos.limits.imageBytes)
        case (nil, nil, let file?):
            bytes = try file.checked(field: "image", maxBytes: videos.limits.imageBytes)
        default:
            throw MouthpieceError(
                .invalidParameter, "Give one of avatar_id, image_url, or an uploaded image (multipart/form-data).",
                field: "avatar_id")
        }
        let id = try sessions.reserve()
        let session: LiveSession
        do {
            session = try await Offload.run { [settings] in
                let portrait = try ImageDecoder.decode(bytes: bytes, limits: settings.imageLimits)
                return try LiveSession(portrait: portrait, settings: settings)
            }
        } catch {
            sessions.release(id)
            throw error
        }
        let lexicon = Dictionary(
            try await videos.store.lexicon(keyID: key.id).map { ($0.word, $0.respelling) },
            uniquingKeysWith: { a, _ in a })
        let token = sessions.hold(id, session: session, keyID: key.id, lexicon: lexicon)
        logger.info("live session prepared", metadata: ["session": .string(id), "key_id": .string(key.id)])
        return JSONResponse.make(
            LiveSessionResource(
                id: id, url: "/v1/live/sessions/\(id)/stream?token=\(token)", token: token,
                expires_in: Int(sessions.tokenLifetime.components.seconds), mime: session.mimeType,
                width: session.width, height: session.height, fps: settings.fps, sample_rate: settings.sampleRate,
                mouth_box: [session.mouthBox.x, session.mouthBox.y, session.mouthBox.width, session.mouthBox.height]),
            status: .created)
    }
}

extension LiveSessions {
    /// The close code of a WebSocket whose token was refused (4000-4999 are the application's).
    static let refusedCode: UInt16 = 4401

    /// Whether a request is a live session's WebSocket; its handler if so (one that closes at once
    /// with `refusedCode` when the token is wrong, spent or expired).
    func upgrade(_ request: HTTPRequest, logger: Logger) -> ShouldUpgradeResult<
        WebSocketDataHandler<HTTP1WebSocketUpgradeChannel.Context>
    > {
        guard let target = request.path, let components = URLComponents(string: target) else { return .dontUpgrade }
        let parts = components.path.split(separator: "/")
        guard parts.count == 5, parts[0] == "v1", parts[1] == "live", parts[2] == "sessions", parts[4] == "stream",
            let token = components.queryItems?.first(where: { $0.name == "token" })?.value
        else { return .dontUpgrade }
        let id = String(parts[3])
        guard let (session, lexicon) = claim(id, token: token) else {
            // A plain HTTP refusal of an upgrade has no body; a WebSocket closed at once can say why.
            return .upgrade([:]) { _, outbound, _ in
                try await outbound.close(
                    .unknown(LiveSessions.refusedCode),
                    reason: "unauthorized: the token is not valid, expired or already used")
            }
        }
        return .upgrade([:]) { inbound, outbound, _ in
            defer {
                session.close()
                self.release(id)
            }
            logger.info("live session connected", metadata: ["session": .string(id)])
            session.start()
            try await withThrowingTaskGroup(of: Void.self) { group in
                // Out: the stream and its events, as they come; ends when the session does.
                group.addTask {
                    let encoder = JSONEncoder()
                    encoder.outputFormatting = [.sortedKeys]
                    while let out = await session.next() {
                        switch out {
                        case .initSegment(let bytes), .fragment(let bytes):
                            try await outbound.writeBinaryMessage(ByteBuffer(bytes: bytes))
                        case .event(let event):
                            try await outbound.writeTextMessage(
                                String(decoding: try encoder.encode(event), as: UTF8.self))
                        }
                    }
                    try? await outbound.close(.normalClosure, reason: "ended")
                }
                // In: audio and controls, until the client goes away. A session's `say`s are
                // spoken one after another, in the order they came.
                let speaking = DispatchQueue(label: "mouthpiece.live.say")
                group.addTask {
                    for try await message in inbound.messages(maxSize: 1 << 20) {
                        do {
                            try Self.handle(message, session: session, lexicon: lexicon, speaking: speaking)
                        } catch let error as MouthpieceError {
                            session.report(error)
                        }
                    }
                    // The client closed: nothing more to send.
                    session.close()
                }
                try await group.next()
                try await group.next()
            }
            logger.info(
                "live session ended",
                metadata: [
                    "session": .string(id), "frames": .stringConvertible(session.currentFigures.frames),
                    "dropped": .stringConvertible(session.currentFigures.droppedFrames),
                ])
        }
    }

    static func handle(
        _ message: WebSocketMessage, session: LiveSession, lexicon: [String: String], speaking: DispatchQueue
    ) throws {
        switch message {
        case .binary(let buffer):
            try session.push(pcm16: Array(buffer.readableBytesView))
        case .text(let text):
            let control: LiveControl
            do {
                control = try JSONDecoder().decode(LiveControl.self, from: Data(text.utf8))
            } catch {
                throw MouthpieceError(
                    .invalidParameter, "Controls are JSON: {\"type\": \"say\" | \"interrupt\" | \"end\", ...}.",
                    field: "type")
            }
            switch control.type {
            case .interrupt: session.interrupt()
            case .end: session.end()
            case .say:
                guard let text = control.text else {
                    throw MouthpieceError(.invalidParameter, "say needs a text.", field: "text")
                }
                var said = Script(
                    text: text, language: control.language ?? Script.defaultLanguage, voice: control.voice)
                said.lexicon = lexicon
                let script = said
                try SpeechSynthesizer.check(script)
                // Speaking takes a moment (Festival about 0.3 s a sentence): off the socket's thread.
                speaking.async {
                    do { try session.say(script) } catch let error as MouthpieceError {
                        session.report(error)
                    } catch {}
                }
            }
        }
    }
}
