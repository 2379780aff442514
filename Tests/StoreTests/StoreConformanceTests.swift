import Foundation
import Store
import TestSupport
import XCTest

/// One suite, every store: each test runs against the embedded SQLite store, a PostgreSQL
/// database (a fresh one per test, in `MOUTHPIECE_TEST_DATABASE` or a cluster the tests start) and
/// the in-memory store.
final class StoreConformanceTests: XCTestCase {
    /// The store the running check is about, named in every failure it records.
    var storeUnderTest: String?

    /// Runs `body` once per store; failures name the store.
    func eachStore(_ body: (any DataStore) async throws -> Void) async throws {
        let dir = try TestFiles.scratchDirectory(for: self)
        let sqlite = try SQLiteStore(path: dir + "/db.sqlite")
        let postgres = try await PostgresStore(url: try TestPostgres.freshDatabase(), wait: 5)
        defer { postgres.close() }
        let stores: [(String, any DataStore)] = [
            ("sqlite", sqlite), ("postgresql", postgres), ("memory", MemoryStore()),
        ]
        for (name, store) in stores {
            storeUnderTest = name
            defer { storeUnderTest = nil }
            do {
                try await body(store)
            } catch {
                XCTFail("\(error)")
            }
        }
    }

    // An assertion inside `body` knows nothing of the store it checks: the name is added here.
    override func recordFailure(
        withDescription description: String, inFile filePath: String, atLine lineNumber: Int, expected: Bool
    ) {
        let named = storeUnderTest.map { "\($0): \(description)" } ?? description
        super.recordFailure(withDescription: named, inFile: filePath, atLine: lineNumber, expected: expected)
    }

    func testClaimsKeepEachKeyWithinItsConcurrencyAndTakeTurnsBetweenKeys() async throws {
        try await eachStore { store in
            let (a, _) = try await store.createKey(name: "busy", quotaSeconds: nil, concurrency: 2)
            let (b, _) = try await store.createKey(name: "late", quotaSeconds: nil, concurrency: 1)
            // A batch from one key, then two jobs from another: all wait in the queue.
            for i in 0..<5 {
                let job = VideoJob.queued(
                    id: "vid_a\(i)", keyID: a.id, options: "{}", imageBlob: "i", audioBlob: "a", webhookURL: nil)
                _ = try await store.submit(job, idempotencyKey: nil)
            }
            for i in 0..<2 {
                let job = VideoJob.queued(
                    id: "vid_b\(i)", keyID: b.id, options: "{}", imageBlob: "i", audioBlob: "a", webhookURL: nil)
                _ = try await store.submit(job, idempotencyKey: nil)
            }
            let first = try await store.claim(owner: "w1", lease: 30)
            let second = try await store.claim(owner: "w2", lease: 30)
            let third = try await store.claim(owner: "w3", lease: 30)
            // The late key's first job goes second (the busy key was served last), not after the batch.
            XCTAssertEqual([first?.id, second?.id, third?.id], ["vid_a0", "vid_b0", "vid_a1"])
            // Every key at its concurrency: nothing more is claimed, however many workers ask.
            let fourth = try await store.claim(owner: "w4", lease: 30)
            XCTAssertNil(fourth)
            try await store.finish("vid_b0", owner: "w2", status: .completed, result: "{}", outputSeconds: 1)
            let fifth = try await store.claim(owner: "w2", lease: 30)
            XCTAssertEqual(fifth?.id, "vid_b1")
            try await store.finish("vid_a0", owner: "w1", status: .completed, result: "{}", outputSeconds: 1)
            let sixth = try await store.claim(owner: "w1", lease: 30)
            XCTAssertEqual(sixth?.id, "vid_a2")
            let queued = try await store.inFlightCount(keyID: a.id)
            XCTAssertEqual(queued, 4, "a2, a3, a4 and a1: queued or rendering")
        }
    }

