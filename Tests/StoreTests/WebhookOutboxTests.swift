import Foundation
import Store
import TestSupport
import XCTest

final class WebhookOutboxTests: XCTestCase {
    func testAFinishedJobQueuesItsWebhookWhichIsRetriedLoggedAndLeased() throws {
        let dir = try TestFiles.scratchDirectory(for: self)
        let store = try SQLiteStore(path: dir + "/db.sqlite")
        let (key, _) = try store.createKey(name: "a", quotaSeconds: nil, concurrency: 2)
        let (other, _) = try store.createKey(name: "b", quotaSeconds: nil, concurrency: 2)
        let job = VideoJob.queued(
            id: "vid_1", keyID: key.id, options: "{}", imageBlob: "i", audioBlob: "a",
            webhookURL: "https://example.com/hook")
        _ = try store.submit(job, idempotencyKey: nil)
        let claimed = try XCTUnwrap(try store.claim(owner: "w", lease: 10))
        try store.finish(claimed.id, owner: "w", status: .completed, result: "{}", outputSeconds: 2) { finished in
            ("video.\(finished.status.rawValue)", "{\"id\":\"\(finished.id)\"}")
        }

        // Leased: a second sender sees nothing until the lease runs out, then gets it again.
        let first = try XCTUnwrap(try store.claimWebhook(owner: "s1", lease: 0.2))
        XCTAssertEqual(first.event, "video.completed")
        XCTAssertEqual(first.payload, "{\"id\":\"vid_1\"}")
        XCTAssertNil(try store.claimWebhook(owner: "s2", lease: 10))
        Thread.sleep(forTimeInterval: 0.3)
        let again = try XCTUnwrap(try store.claimWebhook(owner: "s2", lease: 10))
        XCTAssertEqual(again.id, first.id)
        // The first sender's lease is gone: its late answer is not recorded.
        XCTAssertNil(
            try store.recordWebhookAttempt(first.id, owner: "s1", statusCode: 200, error: nil, milliseconds: 1))

        // A 500: tried again after the first delay; a Retry-After can only lengthen it.
        let retried = try XCTUnwrap(
            try store.recordWebhookAttempt(
                again.id, owner: "s2", statusCode: 503, error: "HTTP 503", milliseconds: 3, retryAfter: 60))
        XCTAssertEqual(retried.status, .pending)
        XCTAssertEqual(retried.nextAttemptAt?.timeIntervalSinceNow ?? 0, 60, accuracy: 2)
        XCTAssertNil(try store.claimWebhook(owner: "s2", lease: 10), "not due yet")

        // Sent again by hand, then 410 Gone: failed for good, no more tries.
        XCTAssertNotNil(try store.retryWebhook(again.id, keyID: key.id))
        XCTAssertNil(try store.retryWebhook(again.id, keyID: other.id), "another key's delivery")
        let gone = try XCTUnwrap(try store.claimWebhook(owner: "s3", lease: 10))
        let failed = try XCTUnwrap(
            try store.recordWebhookAttempt(gone.id, owner: "s3", statusCode: 410, error: "gone", milliseconds: 1))
        XCTAssertEqual(failed.status, .failed)
        XCTAssertNil(failed.nextAttemptAt)

        // A failed delivery resent gets a fresh schedule; the log keeps numbering every try.
        XCTAssertEqual(try store.retryWebhook(gone.id, keyID: key.id)?.delivery.status, .pending)
        let last = try XCTUnwrap(try store.claimWebhook(owner: "s4", lease: 10))
        let delivered = try XCTUnwrap(
            try store.recordWebhookAttempt(last.id, owner: "s4", statusCode: 204, error: nil, milliseconds: 1))
        XCTAssertEqual(delivered.status, .delivered)
        let (_, log) = try XCTUnwrap(try store.webhook(last.id, keyID: key.id))
        XCTAssertEqual(log.map(\.attempt), [1, 2, 3])
        XCTAssertEqual(log.map(\.statusCode), [503, 410, 204])
        XCTAssertEqual(try store.retryWebhook(last.id, keyID: key.id)?.queued, false, "delivered: not sent again")
        XCTAssertNil(try store.webhook(last.id, keyID: other.id))
        XCTAssertEqual(try store.webhooks(keyID: other.id, videoID: nil, limit: 10).count, 0)
        XCTAssertEqual(try store.webhookCounts()[.delivered], 1)
    }

    func testTheScheduleSpansAboutThreeDaysAndEndsInFailure() throws {
        let total = SQLiteStore.webhookRetryDelays.reduce(0, +)
        XCTAssertEqual(total / 86400, 3, accuracy: 0.25)
        let dir = try TestFiles.scratchDirectory(for: self)
        let store = try SQLiteStore(path: dir + "/db.sqlite")
        let (key, _) = try store.createKey(name: "a", quotaSeconds: nil, concurrency: 2)
        _ = try store.submit(
            VideoJob.queued(
                id: "vid_2", keyID: key.id, options: "{}", imageBlob: "i", audioBlob: "a", webhookURL: "https://x.y/h"),
            idempotencyKey: nil)
        _ = try store.claim(owner: "w", lease: 10)
        try store.finish("vid_2", owner: "w", status: .failed, errorCode: "x", errorMessage: "y") { _ in
            ("video.failed", "{}")
        }
        var delivery = try XCTUnwrap(try store.webhooks(keyID: key.id, videoID: "vid_2", limit: 1).first?.0)
        for n in 1...(SQLiteStore.webhookRetryDelays.count + 1) {
            // Due now (a resend of a pending delivery keeps its place in the schedule), and tried.
            XCTAssertEqual(try store.retryWebhook(delivery.id, keyID: key.id)?.delivery.attempts, n - 1)
            let claimed = try XCTUnwrap(try store.claimWebhook(owner: "s", lease: 10), "attempt \(n)")
            delivery = try XCTUnwrap(
                try store.recordWebhookAttempt(
                    claimed.id, owner: "s", statusCode: nil, error: "refused", milliseconds: 1))
            XCTAssertEqual(delivery.status, n <= SQLiteStore.webhookRetryDelays.count ? .pending : .failed, "\(n)")
        }
        XCTAssertEqual(delivery.attempts, SQLiteStore.webhookRetryDelays.count + 1)
    }
}
