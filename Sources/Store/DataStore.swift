import Crypto
import Foundation
import Logging
import ServiceLifecycle

/// Everything the service keeps besides files, by role: API keys, avatars, video jobs with their
/// leases, idempotency records and usage, the webhook outbox, shared settings.
///
/// Three implementations pass one conformance suite: `SQLiteStore` (embedded, one machine),
/// `PostgresStore` (any number of API nodes and workers on any machines) and `MemoryStore`
/// (tests, and trying the service without a disk). Jobs are claimed with a lease that the worker
/// renews while it renders; a job whose worker stops renewing is claimed again once the lease runs
/// out (at-least-once), and only the worker holding the lease can end it.
public typealias DataStore = KeyStore & AvatarStore & JobQueue & UsageStore & WebhookOutboxStore & SettingsStore
    & LexiconStore

/// API keys: created with a secret shown once, found by the secret's hash.
public protocol KeyStore: Sendable {
    /// Creates a key; returns it with its secret, which is shown once and stored only as a hash.
    func createKey(
        name: String, quotaSeconds: Double?, concurrency: Int, plan: String?
    ) async throws -> (APIKey, secret: String)
    /// The key whose secret this is, or nil.
    func key(secret: String) async throws -> APIKey?
}

/// Portraits and video avatars, analysed once, each seen only by its key.
public protocol AvatarStore: Sendable {
    func addAvatar(_ avatar: Avatar) async throws
    func avatar(_ id: String, keyID: String) async throws -> Avatar?
    /// `keyID`'s avatars, newest first.
    func avatars(keyID: String, limit: Int) async throws -> [Avatar]
    /// Removes the avatar; returns it (so its files can go too), or nil if there was none.
    func deleteAvatar(_ id: String, keyID: String) async throws -> Avatar?
}

/// Pronunciations, each key its own (word -> respelling), applied to that key's scripts. A word
/// is one entry whatever its case (`LexiconEntry.folded`).
public protocol LexiconStore: Sendable {
    /// `keyID`'s entries, by folded word.
    func lexicon(keyID: String) async throws -> [LexiconEntry]
    /// Adds the entry, or replaces the one for the same word.
    func setLexiconEntry(_ entry: LexiconEntry, keyID: String) async throws
    /// Removes the entry for `word` (any case); whether there was one.
    func removeLexiconEntry(word: String, keyID: String) async throws -> Bool
    /// Replaces all of `keyID`'s entries at once.
    func replaceLexicon(_ entries: [LexiconEntry], keyID: String) async throws
}

/// Video jobs: submitted (idempotently), claimed with a lease, renewed, finished or handed back,
/// cancelled, listed and deleted, each seen only by its key.
public protocol JobQueue: Sendable {
    /// Adds a queued job, or returns the job an earlier submission with the same idempotency key
    /// made (and `false`).
    func submit(_ job: VideoJob, idempotencyKey: String?) async throws -> (VideoJob, created: Bool)
    /// The job an earlier submission of `keyID` with this idempotency key made, if any.
    func video(idempotencyKey: String, keyID: String) async throws -> VideoJob?
    /// The job, if it exists and belongs to `keyID`.
    func video(_ id: String, keyID: String) async throws -> VideoJob?
    /// A job by id whatever its key: only for callers that have checked a capability (a signed
    /// file link) first.
    func video(_ id: String) async throws -> VideoJob?
    /// A page of `keyID`'s videos, newest first, after the cursor (a video id) if given.
    func videos(keyID: String, after cursor: String?, limit: Int) async throws -> [VideoJob]
    /// Deletes a finished video of `keyID`: the row stays (usage and quotas count it) but is
    /// no longer shown or served, and its files are the caller's to remove. Returns the video as
    /// it was and whether it was deleted (false: not finished yet); nil if there is none.
    func deleteVideo(_ id: String, keyID: String) async throws -> (VideoJob, deleted: Bool)?
    /// Finished videos, not deleted, that finished before `cutoff`, oldest first (retention).
    func expiredVideos(finishedBefore cutoff: Date, limit: Int) async throws -> [VideoJob]
    /// Jobs queued before this one (its place in the queue, 0 = next).
    func queuePosition(of job: VideoJob) async throws -> Int
    /// Jobs of `keyID` queued or rendering.
    func inFlightCount(keyID: String) async throws -> Int
    /// Jobs of `keyID` now rendering.
    func processingCount(keyID: String) async throws -> Int
    /// Jobs by status (for metrics).
    func statusCounts() async throws -> [VideoStatus: Int]