    func testAKeyKeepsItsPlanAndAHigherPriorityJobGoesFirst() async throws {
        try await eachStore { store in
            let (free, _) = try await store.createKey(name: "f", quotaSeconds: nil, concurrency: 1, plan: "free")
            let (pro, proSecret) = try await store.createKey(name: "p", quotaSeconds: nil, concurrency: 1, plan: "pro")
            let found = try await store.key(secret: proSecret)
            XCTAssertEqual(found?.plan, "pro")
            XCTAssertEqual(free.plan, "free")
            let early = VideoJob.queued(
                id: "vid_free", keyID: free.id, options: "{}", imageBlob: "i", audioBlob: "a", webhookURL: nil)
            _ = try await store.submit(early, idempotencyKey: nil)
            let late = VideoJob.queued(
                id: "vid_pro", keyID: pro.id, options: "{}", imageBlob: "i", audioBlob: "a", webhookURL: nil,
                priority: 10)
            _ = try await store.submit(late, idempotencyKey: nil)
            let first = try await store.claim(owner: "w", lease: 30)
            XCTAssertEqual(first?.id, "vid_pro", "submitted later, but on the higher-priority plan")
            XCTAssertEqual(first?.priority, 10)
        }
    }

    func testUsageCountsAJobFinishedWithoutOutputSecondsAsNone() async throws {
        try await eachStore { store in
            let (key, _) = try await store.createKey(name: "u", quotaSeconds: nil, concurrency: 2)
            let job = VideoJob.queued(
                id: "vid_u", keyID: key.id, options: "{}", imageBlob: "i", audioBlob: "a", webhookURL: nil)
            _ = try await store.submit(job, idempotencyKey: nil)
            let claimed = try unwrap(try await store.claim(owner: "w", lease: 10))
            try await store.finish(claimed.id, owner: "w", status: .completed, result: "{}")
            // SQLite's SUM of only NULLs is NULL: read as a number, that stopped the process.
            let usage = try await store.usage(keyID: key.id)
            XCTAssertEqual(usage.total, 0)
            XCTAssertEqual(usage.byDay.first?.seconds, 0)
            XCTAssertEqual(usage.byDay.first?.videos, 1)
        }
    }

    func testAFinishedJobQueuesItsWebhookWhichIsRetriedLoggedAndLeased() async throws {
        try await eachStore { store in try await webhookLifecycle(store) }
    }

