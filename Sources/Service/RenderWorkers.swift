import Foundation
import Logging
import MouthpieceCore
import Pipeline
import ServiceLifecycle
import Speech
import Store

/// How render workers behave: in `serve` (in-process) and in `mouthpiece worker` (render-only).
public struct WorkerOptions: Sendable {
    /// Render threads in this process.
    public var count: Int
    /// Seconds a claim holds a job without a heartbeat (renewed every second while rendering).
    public var lease: TimeInterval = 10
    /// Claims of one job before it is marked failed with its last error: renders that failed in
    /// a way another attempt might not (disk full, a store that went away), or workers that died.
    public var maxAttempts = 3
    /// Where renders are written before they are moved into the blob store (a local disk when
    /// the blob store is a shared filesystem); nil writes straight into the blob store.
    public var scratchDirectory: String?
    /// Free space the output disk must have before this worker claims a job.
    public var minimumFreeBytes: Int64 = 64 << 20
    /// Prefix of the links in webhook messages.
    public var publicURL = ""

    public init(count: Int) { self.count = count }
}

/// Render workers: each claims the oldest queued job with a lease, renders it on a thread of its
/// own (renders are long and CPU-bound; they must not hold the server's threads), renews the
/// lease every second while reporting progress, and records the result.
///
/// A job whose process dies is claimed again once its lease runs out; one whose render fails in
/// a way that may pass on another attempt (no space left, a store gone for a while) goes back to
/// the queue with its error, and this worker waits before claiming again, so that another takes
/// it. After `maxAttempts` claims a job is marked failed with its last error. A worker whose
/// lease was taken over discards its render: only the lease holder's result is ever served. On
/// graceful shutdown (SIGTERM) workers stop claiming and hand their jobs back to the queue.
public struct RenderWorkers: Service {
    let store: any DataStore
    let blobs: any BlobStorage
    let options: WorkerOptions
    let logger: Logger
    let metrics: ServiceMetrics?
    /// Signed file links, for webhooks in another protocol's shape (fal's carries the file URL).
    let links: FileLinks?

    init(
        store: any DataStore, blobs: any BlobStorage, options: WorkerOptions, metrics: ServiceMetrics?,
        links: FileLinks?, logger: Logger
    ) {
        self.store = store
        self.blobs = blobs
        self.options = options
        self.metrics = metrics
        self.links = links
        self.logger = logger
    }

    public func run() async throws {
        if let scratch = options.scratchDirectory {
            try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
            // Renders of workers killed on this machine: untouched for 15 minutes, nobody's.
            let swept = BlobStore.sweep(scratch, olderThan: 900)
            if swept > 0 { logger.info("removed \(swept) files left in the scratch directory by killed workers") }
        }
        let stopping = Flag()
        try await withGracefulShutdownHandler {
            try await withThrowingTaskGroup(of: Void.self) { group in
                for index in 0..<options.count {
                    let owner =
                        "\(ProcessInfo.processInfo.hostName)/\(getpid())/\(index)/\(StoreRules.randomToken(bytes: 4))"
                    group.addTask { try await loop(owner: owner, stopping: stopping) }
                }
                try await group.waitForAll()
            }
        } onGracefulShutdown: {
            stopping.set()
        }
    }

    func loop(owner: String, stopping: Flag) async throws {
        var lastSpaceWarning = ContinuousClock.now - .seconds(3600)
        var failuresInARow = 0
        while !stopping.isSet && !Task.isCancelled {
            let free = BlobStore.freeBytes(options.scratchDirectory ?? blobs.path(""))
            if let free, free < options.minimumFreeBytes {
                if lastSpaceWarning.duration(to: .now) > .seconds(60) {
                    logger.warning(
                        "not claiming jobs: too little free space for renders",
                        metadata: ["free_mb": .stringConvertible(free >> 20)])
                    lastSpaceWarning = .now
                }
                try? await Task.sleep(for: .seconds(2))
                continue
            }
            do {
                if let job = try await store.claim(owner: owner, lease: options.lease) {
                    // After a failure that may pass elsewhere, leave the job to other workers a while,
                    // longer after each failure in a row (5 s, 10 s, 20 s... up to 5 minutes).
                    if await process(job, owner: owner, stopping: stopping) {
                        failuresInARow += 1
                        let wait = min(300, 5 << min(failuresInARow - 1, 6))
                        logger.warning("waiting before claiming again", metadata: ["seconds": .stringConvertible(wait)])
                        // In steps, so that a shutdown does not wait for the end of the pause.
                        for _ in 0..<wait where !stopping.isSet { try? await Task.sleep(for: .seconds(1)) }
                    } else {
                        failuresInARow = 0
                    }
                    continue
                }
            } catch {
                // A busy or briefly unavailable store must not stop the workers: try again shortly.
                logger.warning("could not claim a job: \(Self.describe(error))")
                try? await Task.sleep(for: .seconds(1))
            }
            try? await Task.sleep(for: .milliseconds(200))
        }
    }

