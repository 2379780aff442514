import Crypto
import Foundation

/// Verifies Mouthpiece's webhooks (Standard Webhooks): the `webhook-signature` header holds one or
/// more `v1,<base64 HMAC-SHA256>` of `"{webhook-id}.{webhook-timestamp}.{body}"` under the key's
/// `whsec_` secret, and the timestamp must be recent (replays are refused).
public struct WebhookVerifier: Sendable {
    let secret: [UInt8]
    public var tolerance: TimeInterval = 300

    public enum Failure: Error, Equatable, Sendable {
        case missingHeaders, badSecret, staleTimestamp, badSignature
    }

    public init(secret: String) throws {
        let encoded = secret.hasPrefix("whsec_") ? String(secret.dropFirst(6)) : secret
        guard let data = Data(base64Encoded: encoded), !data.isEmpty else { throw Failure.badSecret }
        self.secret = [UInt8](data)
    }

    /// Checks the message; returns its JSON object. Header names are matched case-insensitively.
    @discardableResult
    public func verify(body: Data, headers: [String: String], now: Date = Date()) throws -> [String: Any] {
        let lower = Dictionary(headers.map { ($0.key.lowercased(), $0.value) }, uniquingKeysWith: { a, _ in a })
        guard let id = lower["webhook-id"], let stamp = lower["webhook-timestamp"],
            let signatures = lower["webhook-signature"], let seconds = TimeInterval(stamp)
        else { throw Failure.missingHeaders }
        guard abs(now.timeIntervalSince1970 - seconds) <= tolerance else { throw Failure.staleTimestamp }
        var signed = Data("\(id).\(stamp).".utf8)
        signed.append(body)
        let expected = Data(HMAC<SHA256>.authenticationCode(for: signed, using: SymmetricKey(data: secret)))
        let matches = signatures.split(separator: " ").contains { entry in
            let parts = entry.split(separator: ",", maxSplits: 1)
            guard parts.count == 2, parts[0] == "v1", let given = Data(base64Encoded: String(parts[1])),
                given.count == expected.count
            else { return false }
            return zip(given, expected).reduce(0) { $0 | ($1.0 ^ $1.1) } == 0
        }
        guard matches else { throw Failure.badSignature }
        return (try? JSONSerialization.jsonObject(with: body) as? [String: Any]) ?? [:]
    }
}
