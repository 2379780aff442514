import Foundation
import MouthpieceCore

/// The store that keeps everything in this process's memory: for tests, and for trying the
/// service without a disk. Nothing survives the process.
///
/// It answers as `SQLiteStore` does, call for call (the conformance suite runs on both): the same
/// orderings and cursors, leases, attempts and outbox schedule. Being an actor, it runs one call
/// at a time, and no call awaits anything midway (keep it so), so every call takes effect whole
/// or not at all, as a database transaction would.
/// Its calls are declared `throws` like the databases' (even those that cannot fail), so that code
/// written against one store compiles unchanged against another.
public actor MemoryStore: DataStore {
    /// A video as the databases keep its row: the job, and what the job type does not show.
    private struct VideoRow {
        var job: VideoJob
        var leaseOwner: String?
        var leaseExpires: Date?
        var outputSeconds: Double?
        var deletedAt: Date?

        /// Rendering, but its worker stopped renewing the lease in time.
        func leaseRanOut(at now: Date) -> Bool {
            job.status == .processing && leaseExpires.map { $0 < now } ?? false
        }
    }

    /// A webhook delivery as the databases keep its row, with its log of attempts (oldest first).
    private struct DeliveryRow {
        var delivery: WebhookDelivery
        var leaseOwner: String?
        var leaseExpires: Date?
        var log: [WebhookAttempt] = []

        /// Waiting to be sent, its time has come, and no sender holds it.
        func isDue(at now: Date) -> Bool {
            delivery.status == .pending && delivery.nextAttemptAt.map { $0 <= now } ?? false
                && leaseExpires.map { $0 < now } ?? true
        }
    }

    private struct IdempotencyKey: Hashable {
        let keyID: String
        let key: String
    }

    private var keysByID: [String: APIKey] = [:]
    private var keyIDsBySecretHash: [String: String] = [:]
    private var avatarRows: [Avatar] = []
    // Rows are kept in the order they were added, so that a tie in time (which the databases
    // leave to chance) goes to the older row. Videos and deliveries are never removed (a deleted
    // video keeps its row for usage), so their positions stay valid.
    private var videoRows: [VideoRow] = []
    private var videoPositions: [String: Int] = [:]
    private var idempotencyRecords: [IdempotencyKey: String] = [:]
    private var deliveryRows: [DeliveryRow] = []
    private var deliveryPositions: [String: Int] = [:]
    private var settings: [String: String] = [:]

    public init() {}

    // MARK: keys

    public func createKey(name: String, quotaSeconds: Double?, concurrency: Int, plan: String?) throws -> (
        APIKey, secret: String
    ) {
        let (key, secret) = StoreRules.newKey(
            name: name, quotaSeconds: quotaSeconds, concurrency: concurrency, plan: plan)
        keysByID[key.id] = key
        keyIDsBySecretHash[StoreRules.hash(secret)] = key.id
        return (key, secret)
    }

    public func key(secret: String) throws -> APIKey? {
        keyIDsBySecretHash[StoreRules.hash(secret)].flatMap { keysByID[$0] }
    }

    /// The databases refuse a row of a key that does not exist (a foreign key); so does this store.
    private func requireKey(_ keyID: String) throws {
        guard keysByID[keyID] != nil else {
            throw MouthpieceError(.internalError, "There is no API key \(keyID) to store this for.")
        }
    }

    // MARK: lexicon

    /// Each key's entries by folded word.
    private var lexicons: [String: [String: LexiconEntry]] = [:]

    public func lexicon(keyID: String) throws -> [LexiconEntry] {
        (lexicons[keyID] ?? [:]).sorted { $0.key < $1.key }.map(\.value)
    }

    public func setLexiconEntry(_ entry: LexiconEntry, keyID: String) throws {
        try requireKey(keyID)
        lexicons[keyID, default: [:]][entry.folded] = entry
    }

    public func removeLexiconEntry(word: String, keyID: String) throws -> Bool {
        lexicons[keyID]?.removeValue(forKey: LexiconEntry.fold(word)) != nil
    }

    public func replaceLexicon(_ entries: [LexiconEntry], keyID: String) throws {
        try requireKey(keyID)
        lexicons[keyID] = Dictionary(entries.map { ($0.folded, $0) }, uniquingKeysWith: { _, last in last })
    }

    // MARK: avatars

    public func addAvatar(_ avatar: Avatar) throws {
        try requireKey(avatar.keyID)
        guard !avatarRows.contains(where: { $0.id == avatar.id }) else {
            throw MouthpieceError(.internalError, "There is already an avatar \(avatar.id).")
        }
        avatarRows.append(avatar)
    }

    public func avatar(_ id: String, keyID: String) throws -> Avatar? {
        avatarRows.first { $0.id == id && $0.keyID == keyID }
    }

    public func avatars(keyID: String, limit: Int) throws -> [Avatar] {
        let mine = avatarRows.filter { $0.keyID == keyID }
        return Self.first(limit, of: mine.sorted { Self.newestFirst(($0.createdAt, $0.id), ($1.createdAt, $1.id)) })
    }

    public func deleteAvatar(_ id: String, keyID: String) throws -> Avatar? {
        guard let index = avatarRows.firstIndex(where: { $0.id == id && $0.keyID == keyID }) else { return nil }
        return avatarRows.remove(at: index)
    }

    // MARK: submitting and finding jobs

    public func submit(_ job: VideoJob, idempotencyKey: String?) throws -> (VideoJob, created: Bool) {
        if let idempotencyKey,
            let earlier = idempotencyRecords[IdempotencyKey(keyID: job.keyID, key: idempotencyKey)].flatMap(row)
        {
            return (earlier.job, false)
        }
        try requireKey(job.keyID)
        guard videoPositions[job.id] == nil else {
            throw MouthpieceError(.internalError, "There is already a video \(job.id).")
        }
        // A submission stores the job's inputs; everything else starts as a new row's defaults.
        var stored = VideoJob.queued(
            id: job.id, keyID: job.keyID, options: job.options, imageBlob: job.imageBlob, audioBlob: job.audioBlob,
            webhookURL: job.webhookURL, createdAt: job.createdAt, priority: job.priority)
        stored.status = job.status
        videoPositions[job.id] = videoRows.count
        videoRows.append(VideoRow(job: stored))
        if let idempotencyKey {
            idempotencyRecords[IdempotencyKey(keyID: job.keyID, key: idempotencyKey)] = job.id
        }
        return (job, true)
    }

    private func row(_ id: String) -> VideoRow? {
        videoPositions[id].map { videoRows[$0] }
    }

    /// A deleted video is still found here, as the databases' join finds it.
    public func video(idempotencyKey: String, keyID: String) throws -> VideoJob? {
        idempotencyRecords[IdempotencyKey(keyID: keyID, key: idempotencyKey)].flatMap(row)?.job
    }

    public func video(_ id: String, keyID: String) throws -> VideoJob? {
        row(id).flatMap { $0.job.keyID == keyID && $0.deletedAt == nil ? $0.job : nil }
    }

    public func video(_ id: String) throws -> VideoJob? {
        row(id)?.job
    }

    public func videos(keyID: String, after cursor: String?, limit: Int) throws -> [VideoJob] {
        // The cursor may have been deleted since (by its owner or the retention sweep): it still
        // marks the place, so it is looked up deleted or not.
        let anchor = cursor.flatMap(row).flatMap { $0.job.keyID == keyID ? $0.job : nil }
        let page = videoRows.filter { row in
            row.job.keyID == keyID && row.deletedAt == nil
                && anchor.map { Self.newestFirst(($0.createdAt, $0.id), (row.job.createdAt, row.job.id)) } ?? true
        }.map(\.job)
        return Self.first(limit, of: page.sorted { Self.newestFirst(($0.createdAt, $0.id), ($1.createdAt, $1.id)) })
    }

    public func deleteVideo(_ id: String, keyID: String) throws -> (VideoJob, deleted: Bool)? {
        guard let index = videoPositions[id], videoRows[index].job.keyID == keyID, videoRows[index].deletedAt == nil
        else { return nil }
        let job = videoRows[index].job
        guard job.status.isFinal else { return (job, false) }
        videoRows[index].deletedAt = Date()
        videoRows[index].job = job.withoutFiles
        return (job, true)
    }

    public func expiredVideos(finishedBefore cutoff: Date, limit: Int) throws -> [VideoJob] {
        let expired = videoRows.filter { row in
            row.deletedAt == nil && row.job.status.isFinal && row.job.finishedAt.map { $0 < cutoff } ?? false
        }.map(\.job)
        return Self.first(
            limit, of: expired.sorted { ($0.finishedAt ?? .distantPast) < ($1.finishedAt ?? .distantPast) })
    }

    public func queuePosition(of job: VideoJob) throws -> Int {
        videoRows.count { $0.job.status == .queued && $0.job.createdAt < job.createdAt }
    }

    public func inFlightCount(keyID: String) throws -> Int {
        videoRows.count { $0.job.keyID == keyID && ($0.job.status == .queued || $0.job.status == .processing) }
    }

    public func processingCount(keyID: String) throws -> Int {
        videoRows.count { $0.job.keyID == keyID && $0.job.status == .processing }
    }

    public func statusCounts() throws -> [VideoStatus: Int] {
        videoRows.reduce(into: [:]) { counts, row in counts[row.job.status, default: 0] += 1 }
    }

    // MARK: leases

    public func claim(owner: String, lease: TimeInterval) throws -> VideoJob? {
        let now = Date()
        // A job whose worker died after its cancel was asked for ends canceled, never rendered again.
        for index in videoRows.indices
        where videoRows[index].leaseRanOut(at: now) && videoRows[index].job.cancelRequested {
            videoRows[index].job.status = .canceled
            videoRows[index].job.finishedAt = now
            videoRows[index].job.errorCode = "canceled"
            videoRows[index].job.errorMessage = "Canceled."
            videoRows[index].leaseOwner = nil
            videoRows[index].leaseExpires = nil
        }
        // Each key renders at most its concurrency at once; among the others, the key served
        // least recently goes first (then the oldest job), so one busy key cannot starve the rest.
        var rendering: [String: Int] = [:]
        var served: [String: Date] = [:]
        for row in videoRows {
            if row.job.status == .processing && !row.leaseRanOut(at: now) { rendering[row.job.keyID, default: 0] += 1 }
            if let started = row.job.startedAt {
                served[row.job.keyID] = max(served[row.job.keyID] ?? started, started)
            }
        }
        let claimable = videoRows.indices.filter {
            let job = videoRows[$0].job
            return (job.status == .queued || videoRows[$0].leaseRanOut(at: now))
                && rendering[job.keyID, default: 0] < (keysByID[job.keyID]?.concurrency ?? 0)
        }
        let rows = videoRows
        let order = { (index: Int) in
            (-rows[index].job.priority, served[rows[index].job.keyID] ?? .distantPast, rows[index].job.createdAt)
        }
        guard let index = claimable.min(by: { order($0) < order($1) }) else { return nil }
        var row = videoRows[index]
        if row.job.status == .processing {
            row.job.errorCode = StoreRules.workerLostCode
            row.job.errorMessage = StoreRules.workerLostMessage
        }
        row.job.status = .processing
        row.leaseOwner = owner
        row.leaseExpires = now + lease
        row.job.startedAt = row.job.startedAt ?? now
        row.job.attempts += 1
        row.job.progress = 0
        videoRows[index] = row
        return row.job
    }

    /// Where the job is, if `owner` holds its lease (whether or not the lease has run out: until
    /// another worker claims it, it is still theirs).
    private func heldPosition(_ id: String, owner: String) -> Int? {
        videoPositions[id].flatMap { index in
            videoRows[index].leaseOwner == owner && videoRows[index].job.status == .processing ? index : nil
        }
    }

    public func heartbeat(_ id: String, owner: String, progress: Double, lease: TimeInterval) throws -> Bool {
        guard let index = heldPosition(id, owner: owner) else { return false }
        videoRows[index].job.progress = progress
        videoRows[index].leaseExpires = Date() + lease
        return !videoRows[index].job.cancelRequested
    }

    @discardableResult
    public func finish(
        _ id: String, owner: String, status: VideoStatus, resultBlob: String?, result: String?,
        outputSeconds: Double?, errorCode: String?, errorMessage: String?,
        webhook: (@Sendable (VideoJob) throws -> (event: String, payload: String))?
    ) throws -> Bool {
        guard let index = heldPosition(id, owner: owner) else { return false }
        let now = Date()
        var row = videoRows[index]
        row.job.status = status
        row.job.finishedAt = now
        if status == .completed { row.job.progress = 1 }
        row.job.resultBlob = resultBlob
        row.job.result = result
        row.outputSeconds = outputSeconds
        row.job.errorCode = errorCode
        row.job.errorMessage = errorMessage
        row.leaseOwner = nil
        row.leaseExpires = nil
        // The message is made before anything is stored: if making it fails, the job stays as it
        // was, as the databases roll the transaction back.
        if status == .completed || status == .failed, let url = row.job.webhookURL, let webhook {
            let message = try webhook(row.job)
            enqueueWebhook(
                keyID: row.job.keyID, videoID: row.job.id, event: message.event, url: url, payload: message.payload,
                at: now)
        }
        videoRows[index] = row
        return true
    }

    public func release(_ id: String, owner: String, errorCode: String?, errorMessage: String?) throws {
        guard let index = heldPosition(id, owner: owner) else { return }
        var row = videoRows[index]
        let canceled = row.job.cancelRequested
        row.job.status = canceled ? .canceled : .queued
        row.job.finishedAt = canceled ? Date() : nil
        row.leaseOwner = nil
        row.leaseExpires = nil
        row.job.progress = 0
        // A hand-back without an error (a worker shutting down) does not use up an attempt.
        if errorCode == nil { row.job.attempts -= 1 }
        row.job.errorCode = canceled ? "canceled" : errorCode ?? row.job.errorCode
        row.job.errorMessage = canceled ? "Canceled." : errorMessage ?? row.job.errorMessage
        videoRows[index] = row
    }

    public func cancel(_ id: String, keyID: String) throws -> VideoJob? {
        guard let index = videoPositions[id], videoRows[index].job.keyID == keyID else { return nil }
        switch videoRows[index].job.status {
        case .queued:
            videoRows[index].job.status = .canceled
            videoRows[index].job.finishedAt = Date()
        case .processing:
            videoRows[index].job.cancelRequested = true
        case .completed, .failed, .canceled:
            break
        }
        return videoRows[index].job
    }

    // MARK: usage

    public func usage(keyID: String) throws -> (total: Double, byDay: [(day: String, seconds: Double, videos: Int)]) {
        let completed = videoRows.filter { $0.job.keyID == keyID && $0.job.status == .completed }
        let total = completed.reduce(0) { $0 + ($1.outputSeconds ?? 0) }
        var days: [String: (seconds: Double, videos: Int)] = [:]
        // Every completed job has a finish time (`finish` sets it).
        for row in completed {
            guard let finishedAt = row.job.finishedAt else { continue }
            let day = Self.utcDay(finishedAt)
            days[day, default: (0, 0)].seconds += row.outputSeconds ?? 0
            days[day, default: (0, 0)].videos += 1
        }
        return (total, days.sorted { $0.key > $1.key }.map { ($0.key, $0.value.seconds, $0.value.videos) })
    }

    /// The UTC day of `date`, as SQLite's `date(..., 'unixepoch')` writes it: `2024-05-31`.
    private static func utcDay(_ date: Date) -> String {
        date.formatted(Date.ISO8601FormatStyle(timeZone: .gmt).year().month().day())
    }

    // MARK: webhook outbox

    private func enqueueWebhook(
        keyID: String, videoID: String, event: String, url: String, payload: String, at now: Date
    ) {
        let delivery = WebhookDelivery(
            id: StoreRules.newWebhookID(), keyID: keyID, videoID: videoID, event: event, url: url, payload: payload,
            status: .pending, attempts: 0, nextAttemptAt: now, createdAt: now, deliveredAt: nil)
        deliveryPositions[delivery.id] = deliveryRows.count
        deliveryRows.append(DeliveryRow(delivery: delivery))
    }

    public func claimWebhook(owner: String, lease: TimeInterval) throws -> WebhookDelivery? {
        let now = Date()
        let due = deliveryRows.indices.filter { deliveryRows[$0].isDue(at: now) }
        let nextAttempt = { (index: Int) in self.deliveryRows[index].delivery.nextAttemptAt ?? .distantPast }
        guard let index = due.min(by: { nextAttempt($0) < nextAttempt($1) }) else { return nil }
        deliveryRows[index].leaseOwner = owner
        deliveryRows[index].leaseExpires = now + lease
        return deliveryRows[index].delivery
    }

    @discardableResult
    public func recordWebhookAttempt(
        _ id: String, owner: String, statusCode: Int?, error: String?, milliseconds: Double, jitter: Double,
        retryAfter: TimeInterval?
    ) throws -> WebhookDelivery? {
        guard let index = deliveryPositions[id], deliveryRows[index].leaseOwner == owner else { return nil }
        let now = Date()
        var row = deliveryRows[index]
        // `attempts` counts this schedule's tries (a manual resend starts a new schedule); the
        // log numbers every try ever made.
        let attempt = row.delivery.attempts + 1
        let logged = (row.log.last?.attempt ?? 0) + 1
        row.log.append(
            WebhookAttempt(attempt: logged, at: now, statusCode: statusCode, error: error, milliseconds: milliseconds))
        let (status, delay) = StoreRules.webhookOutcome(
            attempt: attempt, statusCode: statusCode, jitter: jitter, retryAfter: retryAfter)
        row.delivery.attempts = attempt
        row.delivery.status = status
        row.delivery.nextAttemptAt = status == .pending ? now + (delay ?? 0) : nil
        row.delivery.deliveredAt = status == .delivered ? now : nil
        row.leaseOwner = nil
        row.leaseExpires = nil
        deliveryRows[index] = row
        return row.delivery
    }

    public func retryWebhook(_ id: String, keyID: String) throws -> (delivery: WebhookDelivery, queued: Bool)? {
        guard let index = deliveryPositions[id], deliveryRows[index].delivery.keyID == keyID else { return nil }
        let queued = deliveryRows[index].delivery.status != .delivered
        if queued {
            if deliveryRows[index].delivery.status == .failed { deliveryRows[index].delivery.attempts = 0 }
            deliveryRows[index].delivery.status = .pending
            deliveryRows[index].delivery.nextAttemptAt = Date()
        }
        return (deliveryRows[index].delivery, queued)
    }

    public func webhook(_ id: String, keyID: String) throws -> (WebhookDelivery, [WebhookAttempt])? {
        guard let index = deliveryPositions[id], deliveryRows[index].delivery.keyID == keyID else { return nil }
        return (deliveryRows[index].delivery, deliveryRows[index].log)
    }

    public func webhooks(keyID: String, videoID: String?, limit: Int) throws -> [(WebhookDelivery, [WebhookAttempt])] {
        let mine = deliveryRows.filter { row in
            row.delivery.keyID == keyID && videoID.map { row.delivery.videoID == $0 } ?? true
        }
        let newestFirst = mine.sorted {
            Self.newestFirst(($0.delivery.createdAt, $0.delivery.id), ($1.delivery.createdAt, $1.delivery.id))
        }
        return Self.first(limit, of: newestFirst).map { ($0.delivery, $0.log) }
    }

    public func webhookSecret(keyID: String) throws -> String? {
        keysByID[keyID]?.webhookSecret
    }

    public func webhookCounts() throws -> [WebhookDelivery.Status: Int] {
        deliveryRows.reduce(into: [:]) { counts, row in counts[row.delivery.status, default: 0] += 1 }
    }

    // MARK: settings

    public func sharedSecret(_ name: String, proposed: String) throws -> String {
        if let stored = settings[name] { return stored }
        settings[name] = proposed
        return proposed
    }

    /// The schema versions whose tables this store stands in for: the databases' list, written
    /// out rather than borrowed, so that a new migration fails the conformance suite here until
    /// this store learns what it changed.
    public func appliedMigrations() throws -> [String] {
        ["v1", "v2-avatars", "v3-webhooks", "v4-scale-out", "v5-retention", "v6-consent", "v7-plans", "v8-lexicon"]
    }

    // MARK: ordering

    /// Whether `a` comes before `b` newest first, as the databases order pages: by time, then by
    /// id, compared byte by byte (SQLite's default collation).
    private static func newestFirst(_ a: (Date, String), _ b: (Date, String)) -> Bool {
        a.0 != b.0 ? a.0 > b.0 : b.1.utf8.lexicographicallyPrecedes(a.1.utf8)
    }

    /// The first `limit` rows; a negative limit is no limit, as SQLite reads `LIMIT -1`.
    private static func first<Row>(_ limit: Int, of rows: [Row]) -> [Row] {
        limit < 0 ? rows : Array(rows.prefix(limit))
    }
}

extension VideoJob {
    /// The job as a deleted video's row keeps it: counted in usage, but with no files to serve.
    fileprivate var withoutFiles: VideoJob {
        VideoJob(
            id: id, keyID: keyID, status: status, options: options, imageBlob: "", audioBlob: "",
            webhookURL: webhookURL, createdAt: createdAt, startedAt: startedAt, finishedAt: finishedAt,
            progress: progress, attempts: attempts, errorCode: errorCode, errorMessage: errorMessage, resultBlob: nil,
            result: result, cancelRequested: cancelRequested)
    }
}