    /// Renders one claimed job and records what became of it; true when it failed in a way that
    /// another attempt (elsewhere) may not, and went back to the queue.
    func process(_ job: VideoJob, owner: String, stopping: Flag) async -> Bool {
        var log = logger
        log[metadataKey: "job_id"] = .string(job.id)
        if job.attempts > options.maxAttempts {
            let code = job.errorCode ?? StoreRules.workerLostCode
            let message =
                (job.errorMessage ?? StoreRules.workerLostMessage) + " Gave up after \(options.maxAttempts) attempts."
            let recorded = await record(log, stopping) {
                try await store.finish(
                    job.id, owner: owner, status: .failed, errorCode: code, errorMessage: message, webhook: webhook)
            }
            if recorded == true {
                metrics?.rendered(status: .failed, wall: .zero, outputSeconds: nil)
                log.warning(
                    "failed for good", metadata: ["code": .string(code), "attempts": .stringConvertible(job.attempts)])
            }
            return false
        }
        log.info("rendering", metadata: ["attempt": .stringConvertible(job.attempts)])
        let state = RenderState()
        let scratchPath = options.scratchDirectory.map { "\($0)/\(job.id)-\(job.attempts).mp4" }
        let output = scratchPath.map { (id: "", path: $0) } ?? blobs.reservePath(suffix: ".mp4")
        let render: @Sendable ((RenderProgress) -> Void, () -> Bool) throws -> RenderSummary
        do {
            let stored = try Self.options(from: job.options)
            var options = stored.options
            // Renders side by side share the cores: each encoder gets its share, at least one.
            options.encoderThreads = max(1, ProcessInfo.processInfo.activeProcessorCount / max(1, self.options.count))
            let sound: RenderJob.Sound = stored.script.map { .script($0) } ?? .audio(path: blobs.path(job.audioBlob))
            switch stored.input {
            case .image:
                let renderJob = RenderJob(
                    imagePath: blobs.path(job.imageBlob), sound: sound, outputPath: output.path, options: options)
                render = { try renderJob.run(progress: $0, shouldStop: $1) }
            case .video(let mode), .clone(let mode):
                var lipSync = LipSyncJob(
                    videoPath: blobs.path(job.imageBlob), sound: sound, outputPath: output.path, syncMode: mode,
                    options: options)
                if case .clone = stored.input { lipSync.clone = true }
                if let track = stored.trackBlob,
                    let bytes = FileManager.default.contents(atPath: blobs.path(track))
                {
                    lipSync.useKnownTrack(serialized: [UInt8](bytes))
                }
                let ready = lipSync
                render = { try ready.run(progress: $0, shouldStop: $1) }
            }
        } catch {
            await record(log, stopping) {
                try await store.finish(
                    job.id, owner: owner, status: .failed, errorCode: "internal_error", errorMessage: "\(error)",
                    webhook: webhook)
            }
            return false
        }
        // A task renews the lease and watches for cancels until the outcome is recorded; the
        // render runs on its own thread.
        let heartbeat = Task {
            while !state.finished {
                try? await Task.sleep(for: .seconds(1))
                if state.finished { break }
                if stopping.isSet && state.reason == nil { state.reason = .shutdown }
                let keep =
                    (try? await store.heartbeat(
                        job.id, owner: owner, progress: state.progress, lease: options.lease)) ?? true
                if !keep { state.reason = .canceled }
            }
        }
        defer {
            state.finished = true
            heartbeat.cancel()
        }
        let started = ContinuousClock.now
        var outcome: Result<RenderSummary, any Error>
        do {
            outcome = .success(
                try await Offload.run(priority: .background) {
                    try render({ state.progress = $0.fraction }, { state.stop })
                })
        } catch {
            outcome = .failure(error)
        }
        let wall = started.duration(to: .now)
        var resultBlob = output.id
        if case .success = outcome, let scratchPath {
            do {
                let captions = Captions.paths(besides: scratchPath)
                resultBlob = try blobs.adopt(scratchPath, sidecars: [captions.srt, captions.vtt])
            } catch {
                outcome = .failure(error)
            }
        }
        if case .failure = outcome, let scratchPath { BlobStore.removeVideo(scratchPath) }
        switch outcome {
        case .success(let summary):
            let facts = Self.facts(summary)
            let recorded = await record(log, stopping) {
                try await store.finish(
                    job.id, owner: owner, status: .completed, resultBlob: resultBlob, result: facts,
                    outputSeconds: summary.duration, webhook: webhook)
            }
            guard recorded == true else {
                // Either another worker holds the job now (this one lost its lease: its result
                // counts), or the store took the result but its answer was lost: ask which.
                guard let stored = try? await store.video(job.id) else {
                    log.error(
                        "could not tell whether the result was recorded; render kept",
                        metadata: ["blob": .string(resultBlob)])
                    return false
                }
                if stored.resultBlob != resultBlob {
                    blobs.remove(resultBlob)
                    log.warning("lease lost; render discarded")
                    return false
                }
                log.info("completed (recorded on a retry)")
                return false
            }
            metrics?.rendered(status: .completed, wall: wall, outputSeconds: summary.duration)
            log.info(
                "completed",
                metadata: [
                    "output_seconds": .stringConvertible(summary.duration),
                    "render_seconds": .stringConvertible((wall.inSeconds * 1000).rounded() / 1000),
                ])
        case .failure(let error as MouthpieceError) where error.code == .canceled && state.reason == .shutdown:
            await record(log, stopping) { try await store.release(job.id, owner: owner) }
            log.info("handed back at shutdown")
        case .failure(let error as MouthpieceError) where error.code == .canceled:
            let recorded = await record(log, stopping) {
                try await store.finish(
                    job.id, owner: owner, status: .canceled, errorCode: "canceled", errorMessage: "Canceled.")
            }
            if recorded == true {
                metrics?.rendered(status: .canceled, wall: wall, outputSeconds: nil)
                log.info("canceled")
            } else {
                log.warning("lease lost; render stopped")
            }
        case .failure(let error):
            let failure =
                (error as? MouthpieceError)
                ?? MouthpieceError(.internalError, Self.describe(error))
            if Self.mayPassElsewhere(failure.code) {
                await record(log, stopping) {
                    try await store.release(
                        job.id, owner: owner, errorCode: failure.code.rawValue, errorMessage: failure.message)
                }
                log.warning(
                    "failed; back to the queue for another attempt",
                    metadata: ["code": .string(failure.code.rawValue), "error": .string(failure.message)])
                return true
            }
            let recorded = await record(log, stopping) {
                try await store.finish(
                    job.id, owner: owner, status: .failed, errorCode: failure.code.rawValue,
                    errorMessage: failure.message, webhook: webhook)
            }
            if recorded == true {
                metrics?.rendered(status: .failed, wall: wall, outputSeconds: nil)
                log.info("failed", metadata: ["code": .string(failure.code.rawValue)])
            }
        }
        return false
    }