    /// Claims the oldest queued job (or one whose lease ran out) for `owner` for `lease` seconds.
    /// Each claim counts an attempt; a job taken back from a worker that stopped renewing its
    /// lease carries `worker_lost` as its last error.
    func claim(owner: String, lease: TimeInterval) async throws -> VideoJob?
    /// Records progress and extends the lease; false when the job is no longer this owner's, or
    /// a cancel was asked for.
    func heartbeat(_ id: String, owner: String, progress: Double, lease: TimeInterval) async throws -> Bool
    /// Ends a job this owner holds: completed with its result, or failed / canceled with a reason.
    /// Returns false (and changes nothing) when the job is no longer this owner's.
    ///
    /// When the job asked for a webhook and ended completed or failed, `webhook` makes the message
    /// from the finished job, and it is put in the outbox in the same transaction: a job never
    /// ends without its webhook, even if the process dies right after.
    @discardableResult
    func finish(
        _ id: String, owner: String, status: VideoStatus, resultBlob: String?, result: String?,
        outputSeconds: Double?, errorCode: String?, errorMessage: String?,
        webhook: (@Sendable (VideoJob) throws -> (event: String, payload: String))?
    ) async throws -> Bool
    /// Hands a job this owner holds back to the queue: a worker shutting down (no error), or one
    /// that failed in a way another attempt may not (its error is kept as the job's last error).
    /// A hand-back without an error does not count as an attempt. A job whose cancel was asked
    /// for ends canceled instead.
    func release(_ id: String, owner: String, errorCode: String?, errorMessage: String?) async throws
    /// Cancels a job of `keyID`: a queued one at once, a running one when its worker next checks.
    func cancel(_ id: String, keyID: String) async throws -> VideoJob?
}

/// What each key has rendered (finished jobs' output seconds).
public protocol UsageStore: Sendable {
    /// Output seconds rendered for `keyID`, in all and by UTC day (newest first).
    func usage(keyID: String) async throws -> (total: Double, byDay: [(day: String, seconds: Double, videos: Int)])
}

/// The webhook outbox: messages put there with the job that ends (`JobQueue.finish`), leased to a
/// sender, retried on a schedule, logged attempt by attempt.
public protocol WebhookOutboxStore: Sendable {
    /// Claims the oldest delivery that is due for `owner` for `lease` seconds.
    func claimWebhook(owner: String, lease: TimeInterval) async throws -> WebhookDelivery?
    /// Records an attempt of a delivery this owner holds: delivered on a 2xx, otherwise scheduled
    /// again after the next delay of `webhookRetryDelays` (`jitter` scales it; a receiver's
    /// `Retry-After` can only lengthen it), or failed for good when the schedule is spent or the
    /// receiver answered 410 Gone.
    @discardableResult
    func recordWebhookAttempt(
        _ id: String, owner: String, statusCode: Int?, error: String?, milliseconds: Double, jitter: Double,
        retryAfter: TimeInterval?
    ) async throws -> WebhookDelivery?
    /// Sends a delivery of `keyID` again now (a failed one gets a fresh schedule). Returns it and
    /// whether it was queued (a delivered one is not sent again).
    func retryWebhook(_ id: String, keyID: String) async throws -> (delivery: WebhookDelivery, queued: Bool)?
    /// A delivery of `keyID` with its attempts, oldest first.
    func webhook(_ id: String, keyID: String) async throws -> (WebhookDelivery, [WebhookAttempt])?
    /// `keyID`'s deliveries, newest first, optionally for one video, with their attempts.
    func webhooks(keyID: String, videoID: String?, limit: Int) async throws -> [(WebhookDelivery, [WebhookAttempt])]
    /// The signing secret of the key a delivery belongs to.
    func webhookSecret(keyID: String) async throws -> String?
    /// Deliveries by status (for metrics).
    func webhookCounts() async throws -> [WebhookDelivery.Status: Int]
}

/// Settings every node of a deployment shares, and the schema's version.
public protocol SettingsStore: Sendable {
    /// A secret every node of a deployment shares (the key of signed file links): the stored one,
    /// or `proposed` stored now if there was none (the first node to ask decides).
    func sharedSecret(_ name: String, proposed: String) async throws -> String

    /// The schema versions applied, oldest first.
    func appliedMigrations() async throws -> [String]
}

extension KeyStore {
    /// A key on no plan.
    public func createKey(name: String, quotaSeconds: Double?, concurrency: Int) async throws -> (
        APIKey, secret: String
    ) {
        try await createKey(name: name, quotaSeconds: quotaSeconds, concurrency: concurrency, plan: nil)
    }
}

