import Foundation
import Logging
import MouthpieceCore
import Pipeline
import ServiceLifecycle
import Speech
import Store

/// In-process render workers: each claims the oldest queued job with a lease, renders it on a
/// thread of its own (renders are long and CPU-bound; they must not hold the server's threads),
/// renews the lease every second while reporting progress, and records the result.
///
/// A job whose process dies is claimed again once its lease runs out. On graceful shutdown
/// (SIGTERM) workers stop claiming and hand their jobs in flight back to the queue.
public struct RenderWorkers: Service {
    let store: SQLiteStore
    let blobs: BlobStore
    let count: Int
    let lease: TimeInterval
    let logger: Logger
    /// Prefix of the links in webhook messages.
    let publicURL: String
    let metrics: ServiceMetrics?
    /// Signed file links, for webhooks in another protocol's shape (fal's carries the file URL).
    let links: FileLinks?

    init(
        store: SQLiteStore, blobs: BlobStore, count: Int, lease: TimeInterval = 10, publicURL: String = "",
        metrics: ServiceMetrics? = nil, links: FileLinks? = nil, logger: Logger
    ) {
        self.metrics = metrics
        self.links = links
        self.store = store
        self.blobs = blobs
        self.count = count
        self.lease = lease
        self.publicURL = publicURL
        self.logger = logger
    }

    public func run() async throws {
        let stopping = Flag()
        try await withGracefulShutdownHandler {
            try await withThrowingTaskGroup(of: Void.self) { group in
                for index in 0..<count {
                    let owner =
                        "\(ProcessInfo.processInfo.hostName)-\(getpid())-\(index)-\(SQLiteStore.randomToken(bytes: 4))"
                    group.addTask { try await loop(owner: owner, stopping: stopping) }
                }
                try await group.waitForAll()
            }
        } onGracefulShutdown: {
            stopping.set()
        }
    }

    func loop(owner: String, stopping: Flag) async throws {
        while !stopping.isSet && !Task.isCancelled {
            do {
                if let job = try store.claim(owner: owner, lease: lease) {
                    await process(job, owner: owner, stopping: stopping)
                    continue
                }
            } catch {
                // A busy or briefly unavailable store must not stop the workers: try again shortly.
                logger.warning("could not claim a job: \(error)")
            }
            try? await Task.sleep(for: .milliseconds(200))
        }
    }

    func process(_ job: VideoJob, owner: String, stopping: Flag) async {
        var log = logger
        log[metadataKey: "job_id"] = .string(job.id)
        log.info("rendering", metadata: ["attempt": .stringConvertible(job.attempts)])
        let state = RenderState()
        let output = blobs.reservePath(suffix: ".mp4")
        let render: RenderJob
        do {
            let (options, script) = try Self.options(from: job.options)
            render = RenderJob(
                imagePath: blobs.path(job.imageBlob),
                sound: script.map { .script($0) } ?? .audio(path: blobs.path(job.audioBlob)), outputPath: output.path,
                options: options)
        } catch {
            try? store.finish(
                job.id, owner: owner, status: .failed, errorCode: "internal_error", errorMessage: "\(error)",
                webhook: webhook)
            return
        }
        // A task renews the lease and watches for cancels while the render runs on its own thread.
        Task {
            while !state.finished {
                try? await Task.sleep(for: .seconds(1))
                if state.finished { break }
                let keep =
                    (try? store.heartbeat(job.id, owner: owner, progress: state.progress, lease: lease)) ?? true
                if !keep { state.reason = .canceled }
                if stopping.isSet && state.reason == nil { state.reason = .shutdown }
            }
        }
        let started = ContinuousClock.now
        let outcome: Result<RenderSummary, any Error>
        do {
            outcome = .success(
                try await Offload.run {
                    try render.run(progress: { state.progress = $0.fraction }, shouldStop: { state.stop })
                })
        } catch {
            outcome = .failure(error)
        }
        state.finished = true
        let wall = started.duration(to: .now)
        do {
            switch outcome {
            case .success(let summary):
                var facts: [String: Any] = [
                    "duration": summary.duration, "width": summary.width, "height": summary.height, "fps": summary.fps,
                    "file_size": summary.bytes, "content_type": "video/mp4", "frames": summary.frames,
                    "warnings": summary.warnings.map(\.rawValue),
                ]
                if !summary.captions.isEmpty { facts["caption_cues"] = summary.captions.count }
                let json = String(
                    decoding: try JSONSerialization.data(withJSONObject: facts, options: [.sortedKeys]), as: UTF8.self)
                try store.finish(
                    job.id, owner: owner, status: .completed, resultBlob: output.id, result: json,
                    outputSeconds: summary.duration, webhook: webhook)
                metrics?.rendered(status: .completed, wall: wall, outputSeconds: summary.duration)
                log.info(
                    "completed",
                    metadata: [
                        "output_seconds": .stringConvertible(summary.duration),
                        "render_seconds": .stringConvertible((wall.inSeconds * 1000).rounded() / 1000),
                    ])
            case .failure(let error as MouthpieceError) where error.code == .canceled && state.reason == .shutdown:
                try store.release(job.id, owner: owner)
                log.info("handed back at shutdown")
            case .failure(let error as MouthpieceError) where error.code == .canceled:
                try store.finish(
                    job.id, owner: owner, status: .canceled, errorCode: "canceled", errorMessage: "Canceled.")
                metrics?.rendered(status: .canceled, wall: wall, outputSeconds: nil)
                log.info("canceled")
            case .failure(let error as MouthpieceError):
                try store.finish(
                    job.id, owner: owner, status: .failed, errorCode: error.code.rawValue, errorMessage: error.message,
                    webhook: webhook)
                metrics?.rendered(status: .failed, wall: wall, outputSeconds: nil)
                log.info("failed", metadata: ["code": .string(error.code.rawValue)])
            case .failure(let error):
                try store.finish(
                    job.id, owner: owner, status: .failed, errorCode: "internal_error", errorMessage: "\(error)",
                    webhook: webhook)
                metrics?.rendered(status: .failed, wall: wall, outputSeconds: nil)
                log.error("failed: \(error)")
            }
        } catch {
            log.error("could not record the outcome: \(error)")
        }
    }