    /// Runs a store write, trying again for a while if the store is unreachable (a database
    /// restarting): the lease keeps being renewed meanwhile. Nil if it never went through.
    @discardableResult
    func record<T: Sendable>(_ log: Logger, _ stopping: Flag, _ write: () async throws -> T) async -> T? {
        // Shutting down, a short wait: a lease that runs out hands the job back anyway.
        let deadline = ContinuousClock.now + .seconds(stopping.isSet ? 10 : 120)
        while true {
            do {
                return try await write()
            } catch {
                guard ContinuousClock.now < deadline, !Task.isCancelled else {
                    log.error("could not record the outcome: \(Self.describe(error))")
                    return nil
                }
                log.warning("could not record the outcome yet, trying again: \(Self.describe(error))")
                try? await Task.sleep(for: .seconds(1))
            }
        }
    }

    /// Errors of the machine or the moment, not of the input: worth another attempt.
    static func mayPassElsewhere(_ code: MouthpieceError.Code) -> Bool {
        [.outputNotWritable, .encodingFailed, .internalError, .modelUnavailable, .inputNotFound].contains(code)
    }

    static func describe(_ error: any Error) -> String {
        (error as? MouthpieceError)?.message ?? String(reflecting: error)
    }

    /// What a finished render made, as stored with the job (JSON).
    static func facts(_ summary: RenderSummary) -> String {
        var facts: [String: Any] = [
            "duration": summary.duration, "width": summary.width, "height": summary.height, "fps": summary.fps,
            "file_size": summary.bytes, "content_type": "video/mp4", "frames": summary.frames,
            "warnings": summary.warnings.map(\.rawValue),
        ]
        if !summary.captions.isEmpty { facts["caption_cues"] = summary.captions.count }
        let data = (try? JSONSerialization.data(withJSONObject: facts, options: [.sortedKeys])) ?? Data("{}".utf8)
        return String(decoding: data, as: UTF8.self)
    }