    func webhookLifecycle(_ store: any DataStore) async throws {
        let (key, _) = try await store.createKey(name: "a", quotaSeconds: nil, concurrency: 2)
        let (other, _) = try await store.createKey(name: "b", quotaSeconds: nil, concurrency: 2)
        let job = VideoJob.queued(
            id: "vid_1", keyID: key.id, options: "{}", imageBlob: "i", audioBlob: "a",
            webhookURL: "https://example.com/hook")
        _ = try await store.submit(job, idempotencyKey: nil)
        let claimed = try unwrap(try await store.claim(owner: "w", lease: 10))
        try await store.finish(
            claimed.id, owner: "w", status: .completed, result: "{}", outputSeconds: 2,
            webhook: { finished in ("video.\(finished.status.rawValue)", "{\"id\":\"\(finished.id)\"}") })

        // Leased: a second sender sees nothing until the lease runs out, then gets it again.
        let first = try unwrap(try await store.claimWebhook(owner: "s1", lease: 0.2))
        XCTAssertEqual(first.event, "video.completed")
        XCTAssertEqual(first.payload, "{\"id\":\"vid_1\"}")
        let got1 = try await store.claimWebhook(owner: "s2", lease: 10)
        XCTAssertNil(got1)
        try await Task.sleep(for: .milliseconds(300))
        let again = try unwrap(try await store.claimWebhook(owner: "s2", lease: 10))
        XCTAssertEqual(again.id, first.id)
        // The first sender's lease is gone: its late answer is not recorded.
        let got2 = try await store.recordWebhookAttempt(
            first.id, owner: "s1", statusCode: 200, error: nil, milliseconds: 1)
        XCTAssertNil(got2)

        // A 500: tried again after the first delay; a Retry-After can only lengthen it.
        let retried = try unwrap(
            try await store.recordWebhookAttempt(
                again.id, owner: "s2", statusCode: 503, error: "HTTP 503", milliseconds: 3, jitter: 1, retryAfter: 60))
        XCTAssertEqual(retried.status, .pending)
        XCTAssertEqual(retried.nextAttemptAt?.timeIntervalSinceNow ?? 0, 60, accuracy: 2)
        let got3 = try await store.claimWebhook(owner: "s2", lease: 10)
        XCTAssertNil(got3, "not due yet")

        // Sent again by hand, then 410 Gone: failed for good, no more tries.
        let got4 = try await store.retryWebhook(again.id, keyID: key.id)
        XCTAssertNotNil(got4)
        let got5 = try await store.retryWebhook(again.id, keyID: other.id)
        XCTAssertNil(got5, "another key's delivery")
        let gone = try unwrap(try await store.claimWebhook(owner: "s3", lease: 10))
        let failed = try unwrap(
            try await store.recordWebhookAttempt(gone.id, owner: "s3", statusCode: 410, error: "gone", milliseconds: 1))
        XCTAssertEqual(failed.status, .failed)
        XCTAssertNil(failed.nextAttemptAt)

        // A failed delivery resent gets a fresh schedule; the log keeps numbering every try.
        let got6 = try await store.retryWebhook(gone.id, keyID: key.id)?.delivery.status
        XCTAssertEqual(got6, .pending)
        let last = try unwrap(try await store.claimWebhook(owner: "s4", lease: 10))
        let delivered = try unwrap(
            try await store.recordWebhookAttempt(last.id, owner: "s4", statusCode: 204, error: nil, milliseconds: 1))
        XCTAssertEqual(delivered.status, .delivered)
        let (_, log) = try unwrap(try await store.webhook(last.id, keyID: key.id))
        XCTAssertEqual(log.map(\.attempt), [1, 2, 3])
        XCTAssertEqual(log.map(\.statusCode), [503, 410, 204])
        let got7 = try await store.retryWebhook(last.id, keyID: key.id)?.queued
        XCTAssertEqual(got7, false, "delivered: not sent again")
        let got8 = try await store.webhook(last.id, keyID: other.id)
        XCTAssertNil(got8)
        let got9 = try await store.webhooks(keyID: other.id, videoID: nil, limit: 10).count
        XCTAssertEqual(got9, 0)
        let got10 = try await store.webhookCounts()[.delivered]
        XCTAssertEqual(got10, 1)
    }

    func testTheScheduleSpansAboutThreeDaysAndEndsInFailure() async throws {
        let total = StoreRules.webhookRetryDelays.reduce(0, +)
        XCTAssertEqual(total / 86400, 3, accuracy: 0.25)
        try await eachStore { store in try await webhookSchedule(store) }
    }

    func webhookSchedule(_ store: any DataStore) async throws {
        let (key, _) = try await store.createKey(name: "a", quotaSeconds: nil, concurrency: 2)
        _ = try await store.submit(
            VideoJob.queued(
                id: "vid_2", keyID: key.id, options: "{}", imageBlob: "i", audioBlob: "a", webhookURL: "https://x.y/h"),
            idempotencyKey: nil)
        _ = try await store.claim(owner: "w", lease: 10)
        try await store.finish(
            "vid_2", owner: "w", status: .failed, errorCode: "x", errorMessage: "y",
            webhook: { _ in ("video.failed", "{}") })
        var delivery = try unwrap(try await store.webhooks(keyID: key.id, videoID: "vid_2", limit: 1).first?.0)
        for n in 1...(StoreRules.webhookRetryDelays.count + 1) {
            // Due now (a resend of a pending delivery keeps its place in the schedule), and tried.
            let got11 = try await store.retryWebhook(delivery.id, keyID: key.id)?.delivery.attempts
            XCTAssertEqual(got11, n - 1)
            let claimed = try unwrap(try await store.claimWebhook(owner: "s", lease: 10), "attempt \(n)")
            delivery = try unwrap(
                try await store.recordWebhookAttempt(
                    claimed.id, owner: "s", statusCode: nil, error: "refused", milliseconds: 1))
            XCTAssertEqual(delivery.status, n <= StoreRules.webhookRetryDelays.count ? .pending : .failed, "\(n)")
        }
        XCTAssertEqual(delivery.attempts, StoreRules.webhookRetryDelays.count + 1)
    }

