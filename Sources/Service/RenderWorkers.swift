import Foundation
import Logging
import Media
import MouthpieceCore
import Pipeline
import Provenance
import ServiceLifecycle
import Speech
import Store
import Synchronization

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
    /// The mark drawn on outputs of plans with a watermark.
    public var watermark = ServerConfiguration.defaultWatermark

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
    /// Each finished job's webhook message, in the shape of the API face that submitted it.
    let webhooks: WebhookShapes
    /// Signs every output (the deployment's key); nil leaves outputs unsigned.
    var signer: ProvenanceSigner?

    init(
        store: any DataStore, blobs: any BlobStorage, options: WorkerOptions, metrics: ServiceMetrics?,
        links: FileLinks?, signer: ProvenanceSigner?, logger: Logger
    ) {
        self.signer = signer
        self.store = store
        self.blobs = blobs
        self.options = options
        self.metrics = metrics
        webhooks = WebhookShapes(publicURL: options.publicURL, links: links)
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
            await giveUp(job, owner: owner, log: log, stopping: stopping)
            return false
        }
        log.info("rendering", metadata: ["attempt": .stringConvertible(job.attempts)])
        let scratchPath = options.scratchDirectory.map { "\($0)/\(job.id)-\(job.attempts).mp4" }
        let output = scratchPath.map { (id: "", path: $0) } ?? blobs.reservePath(suffix: ".mp4")
        let render: Render
        do {
            render = try prepare(job, outputPath: output.path)
        } catch {
            // A spec no render can use (stored by another version): failed, not retried.
            await record(log, stopping) {
                try await store.finish(
                    job.id, owner: owner, status: .failed, errorCode: "internal_error", errorMessage: "\(error)",
                    webhook: webhooks.message)
            }
            return false
        }
        // The lease is renewed from the start of the render until its outcome is recorded (moving
        // the file in and a store write retried for a while included).
        return await withHeartbeat(job: job, owner: owner, stopping: stopping) { state in
            let started = ContinuousClock.now
            var outcome = await Self.run(render, state: state)
            let reason = state.reason
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
            let done = Finished(
                job: job, owner: owner, wall: started.duration(to: .now), resultBlob: resultBlob, log: log,
                stopping: stopping)
            return await record(Self.decide(outcome, reason: reason), done)
        }
    }

    /// A render ready to run on its own thread: reports progress, stops when asked.
    typealias Render = @Sendable ((RenderProgress) -> Void, () -> Bool) throws -> RenderFacts

    /// The render a job's spec asks for: a portrait animated, a video re-lip-synced, or a video
    /// avatar cloned.
    func prepare(_ job: VideoJob, outputPath: String) throws -> Render {
        let spec = try JobSpec.decode(job.options)
        var options = try spec.renderOptions()
        if spec.watermark == true { options.watermark = self.options.watermark }
        // Renders side by side share the cores: each encoder gets its share, at least one.
        let share = max(1, ProcessInfo.processInfo.activeProcessorCount / max(1, self.options.count))
        options.encoderThreads = share
        options.renderThreads = min(2, share)
        let sound: RenderJob.Sound = spec.script.map { .script($0.script) } ?? .audio(path: blobs.path(job.audioBlob))
        let stamp = signer.map {
            ProvenanceStamp(
                signer: $0, manifest: ProvenanceManifest(avatarID: spec.avatarID, consent: spec.consent, jobID: job.id))
        }
        if let composition = spec.composition {
            var composed = try CompositionJob(
                composition: composition, outputPath: outputPath, files: Videos.blobFiles(blobs))
            composed.options = options
            composed.provenance = stamp
            let ready = composed
            return { RenderFacts(try ready.run(progress: $0, shouldStop: $1)) }
        }
        guard spec.input != .image else {
            var renderJob = RenderJob(
                imagePath: blobs.path(job.imageBlob), sound: sound, outputPath: outputPath, options: options)
            renderJob.provenance = stamp
            return { [renderJob] in RenderFacts(try renderJob.run(progress: $0, shouldStop: $1)) }
        }
        var lipSync = LipSyncJob(
            videoPath: blobs.path(job.imageBlob), sound: sound, outputPath: outputPath,
            syncMode: spec.syncMode ?? .bounce, options: options)
        lipSync.clone = spec.input == .clone
        lipSync.provenance = stamp
        if let track = spec.trackBlob, let bytes = FileManager.default.contents(atPath: blobs.path(track)) {
            lipSync.useKnownTrack(serialized: [UInt8](bytes))
        }
        let ready = lipSync
        return { RenderFacts(try ready.run(progress: $0, shouldStop: $1)) }
    }

    /// Runs `body` while a child task renews the job's lease every second, reports progress and
    /// watches for a cancel or a shutdown (`state.reason`).
    func withHeartbeat<T: Sendable>(
        job: VideoJob, owner: String, stopping: Flag, _ body: (RenderState) async -> T
    ) async -> T {
        let state = RenderState()
        return await withTaskGroup(of: Void.self) { group in
            group.addTask {
                while !Task.isCancelled {
                    try? await Task.sleep(for: .seconds(1))
                    if Task.isCancelled { break }
                    if stopping.isSet { state.stop(.shutdown) }
                    let keep =
                        (try? await store.heartbeat(
                            job.id, owner: owner, progress: state.progress, lease: options.lease)) ?? true
                    if !keep { state.stop(.canceled) }
                }
            }
            let result = await body(state)
            group.cancelAll()
            return result
        }
    }

    /// The render on a thread of its own (renders are long and CPU-bound), reporting progress to
    /// `state` and stopping when it gives a reason.
    static func run(_ render: @escaping Render, state: RenderState) async -> Result<RenderFacts, any Error> {
        do {
            return .success(
                try await Offload.run(priority: .background) {
                    try render({ state.progress = $0.fraction }, { state.reason != nil })
                })
        } catch {
            return .failure(error)
        }
    }

    /// What to record for a render's outcome.
    enum Decision: Equatable {
        /// Rendered: record the result.
        case complete(RenderFacts)
        /// Stopped by a shutdown: back to the queue, no attempt counted.
        case handBack
        /// Stopped by a cancel.
        case cancel
        /// Failed in a way another attempt (elsewhere) may not: back to the queue with the error.
        case retryElsewhere(MouthpieceError)
        /// Failed for good.
        case fail(MouthpieceError)
    }

    /// The decision for an outcome, given why the render was told to stop (if it was).
    static func decide(_ outcome: Result<RenderFacts, any Error>, reason: RenderState.Reason?) -> Decision {
        switch outcome {
        case .success(let facts): return .complete(facts)
        case .failure(let error as MouthpieceError) where error.code == .canceled:
            return reason == .shutdown ? .handBack : .cancel
        case .failure(let error):
            let failure = (error as? MouthpieceError) ?? MouthpieceError(.internalError, describe(error))
            return mayPassElsewhere(failure.code) ? .retryElsewhere(failure) : .fail(failure)
        }
    }

    /// A rendered (or stopped, or failed) job, to be recorded.
    struct Finished {
        let job: VideoJob
        let owner: String
        let wall: Duration
        let resultBlob: String
        let log: Logger
        let stopping: Flag
    }

    /// Records a decision; true when the job went back to the queue after a failure.
    func record(_ decision: Decision, _ done: Finished) async -> Bool {
        let (job, owner, log, stopping) = (done.job, done.owner, done.log, done.stopping)
        switch decision {
        case .complete(let summary):
            await recordCompleted(summary, done)
        case .handBack:
            await record(log, stopping) { try await store.release(job.id, owner: owner) }
            log.info("handed back at shutdown")
        case .cancel:
            let recorded = await record(log, stopping) {
                try await store.finish(
                    job.id, owner: owner, status: .canceled, errorCode: "canceled", errorMessage: "Canceled.")
            }
            if recorded == true {
                metrics?.rendered(status: .canceled, wall: done.wall, outputSeconds: nil)
                log.info("canceled")
            } else {
                log.warning("lease lost; render stopped")
            }
        case .retryElsewhere(let failure):
            await record(log, stopping) {
                try await store.release(
                    job.id, owner: owner, errorCode: failure.code.rawValue, errorMessage: failure.message)
            }
            log.warning(
                "failed; back to the queue for another attempt",
                metadata: ["code": .string(failure.code.rawValue), "error": .string(failure.message)])
            return true
        case .fail(let failure):
            let recorded = await record(log, stopping) {
                try await store.finish(
                    job.id, owner: owner, status: .failed, errorCode: failure.code.rawValue,
                    errorMessage: failure.message, webhook: webhooks.message)
            }
            if recorded == true {
                metrics?.rendered(status: .failed, wall: done.wall, outputSeconds: nil)
                log.info("failed", metadata: ["code": .string(failure.code.rawValue)])
            }
        }
        return false
    }

    /// Records a completed render; a worker that lost its lease meanwhile discards its render.
    func recordCompleted(_ facts: RenderFacts, _ done: Finished) async {
        let (job, owner, log, resultBlob) = (done.job, done.owner, done.log, done.resultBlob)
        let recorded = await record(log, done.stopping) {
            try await store.finish(
                job.id, owner: owner, status: .completed, resultBlob: resultBlob, result: try APIJSON.string(facts),
                outputSeconds: facts.duration, webhook: webhooks.message)
        }
        guard recorded == true else {
            // Either another worker holds the job now (this one lost its lease: its result
            // counts), or the store took the result but its answer was lost: ask which.
            guard let stored = try? await store.video(job.id) else {
                log.error(
                    "could not tell whether the result was recorded; render kept",
                    metadata: ["blob": .string(resultBlob)])
                return
            }
            if stored.resultBlob != resultBlob {
                blobs.remove(resultBlob)
                log.warning("lease lost; render discarded")
                return
            }
            log.info("completed (recorded on a retry)")
            return
        }
        metrics?.rendered(status: .completed, wall: done.wall, outputSeconds: facts.duration)
        log.info(
            "completed",
            metadata: [
                "output_seconds": .stringConvertible(facts.duration),
                "render_seconds": .stringConvertible((done.wall.inSeconds * 1000).rounded() / 1000),
            ])
    }

    /// A job claimed more often than allowed: failed with its last error.
    func giveUp(_ job: VideoJob, owner: String, log: Logger, stopping: Flag) async {
        let code = job.errorCode ?? StoreRules.workerLostCode
        let message =
            (job.errorMessage ?? StoreRules.workerLostMessage) + " Gave up after \(options.maxAttempts) attempts."
        let recorded = await record(log, stopping) {
            try await store.finish(
                job.id, owner: owner, status: .failed, errorCode: code, errorMessage: message,
                webhook: webhooks.message)
        }
        if recorded == true {
            metrics?.rendered(status: .failed, wall: .zero, outputSeconds: nil)
            log.warning(
                "failed for good", metadata: ["code": .string(code), "attempts": .stringConvertible(job.attempts)])
        }
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
}

/// Shared between a render thread and the task watching it.
final class RenderState: Sendable {
    enum Reason { case canceled, shutdown }
    private struct Values {
        var progress = 0.0
        var reason: Reason?
    }
    private let values = Mutex(Values())

    var progress: Double {
        get { values.withLock { $0.progress } }
        set { values.withLock { $0.progress = newValue } }
    }
    /// Why the render was told to stop (the first reason given), nil while it goes on.
    var reason: Reason? { values.withLock { $0.reason } }

    func stop(_ reason: Reason) { values.withLock { $0.reason = $0.reason ?? reason } }
}

/// A flag set once (a shutdown), read by loops.
final class Flag: Sendable {
    private let value = Atomic(false)
    func set() { value.store(true, ordering: .releasing) }
    var isSet: Bool { value.load(ordering: .acquiring) }
}
