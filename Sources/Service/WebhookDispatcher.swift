import AsyncHTTPClient
import Crypto
import Foundation
import Logging
import MouthpieceCore
import NIOCore
import ServiceLifecycle
import Store

/// Standard Webhooks signatures: HMAC-SHA256 over `id.timestamp.body` with the key's secret
/// (`whsec_` + base64 of the secret bytes), sent as `webhook-signature: v1,<base64>`.
enum WebhookSignature {
    static func sign(id: String, timestamp: Int, body: String, secret: String) throws -> String {
        let encoded = secret.hasPrefix("whsec_") ? String(secret.dropFirst(6)) : secret
        guard let key = Data(base64Encoded: encoded) else {
            throw MouthpieceError(.internalError, "A webhook secret is not valid base64.")
        }
        let mac = HMAC<SHA256>.authenticationCode(
            for: Data("\(id).\(timestamp).\(body)".utf8), using: SymmetricKey(data: key))
        return "v1," + Data(mac).base64EncodedString()
    }
}

/// Delivers the webhook outbox: claims due messages with a lease (so a message whose sender dies
/// is sent again: at least once), signs each attempt afresh, POSTs it through the URL guard and
/// records what the receiver answered. A 2xx ends the delivery; anything else is retried on the
/// schedule in `StoreRules.webhookRetryDelays` (about three days), then marked failed.
struct WebhookDispatcher: Service {
    let store: any DataStore
    let http: OutboundHTTP
    let logger: Logger
    var senders = 4
    var timeout: TimeAmount = .seconds(15)
    var lease: TimeInterval = 60

    func run() async throws {
        let stopping = Flag()
        await withGracefulShutdownHandler {
            await withTaskGroup(of: Void.self) { group in
                for index in 0..<senders {
                    let owner = "\(ProcessInfo.processInfo.hostName)-\(getpid())-hook\(index)"
                    group.addTask { await loop(owner: owner, stopping: stopping) }
                }
            }
        } onGracefulShutdown: {
            stopping.set()
        }
    }

    func loop(owner: String, stopping: Flag) async {
        while !stopping.isSet && !Task.isCancelled {
            do {
                if let delivery = try await store.claimWebhook(owner: owner, lease: lease) {
                    await send(delivery, owner: owner)
                    continue
                }
            } catch {
                logger.warning("could not claim a webhook: \(error)")
            }
            try? await Task.sleep(for: .milliseconds(250))
        }
    }

    func send(_ delivery: WebhookDelivery, owner: String) async {
        var log = logger
        log[metadataKey: "job_id"] = .string(delivery.videoID)
        log[metadataKey: "webhook_id"] = .string(delivery.id)
        let started = ContinuousClock.now
        var statusCode: Int?
        var retryAfter: TimeInterval?
        var failure: String?
        do {
            // One overall deadline per attempt: a receiver that trickles its answer must not hold
            // a sender, whose lease is `lease`.
            let seconds = Double(timeout.nanoseconds / 1_000_000_000 + 5)
            let answer = try await withDeadline(
                seconds: seconds, MouthpieceError(.internalError, "No answer within \(Int(seconds)) s.")
            ) { [self] in try await post(delivery) }
            statusCode = answer.status
            retryAfter = answer.retryAfter
            if let code = statusCode, !(200..<300).contains(code) {
                failure =
                    (300..<400).contains(code)
                    ? "Redirects are not followed."
                    : code == 410 ? "HTTP 410: the receiver is gone; no more retries." : "HTTP \(code)"
            }
        } catch let error as MouthpieceError {
            failure = error.message
        } catch {
            // Coarse on purpose: the log is shown to the key's owner, and must not tell open ports
            // from closed ones.
            failure = "No answer: could not connect, or the receiver did not answer in time."
        }
        let milliseconds = started.duration(to: .now).inSeconds * 1000
        do {
            let after = try await store.recordWebhookAttempt(
                delivery.id, owner: owner, statusCode: statusCode, error: failure, milliseconds: milliseconds,
                jitter: Double.random(in: 0.9...1.1), retryAfter: retryAfter)
            let metadata: Logger.Metadata = [
                "event": .string(delivery.event), "attempt": .stringConvertible(delivery.attempts + 1),
                "status": .string(after?.status.rawValue ?? "?"),
            ]
            if after?.status == .delivered {
                log.info("webhook delivered", metadata: metadata)
            } else {
                log.warning("webhook not delivered: \(failure ?? "?")", metadata: metadata)
            }
        } catch {
            log.error("could not record a webhook attempt: \(error)")
        }
    }

    /// One signed POST; the receiver's status code, and its `Retry-After` (seconds) on 429 / 503.
    func post(_ delivery: WebhookDelivery) async throws -> (status: Int, retryAfter: TimeInterval?) {
        guard let url = URL(string: delivery.url) else {
            throw MouthpieceError(.invalidParameter, "The webhook URL is not valid.")
        }
        guard let secret = try await store.webhookSecret(keyID: delivery.keyID) else {
            throw MouthpieceError(.internalError, "The key of this webhook no longer exists.")
        }
        let timestamp = Int(Date().timeIntervalSince1970)
        var request = HTTPClientRequest(url: url.absoluteString)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.headers.add(name: "User-Agent", value: "Mouthpiece-Webhooks")
        request.headers.add(name: "webhook-id", value: delivery.id)
        request.headers.add(name: "webhook-timestamp", value: String(timestamp))
        request.headers.add(
            name: "webhook-signature",
            value: try WebhookSignature.sign(
                id: delivery.id, timestamp: timestamp, body: delivery.payload, secret: secret))
        request.body = .bytes(ByteBuffer(string: delivery.payload))
        // Checked again at every attempt (where a name points can change in three days), and sent
        // to the address checked.
        return try await http.withClient(for: url, field: "webhook_url") { [timeout] client in
            let response = try await client.execute(request, timeout: timeout)
            // The answer's body is not needed: read at most 64 KiB of it and let the rest go.
            var seen = 0
            for try await chunk in response.body {
                seen += chunk.readableBytes
                if seen > 65536 { break }
            }
            let code = Int(response.status.code)
            let retryAfter =
                code == 429 || code == 503
                ? response.headers.first(name: "retry-after").flatMap(TimeInterval.init) : nil
            return (code, retryAfter)
        }
    }
}