    // MARK: keys, avatars, migrations, settings

    func testKeysAreFoundByTheirSecretOnly() async throws {
        try await eachStore { store in
            let (key, secret) = try await store.createKey(name: "a", quotaSeconds: 30, concurrency: 3)
            let found = try unwrap(try await store.key(secret: secret))
            XCTAssertEqual(
                [found.id, found.name, found.webhookSecret, "\(found.quotaSeconds ?? 0)", "\(found.concurrency)"],
                [key.id, "a", key.webhookSecret, "30.0", "3"])
            XCTAssertEqual(found.createdAt.timeIntervalSince(key.createdAt), 0, accuracy: 0.001)
            let wrong = try await store.key(secret: secret + "x")
            XCTAssertNil(wrong)
            let signing = try await store.webhookSecret(keyID: key.id)
            XCTAssertEqual(signing, key.webhookSecret)
        }
    }

    func testAvatarsBelongToTheirKey() async throws {
        try await eachStore { store in
            let (a, _) = try await store.createKey(name: "a", quotaSeconds: nil, concurrency: 1)
            let (b, _) = try await store.createKey(name: "b", quotaSeconds: nil, concurrency: 1)
            for n in 0..<3 {
                try await store.addAvatar(
                    Avatar(
                        id: "avt_\(n)", keyID: a.id, imageBlob: "i\(n)", previewBlob: "p\(n)", analysis: "{}",
                        createdAt: Date(timeIntervalSince1970: 1_700_000_000 + Double(n)),
                        consent: n == 1 ? #"{"attested_by":"Ann"}"# : nil))
            }
            let listed = try await store.avatars(keyID: a.id, limit: 2)
            XCTAssertEqual(listed.map(\.id), ["avt_2", "avt_1"])
            // The consent is kept as given; an avatar without one has none.
            XCTAssertEqual(listed.map(\.consent), [nil, #"{"attested_by":"Ann"}"#])
            let hidden = try await store.avatar("avt_0", keyID: b.id)
            XCTAssertNil(hidden)
            let notTheirs = try await store.deleteAvatar("avt_0", keyID: b.id)
            XCTAssertNil(notTheirs)
            let deleted = try await store.deleteAvatar("avt_0", keyID: a.id)
            XCTAssertEqual(deleted?.imageBlob, "i0")
            let gone = try await store.avatar("avt_0", keyID: a.id)
            XCTAssertNil(gone)
        }
    }

    func testLexiconsBelongToTheirKeyAndAWordIsOneEntryInAnyCase() async throws {
        try await eachStore { store in
            let (a, _) = try await store.createKey(name: "a", quotaSeconds: nil, concurrency: 1)
            let (b, _) = try await store.createKey(name: "b", quotaSeconds: nil, concurrency: 1)
            try await store.setLexiconEntry(.init(word: "Nguyen", respelling: "win"), keyID: a.id)
            try await store.setLexiconEntry(.init(word: "GIF", respelling: "jif"), keyID: a.id)
            // The same word in another case replaces the entry, as written last.
            try await store.setLexiconEntry(.init(word: "nguyen", respelling: "nwin"), keyID: a.id)
            var mine = try await store.lexicon(keyID: a.id)
            XCTAssertEqual(mine, [.init(word: "GIF", respelling: "jif"), .init(word: "nguyen", respelling: "nwin")])
            let theirs = try await store.lexicon(keyID: b.id)
            XCTAssertEqual(theirs, [])
            let notTheirs = try await store.removeLexiconEntry(word: "GIF", keyID: b.id)
            XCTAssertFalse(notTheirs)
            let removed = try await store.removeLexiconEntry(word: "gif", keyID: a.id)
            XCTAssertTrue(removed)
            try await store.replaceLexicon(
                [.init(word: "Siobhan", respelling: "shivawn"), .init(word: "Aoife", respelling: "eefa")], keyID: a.id)
            mine = try await store.lexicon(keyID: a.id)
            XCTAssertEqual(mine.map(\.word), ["Aoife", "Siobhan"])
            try await store.replaceLexicon([], keyID: a.id)
            let none = try await store.lexicon(keyID: a.id)
            XCTAssertEqual(none, [])
        }
    }

    func testMigrationsAreRecordedAndTheFirstSecretWins() async throws {
        try await eachStore { store in
            let applied = try await store.appliedMigrations()
            XCTAssertEqual(
                applied,
                [
                    "v1", "v2-avatars", "v3-webhooks", "v4-scale-out", "v5-retention", "v6-consent", "v7-plans",
                    "v8-lexicon",
                ])
            let first = try await store.sharedSecret("file-links", proposed: "one")
            let second = try await store.sharedSecret("file-links", proposed: "two")
            XCTAssertEqual([first, second], ["one", "one"])
        }
        // A second node starting on the same database applies nothing and agrees.
        let url = try TestPostgres.freshDatabase()
        let (one, two) = (try await PostgresStore(url: url), try await PostgresStore(url: url))
        defer {
            one.close()
            two.close()
        }
        let again = try await two.migrate()
        XCTAssertEqual(again, [])
        let a = try await one.sharedSecret("s", proposed: "a")
        let b = try await two.sharedSecret("s", proposed: "b")
        XCTAssertEqual(a, b)
    }

    // MARK: jobs

    static func job(_ id: String, key: String, at offset: Double = 0, webhook: String? = nil) -> VideoJob {
        VideoJob.queued(
            id: id, keyID: key, options: "{}", imageBlob: "i", audioBlob: "a", webhookURL: webhook,
            createdAt: Date(timeIntervalSince1970: 1_700_000_000 + offset))
    }

    func testSubmissionsAreIdempotentPerKeyEvenWhenConcurrent() async throws {
        try await eachStore { store in
            let (a, _) = try await store.createKey(name: "a", quotaSeconds: nil, concurrency: 1)
            let (b, _) = try await store.createKey(name: "b", quotaSeconds: nil, concurrency: 1)
            let outcomes = try await withThrowingTaskGroup(of: (String, Bool).self) { group in
                for n in 0..<8 {
                    group.addTask {
                        let (saved, created) = try await store.submit(
                            Self.job("vid_c\(n)", key: a.id), idempotencyKey: "same")
                        return (saved.id, created)
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            XCTAssertEqual(outcomes.filter(\.1).count, 1, "exactly one submission creates the job")
            XCTAssertEqual(Set(outcomes.map(\.0)).count, 1, "every retry answers with that job")
            let other = try await store.submit(Self.job("vid_other", key: b.id), idempotencyKey: "same")
            XCTAssertTrue(other.created, "idempotency keys are per API key")
            let remembered = try await store.video(idempotencyKey: "same", keyID: a.id)
            XCTAssertEqual(remembered?.id, outcomes[0].0)
            let count = try await store.inFlightCount(keyID: a.id)
            XCTAssertEqual(count, 1)
        }
    }

    func testEachJobIsClaimedByOneWorkerOldestFirst() async throws {
        try await eachStore { store in
            let (key, _) = try await store.createKey(name: "a", quotaSeconds: nil, concurrency: 50)
            for n in (0..<24).reversed() {
                _ = try await store.submit(
                    Self.job(String(format: "vid_%02d", n), key: key.id, at: Double(n)), idempotencyKey: nil)
            }
            let position = try await store.queuePosition(of: Self.job("vid_05", key: key.id, at: 5))
            XCTAssertEqual(position, 5)
            let claims = try await withThrowingTaskGroup(of: [String].self) { group in
                for worker in 0..<6 {
                    group.addTask {
                        var mine: [String] = []
                        while let job = try await store.claim(owner: "w\(worker)", lease: 30) { mine.append(job.id) }
                        return mine
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            let all = claims.flatMap { $0 }
            XCTAssertEqual(all.count, 24, "every job claimed")
            XCTAssertEqual(Set(all).count, 24, "none claimed twice")
            for mine in claims { XCTAssertEqual(mine, mine.sorted(), "each worker gets older jobs first") }
            let counts = try await store.statusCounts()
            XCTAssertEqual(counts[.processing], 24)
            let rendering = try await store.processingCount(keyID: key.id)
            XCTAssertEqual(rendering, 24)
        }
    }

    func testAnExpiredLeaseIsTakenOverAndOnlyTheNewHolderCanFinish() async throws {
        try await eachStore { store in
            let (key, _) = try await store.createKey(name: "a", quotaSeconds: nil, concurrency: 1)
            _ = try await store.submit(Self.job("vid_l", key: key.id), idempotencyKey: nil)
            let first = try unwrap(try await store.claim(owner: "dies", lease: 0.3))
            XCTAssertEqual(first.attempts, 1)
            XCTAssertNil(first.errorCode)
            let beat = try await store.heartbeat("vid_l", owner: "dies", progress: 0.4, lease: 0.3)
            XCTAssertTrue(beat)
            let early = try await store.claim(owner: "other", lease: 10)
            XCTAssertNil(early, "the lease still holds")
            try await Task.sleep(for: .milliseconds(500))
            let second = try unwrap(try await store.claim(owner: "other", lease: 10))
            XCTAssertEqual(second.attempts, 2)
            XCTAssertEqual(second.errorCode, StoreRules.workerLostCode)
            XCTAssertEqual(second.progress, 0)
            let late = try await store.heartbeat("vid_l", owner: "dies", progress: 0.9, lease: 10)
            XCTAssertFalse(late, "the old holder learns it lost the job")
            let stale = try await store.finish(
                "vid_l", owner: "dies", status: .completed, resultBlob: "stale.mp4", result: "{}", outputSeconds: 1)
            XCTAssertFalse(stale)
            let done = try await store.finish(
                "vid_l", owner: "other", status: .completed, resultBlob: "good.mp4", result: "{}", outputSeconds: 2)
            XCTAssertTrue(done)
            let final = try unwrap(try await store.video("vid_l"))
            XCTAssertEqual(final.status, .completed)
            XCTAssertEqual(final.resultBlob, "good.mp4")
            XCTAssertEqual(final.progress, 1)
        }
    }

    func testAReleasedJobKeepsItsLastErrorAndCountsItsAttempts() async throws {
        try await eachStore { store in
            let (key, _) = try await store.createKey(name: "a", quotaSeconds: nil, concurrency: 1)
            _ = try await store.submit(Self.job("vid_r", key: key.id), idempotencyKey: nil)
            _ = try await store.claim(owner: "full", lease: 10)
            try await store.release(
                "vid_r", owner: "full", errorCode: "output_not_writable", errorMessage: "No space left on device")
            let queued = try unwrap(try await store.video("vid_r"))
            XCTAssertEqual(queued.status, .queued)
            let again = try unwrap(try await store.claim(owner: "healthy", lease: 10))
            XCTAssertEqual(again.attempts, 2)
            XCTAssertEqual(again.errorMessage, "No space left on device")
            // A shutdown hands a job back without an error of its own, and without using up an attempt.
            try await store.release("vid_r", owner: "healthy")
            let third = try unwrap(try await store.claim(owner: "next", lease: 10))
            XCTAssertEqual(third.attempts, 2)
            XCTAssertEqual(third.errorCode, "output_not_writable")
        }
    }

    func testCancelStopsAQueuedJobAtOnceAndARunningOneAtItsNextHeartbeat() async throws {
        try await eachStore { store in
            let (key, _) = try await store.createKey(name: "a", quotaSeconds: nil, concurrency: 2)
            let (other, _) = try await store.createKey(name: "b", quotaSeconds: nil, concurrency: 2)
            _ = try await store.submit(Self.job("vid_run", key: key.id, at: 0), idempotencyKey: nil)
            _ = try await store.submit(Self.job("vid_wait", key: key.id, at: 1), idempotencyKey: nil)
            _ = try await store.claim(owner: "w", lease: 10)
            let foreign = try await store.cancel("vid_wait", keyID: other.id)
            XCTAssertNil(foreign)
            let waiting = try await store.cancel("vid_wait", keyID: key.id)
            XCTAssertEqual(waiting?.status, .canceled)
            let running = try await store.cancel("vid_run", keyID: key.id)
            XCTAssertEqual(running?.status, .processing)
            XCTAssertEqual(running?.cancelRequested, true)
            let keepGoing = try await store.heartbeat("vid_run", owner: "w", progress: 0.5, lease: 10)
            XCTAssertFalse(keepGoing)
            let ended = try await store.finish("vid_run", owner: "w", status: .canceled, errorCode: "canceled")
            XCTAssertTrue(ended)
            let next = try await store.claim(owner: "w", lease: 10)
            XCTAssertNil(next, "a canceled job is never claimed")
            // A job handed back after its cancel was asked for ends canceled, not queued again.
            _ = try await store.submit(Self.job("vid_back", key: key.id, at: 2), idempotencyKey: nil)
            _ = try await store.claim(owner: "w", lease: 10)
            _ = try await store.cancel("vid_back", keyID: key.id)
            try await store.release("vid_back", owner: "w", errorCode: "encoding_failed", errorMessage: "x")
            let handedBack = try await store.video("vid_back")
            XCTAssertEqual(handedBack?.status, .canceled)
            XCTAssertEqual(handedBack?.errorCode, "canceled")
        }
    }

    func testACanceledJobWhoseWorkerDiedEndsCanceledAndIsNeverClaimedAgain() async throws {
        try await eachStore { store in
            let (key, _) = try await store.createKey(name: "a", quotaSeconds: nil, concurrency: 2)
            _ = try await store.submit(Self.job("vid_dead", key: key.id, at: 0), idempotencyKey: nil)
            _ = try await store.claim(owner: "dies", lease: 0.2)
            let asked = try await store.cancel("vid_dead", keyID: key.id)
            XCTAssertEqual(asked?.cancelRequested, true)
            // The worker dies without seeing the cancel; its lease runs out.
            try await Task.sleep(for: .milliseconds(400))
            let next = try await store.claim(owner: "other", lease: 10)
            XCTAssertNil(next, "a job whose cancel was asked for is not rendered again")
            let ended = try unwrap(try await store.video("vid_dead"))
            XCTAssertEqual(ended.status, .canceled)
            XCTAssertEqual(ended.errorCode, "canceled")
            XCTAssertEqual(ended.attempts, 1)
        }
    }

    func testDeletedVideosDisappearKeepTheirUsageAndExpireByAge() async throws {
        try await eachStore { store in
            let (key, _) = try await store.createKey(name: "a", quotaSeconds: nil, concurrency: 2)
            let (other, _) = try await store.createKey(name: "b", quotaSeconds: nil, concurrency: 2)
            _ = try await store.submit(Self.job("vid_done", key: key.id, at: 0), idempotencyKey: nil)
            _ = try await store.submit(Self.job("vid_busy", key: key.id, at: 1), idempotencyKey: nil)
            _ = try await store.claim(owner: "w", lease: 10)
            try await store.finish(
                "vid_done", owner: "w", status: .completed, resultBlob: "r.mp4", result: "{}", outputSeconds: 4)
            _ = try await store.claim(owner: "w", lease: 10)
            // Another key's video is not found; an unfinished one is not deleted.
            let foreign = try await store.deleteVideo("vid_done", keyID: other.id)
            XCTAssertNil(foreign)
            let busy = try unwrap(try await store.deleteVideo("vid_busy", keyID: key.id))
            XCTAssertFalse(busy.deleted)
            // Only finished videos older than the cutoff expire.
            let none = try await store.expiredVideos(finishedBefore: Date(timeIntervalSinceNow: -60), limit: 10)
            XCTAssertEqual(none.map(\.id), [])
            let expired = try await store.expiredVideos(finishedBefore: Date(timeIntervalSinceNow: 1), limit: 10)
            XCTAssertEqual(expired.map(\.id), ["vid_done"])
            // Deleting hands back the files to remove, once.
            let gone = try unwrap(try await store.deleteVideo("vid_done", keyID: key.id))
            XCTAssertTrue(gone.deleted)
            XCTAssertEqual(gone.0.resultBlob, "r.mp4")
            XCTAssertEqual(gone.0.imageBlob, "i")
            let twice = try await store.deleteVideo("vid_done", keyID: key.id)
            XCTAssertNil(twice)
            let shown = try await store.video("vid_done", keyID: key.id)
            XCTAssertNil(shown)
            let listed = try await store.videos(keyID: key.id, after: nil, limit: 10)
            XCTAssertEqual(listed.map(\.id), ["vid_busy"])
            let capability = try await store.video("vid_done")
            XCTAssertNil(capability?.resultBlob, "a deleted video's file link serves nothing")
            let after = try await store.expiredVideos(finishedBefore: Date(timeIntervalSinceNow: 1), limit: 10)
            XCTAssertEqual(after.map(\.id), [])
            // Usage (and so the quota) still counts it.
            let usage = try await store.usage(keyID: key.id)
            XCTAssertEqual(usage.total, 4)
        }
    }

    func testUsageCountsCompletedOutputByDayAndPagesGoNewestFirst() async throws {
        try await eachStore { store in
            let (key, _) = try await store.createKey(name: "a", quotaSeconds: nil, concurrency: 9)
            for n in 0..<5 {
                _ = try await store.submit(Self.job("vid_u\(n)", key: key.id, at: Double(n)), idempotencyKey: nil)
            }
            for n in 0..<3 {
                let claimed = try unwrap(try await store.claim(owner: "w", lease: 10))
                try await store.finish(
                    claimed.id, owner: "w", status: n == 2 ? .failed : .completed, result: "{}",
                    outputSeconds: n == 2 ? nil : 2.5, errorCode: n == 2 ? "no_face_detected" : nil)
            }
            let usage = try await store.usage(keyID: key.id)
            XCTAssertEqual(usage.total, 5, accuracy: 1e-9)
            XCTAssertEqual(usage.byDay.count, 1)
            XCTAssertEqual(usage.byDay.first?.videos, 2)
            XCTAssertEqual(usage.byDay.first?.day.count, 10)
            let firstPage = try await store.videos(keyID: key.id, after: nil, limit: 2)
            XCTAssertEqual(firstPage.map(\.id), ["vid_u4", "vid_u3"])
            let secondPage = try await store.videos(keyID: key.id, after: "vid_u3", limit: 2)
            XCTAssertEqual(secondPage.map(\.id), ["vid_u2", "vid_u1"])
            // The cursor deleted meanwhile (by its owner or the retention sweep) still marks the
            // place: the next page, not the first again.
            _ = try await store.deleteVideo("vid_u1", keyID: key.id)
            let thirdPage = try await store.videos(keyID: key.id, after: "vid_u1", limit: 2)
            XCTAssertEqual(thirdPage.map(\.id), ["vid_u0"])
            let failed = try await store.video("vid_u2", keyID: key.id)
            XCTAssertEqual(failed?.errorCode, "no_face_detected")
        }
    }
}