    /// The message for a finished job's webhook, if it asked for one.
    func webhook(_ job: VideoJob) throws -> (event: String, payload: String) {
        let options = (try? JSONSerialization.jsonObject(with: Data(job.options.utf8))) as? [String: Any]
        if let proto = options?["protocol"] as? [String: String], proto["name"] == "fal", let links {
            return try FalRoutes.webhook(job, base: publicURL.isEmpty ? proto["base"] ?? "" : publicURL, links: links)
        }
        return try VideoJSON.webhook(job, baseURL: publicURL)
    }

    /// The render options stored with a job, and its script if it has one.
    static func options(from json: String) throws -> (RenderOptions, Script?) {
        let object = (try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any]) ?? [:]
        var options = try RenderOptions.parse(
            resolution: object["resolution"] as? String, fps: object["fps"] as? Int,
            aspect: object["aspect"] as? String,
            seed: (object["seed"] as? NSNumber)?.uint64Value, expressiveness: object["expressiveness"] as? Double,
            faceIndex: object["face_index"] as? Int, headMotion: object["head_motion"] as? Double)
        guard let script = object["script"] as? [String: Any], let text = script["text"] as? String else {
            return (options, nil)
        }
        options.burnCaptions = object["burn_captions"] as? Bool ?? false
        return (
            options,
            Script(
                text: text, language: script["language"] as? String ?? "en-us", voice: script["voice"] as? String,
                rate: script["rate"] as? Int ?? 160, pitch: script["pitch"] as? Int ?? 50)
        )
    }
}

/// Shared between a render thread and the task watching it.
final class RenderState: @unchecked Sendable {
    enum Reason { case canceled, shutdown }
    private let lock = NSLock()
    private var _progress = 0.0
    private var _reason: Reason?
    private var _finished = false

    var progress: Double {
        get { lock.withLock { _progress } }
        set { lock.withLock { _progress = newValue } }
    }
    var reason: Reason? {
        get { lock.withLock { _reason } }
        set { lock.withLock { _reason = newValue } }
    }
    var finished: Bool {
        get { lock.withLock { _finished } }
        set { lock.withLock { _finished = newValue } }
    }
    var stop: Bool { reason != nil }
}

final class Flag: @unchecked Sendable {
    private let lock = NSLock()
    private var value = false
    func set() { lock.withLock { value = true } }
    var isSet: Bool { lock.withLock { value } }
}
