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
        var object = metadata.merging(extra ?? [:], uniquingKeysWith: { $1 }).mapValues(LogValue.init)
        object["ts"] = .text(Date().formatted(.iso8601))
        object["level"] = .text(level.rawValue)
        object["msg"] = .text(message.description)
        object["source"] = .text(source)
        guard var data = try? APIJSON.data(object) else { return }
        data.append(0x0A)
        Self.lock.withLock { FileHandle.standardError.write(data) }
    }
}

/// A metadata value as JSON: text, a list or an object.
enum LogValue: Encodable {
    case text(String)
    case list([LogValue])
    case object([String: LogValue])

    init(_ value: Logger.Metadata.Value) {
        switch value {
        case .string(let text): self = .text(text)
        case .stringConvertible(let item): self = .text(item.description)
        case .array(let items): self = .list(items.map(LogValue.init))
        case .dictionary(let entries): self = .object(entries.mapValues(LogValue.init))
        }
    }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case .text(let text): try c.encode(text)
        case .list(let items): try c.encode(items)
        case .object(let entries): try c.encode(entries)
        }
    }
}