extension JobQueue {
    @discardableResult
    public func finish(
        _ id: String, owner: String, status: VideoStatus, resultBlob: String? = nil, result: String? = nil,
        outputSeconds: Double? = nil, errorCode: String? = nil, errorMessage: String? = nil,
        webhook: (@Sendable (VideoJob) throws -> (event: String, payload: String))? = nil
    ) async throws -> Bool {
        try await finish(
            id, owner: owner, status: status, resultBlob: resultBlob, result: result, outputSeconds: outputSeconds,
            errorCode: errorCode, errorMessage: errorMessage, webhook: webhook)
    }

    public func release(_ id: String, owner: String) async throws {
        try await release(id, owner: owner, errorCode: nil, errorMessage: nil)
    }
}

extension WebhookOutboxStore {
    @discardableResult
    public func recordWebhookAttempt(
        _ id: String, owner: String, statusCode: Int?, error: String?, milliseconds: Double, jitter: Double = 1
    ) async throws -> WebhookDelivery? {
        try await recordWebhookAttempt(
            id, owner: owner, statusCode: statusCode, error: error, milliseconds: milliseconds, jitter: jitter,
            retryAfter: nil)
    }
}

/// What both stores share: the retry schedule, the last error of a lost worker, ids and hashes.
public enum StoreRules {
    /// When to try a webhook again after the `attempt`-th failure (1-based); nil once spent.
    /// Eleven attempts over about three days: 5 s, 1 min, 5 min, 30 min, 2 h, 5 h, 10 h, 14 h,
    /// 20 h, 20 h after each failure.
    public static let webhookRetryDelays: [TimeInterval] = [
        5, 60, 300, 1800, 7200, 18000, 36000, 50400, 72000, 72000,
    ]

    /// The outcome of a webhook attempt: the delivery's new status and, if pending, the delay
    /// before the next try.
    static func webhookOutcome(attempt: Int, statusCode: Int?, jitter: Double, retryAfter: TimeInterval?) -> (
        status: WebhookDelivery.Status, delay: TimeInterval?
    ) {
        let delivered = statusCode.map { (200..<300).contains($0) } ?? false
        var delay = attempt <= webhookRetryDelays.count ? webhookRetryDelays[attempt - 1] * jitter : nil
        if let wait = retryAfter, let scheduled = delay { delay = max(scheduled, min(wait, 86400)) }
        if statusCode == 410 { delay = nil }
        if delivered { return (.delivered, nil) }
        return delay.map { (.pending, $0) } ?? (.failed, nil)
    }

    /// The last error a job taken back from a worker that stopped renewing its lease carries.
    public static let workerLostCode = "worker_lost"
    public static let workerLostMessage =
        "The worker rendering this video stopped (it crashed, was killed or lost the database) before finishing."

    static func hash(_ secret: String) -> String {
        SHA256.hash(data: Data(secret.utf8)).map { String(format: "%02x", $0) }.joined()
    }

    public static func randomBytes(_ count: Int) -> [UInt8] {
        var generator = SystemRandomNumberGenerator()
        return (0..<count).map { _ in UInt8.random(in: 0...255, using: &generator) }
    }

    /// URL-safe random text.
    public static func randomToken(bytes: Int) -> String {
        Data(randomBytes(bytes)).base64EncodedString().replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
    }

    /// A new API key (id, webhook secret) and its secret.
    static func newKey(name: String, quotaSeconds: Double?, concurrency: Int, plan: String?) -> (
        APIKey, secret: String
    ) {
        let secret = "mp_" + randomToken(bytes: 24)
        let key = APIKey(
            id: "key_" + randomToken(bytes: 8), name: name,
            webhookSecret: "whsec_" + Data(randomBytes(24)).base64EncodedString(), quotaSeconds: quotaSeconds,
            concurrency: concurrency, createdAt: Date(), plan: plan)
        return (key, secret)
    }

    static func newWebhookID() -> String { "msg_" + randomToken(bytes: 12) }
}

/// Opens the store a deployment names: `postgres://...` for PostgreSQL, otherwise the embedded
/// SQLite database in the data directory. Applies the schema migrations this version needs. With
/// `.serviceGroup`, a PostgreSQL store's pool is returned as a service for the caller's group to
/// run (nil for SQLite, which has none).
public func openStore(
    database: String?, dataDirectory: String, logger: Logger, pool: PostgresStore.PoolLifecycle = .ownTask
) async throws -> (store: any DataStore, service: (any Service)?) {
    if let database, !database.isEmpty {
        let store = try await PostgresStore(url: database, logger: logger, pool: pool)
        return (store, pool == .serviceGroup ? store.poolService : nil)
    }
    try FileManager.default.createDirectory(atPath: dataDirectory, withIntermediateDirectories: true)
    return (try SQLiteStore(path: dataDirectory + "/mouthpiece.sqlite"), nil)
}
