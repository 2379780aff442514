import Foundation
import Logging

/// One JSON object per line on standard error: `{"ts", "level", "msg", "source", ...metadata}`,
/// for log collectors (`mouthpiece serve --log-format json`). Request lines carry
/// `hb.request.id`; render and webhook lines carry `job_id`.
public struct JSONLogHandler: LogHandler {
    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level = .info
    let label: String
    private static let lock = NSLock()

    public init(label: String) { self.label = label }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(
        level: Logger.Level, message: Logger.Message, metadata extra: Logger.Metadata?, source: String,
        file: String, function: String, line: UInt
    ) {
        var object: [String: Any] = [:]
        for (key, value) in metadata.merging(extra ?? [:], uniquingKeysWith: { $1 }) {
            object[key] = Self.plain(value)
        }
        object["ts"] = Date().formatted(.iso8601)
        object["level"] = level.rawValue
        object["msg"] = message.description
        object["source"] = source
        guard
            var data = try? JSONSerialization.data(
                withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])
        else { return }
        data.append(0x0A)
        Self.lock.withLock { FileHandle.standardError.write(data) }
    }

    static func plain(_ value: Logger.Metadata.Value) -> Any {
        switch value {
        case .string(let text): text
        case .stringConvertible(let item): item.description
        case .array(let items): items.map(plain)
        case .dictionary(let entries): entries.mapValues(plain)
        }
    }
}