    /// The message for a finished job's webhook, if it asked for one.
    @Sendable func webhook(_ job: VideoJob) throws -> (event: String, payload: String) {
        let stored = (try? JSONSerialization.jsonObject(with: Data(job.options.utf8))) as? [String: Any]
        if let proto = stored?["protocol"] as? [String: String], proto["name"] == "fal", let links {
            let base = options.publicURL.isEmpty ? proto["base"] ?? "" : options.publicURL
            return try FalRoutes.webhook(job, base: base, links: links)
        }
        if let proto = stored?["protocol"] as? [String: String], proto["name"] == "sync", let links {
            let base = options.publicURL.isEmpty ? proto["base"] ?? "" : options.publicURL
            return try SyncRoutes.webhook(job, base: base, links: links)
        }
        return try VideoJSON.webhook(job, baseURL: options.publicURL)
    }

    /// The render options stored with a job, and its script if it has one.
    /// What a job stored at submission asks for.
    struct StoredJob {
        enum Input {
            case image
            /// Re-lip-sync the video (`imageBlob`) with this sync mode.
            case video(SyncMode)
            /// Clone a video avatar.
            case clone(SyncMode)
        }
        var options: RenderOptions
        var script: Script?
        var input: Input
        /// A video avatar's face track, kept from when it was made.
        var trackBlob: String? = nil
    }

    static func options(from json: String) throws -> StoredJob {
        let object = (try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any]) ?? [:]
        var options = try RenderOptions.parse(
            resolution: object["resolution"] as? String, fps: object["fps"] as? Int,
            aspect: object["aspect"] as? String,
            seed: (object["seed"] as? NSNumber)?.uint64Value, expressiveness: object["expressiveness"] as? Double,
            faceIndex: object["face_index"] as? Int, headMotion: object["head_motion"] as? Double)
        let mode = try SyncMode.parse(object["sync_mode"] as? String ?? "bounce")
        let input: StoredJob.Input =
            switch object["input"] as? String {
            case "video": .video(mode)
            case "clone": .clone(mode)
            default: .image
            }
        let trackBlob = object["track_blob"] as? String
        guard let script = object["script"] as? [String: Any], let text = script["text"] as? String else {
            return StoredJob(options: options, script: nil, input: input, trackBlob: trackBlob)
        }
        options.burnCaptions = object["burn_captions"] as? Bool ?? false
        return StoredJob(
            options: options,
            script: Script(
                text: text, language: script["language"] as? String ?? "en-us", voice: script["voice"] as? String,
                rate: script["rate"] as? Int ?? 160, pitch: script["pitch"] as? Int ?? 50),
            input: input, trackBlob: trackBlob)
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
