import Foundation
import Hummingbird
import MouthpieceCore
import MultipartKit
import NIOCore
import Pipeline
import Synchronization

/// Request bodies as JSON or as `multipart/form-data` (a form with files), decoded into the same
/// `Decodable` types; anything else is refused with a clear error.
public struct APIRequestDecoder: RequestDecoder {
    public init() {}

    public func decode<T: Decodable>(_ type: T.Type, from request: Request, context: some RequestContext) async throws
        -> T
    {
        let header = request.headers[.contentType] ?? "application/json"
        guard let mediaType = MediaType(from: header) else {
            throw MouthpieceError(.invalidParameter, "The Content-Type \(header) is not understood.")
        }
        let keyID = (context as? APIContext)?.key?.id ?? ""
        let declared = request.headers[.contentLength].flatMap { Int($0) }
        let read = { try await BodyReader.read(request.body, limit: context.maxUploadSize, declaredLength: declared) }
        // Small bodies cost little; large ones, or ones of unknown length, are counted per key.
        let buffer =
            (declared ?? .max) <= BodyReader.uncounted
            ? try await read() : try await APIContext.uploads.withSlot(keyID, read)
        if mediaType.isType(.multipartForm) {
            guard let boundary = mediaType.parameter, boundary.name.lowercased() == "boundary" else {
                throw MouthpieceError(.invalidParameter, "A multipart/form-data body needs a boundary.")
            }
            // Parts are counted before parsing: a form of tens of thousands of tiny parts would
            // otherwise keep the parser busy for seconds. No submission needs more than a few.
            let parts = BodyReader.occurrences(of: Array("--\(boundary.value)".utf8), in: buffer)
            guard parts <= BodyReader.maxParts + 1 else {
                throw MouthpieceError(
                    .invalidParameter,
                    "The form has \(parts - 1) parts; at most \(BodyReader.maxParts) are accepted.")
            }
            do {
                return try FormDataDecoder().decode(T.self, from: buffer, boundary: boundary.value)
            } catch let error as DecodingError {
                throw MouthpieceError(.invalidParameter, "The form is not as expected: \(Self.explain(error))")
            } catch let error as MouthpieceError {
                throw error
            } catch {
                throw MouthpieceError(.invalidParameter, "The multipart/form-data body could not be read.")
            }
        }
        guard mediaType.isType(.applicationJson) || mediaType.subType.lowercased().hasSuffix("+json") else {
            throw MouthpieceError(
                .invalidParameter,
                "Send application/json or multipart/form-data, not \(mediaType.type)/\(mediaType.subType).")
        }
        do {
            return try JSONDecoder().decode(T.self, from: buffer)
        } catch let error as DecodingError {
            throw MouthpieceError(
                .invalidParameter, "The JSON body is not as expected: \(Self.explain(error))", field: error.field)
        }
    }

    /// Which field was wrong, in words.
    static func explain(_ error: DecodingError) -> String {
        switch error {
        case .typeMismatch, .valueNotFound:
            return "\(error.field ?? "") has the wrong type."
        case .dataCorrupted:
            return error.field.map { "\($0) is not valid." } ?? "it is not valid."
        case .keyNotFound(let key, _):
            return "\(key.stringValue) is missing."
        @unknown default:
            return "it is not valid."
        }
    }
}

/// A file sent as a part of a `multipart/form-data` body.
struct UploadedFile: Decodable, MultipartPartConvertible, Sendable {
    let bytes: [UInt8]
    let filename: String?

    init?(multipart: MultipartPart) {
        bytes = Array(multipart.body.readableBytesView)
        filename = multipart.headers.first(name: "Content-Disposition").flatMap { disposition in
            disposition.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces) }
                .first { $0.hasPrefix("filename=") }.map { String($0.dropFirst(9)).trimmingCharacters(in: ["\""]) }
        }
    }

    var multipart: MultipartPart? { MultipartPart(body: bytes) }

    /// In a JSON body a file has no place: it goes as a URL or a data: URI instead.
    init(from decoder: any Decoder) throws {
        let field = decoder.codingPath.last?.stringValue ?? "file"
        throw MouthpieceError(
            .invalidParameter,
            "\(field) is a file upload (multipart/form-data); in JSON give \(field)_url as a URL or data: URI.",
            field: field)
    }

    /// The bytes, if within `maxBytes`.
    func checked(field: String, maxBytes: Int) throws -> [UInt8] {
        guard !bytes.isEmpty else { throw MouthpieceError(.invalidParameter, "\(field) is empty.", field: field) }
        guard bytes.count <= maxBytes else {
            throw MouthpieceError(.payloadTooLarge, "\(field) is over \(maxBytes / 1_048_576) MB.", field: field)
        }
        return bytes
    }
}

/// Reads a request body within a limit, as it arrives: a body over the limit is refused as soon
/// as its declared length or the bytes read so far pass it (413 `payload_too_large`), and large
/// bodies are spooled to a temporary file rather than grown in memory, so a refused one costs
/// little memory however large it is.
enum BodyReader {
    /// Bodies past this many bytes go to a temporary file while they arrive.
    static let inMemory = 4 << 20
    /// The names of those files, in the temporary directory.
    static let spoolPrefix = "mouthpiece-body-"
    /// Bodies declared at most this long are not counted against a key's uploads in flight.
    static let uncounted = 256 << 10
    /// Parts of a multipart/form-data body.
    static let maxParts = 64

    static func tooLarge(_ limit: Int) -> MouthpieceError {
        MouthpieceError(.payloadTooLarge, "The request body is over the limit of \(limit / 1_048_576) MiB.")
    }

    static func read(_ body: RequestBody, limit: Int, declaredLength: Int?) async throws -> ByteBuffer {
        if let declaredLength, declaredLength > limit { throw tooLarge(limit) }
        var buffer = ByteBuffer()
        var spool: (path: String, handle: FileHandle)?
        defer {
            if let spool {
                try? spool.handle.close()
                try? FileManager.default.removeItem(atPath: spool.path)
            }
        }
        var total = 0
        for try await chunk in body {
            total += chunk.readableBytes
            if total > limit { throw tooLarge(limit) }
            if spool == nil && total > inMemory {
                let path = FileManager.default.temporaryDirectory.appendingPathComponent(
                    spoolPrefix + UUID().uuidString
                ).path
                // Readable by this user alone: it holds someone's portrait or voice.
                guard
                    FileManager.default.createFile(atPath: path, contents: nil, attributes: [.posixPermissions: 0o600]),
                    let handle = FileHandle(forWritingAtPath: path)
                else { throw MouthpieceError(.internalError, "The request body could not be spooled.") }
                spool = (path, handle)
                try handle.write(contentsOf: buffer.readableBytesView)
                buffer = ByteBuffer()
            }
            if let spool {
                try spool.handle.write(contentsOf: chunk.readableBytesView)
            } else {
                buffer.writeImmutableBuffer(chunk)
            }
        }
        guard let spool else { return buffer }
        try spool.handle.close()
        guard let data = FileManager.default.contents(atPath: spool.path) else {
            throw MouthpieceError(.internalError, "The request body could not be read back.")
        }
        return ByteBuffer(bytes: data)
    }

    /// Removes spooled bodies untouched for `age` seconds (a process killed mid-upload leaves its
    /// spool behind; a live upload writes to its own all the time); how many.
    static func sweepSpools(olderThan age: TimeInterval) -> Int {
        BlobStore.sweep(FileManager.default.temporaryDirectory.path, olderThan: age) { $0.hasPrefix(spoolPrefix) }
    }

    /// How often `needle` occurs in `buffer` (a linear scan).
    static func occurrences(of needle: [UInt8], in buffer: ByteBuffer) -> Int {
        guard !needle.isEmpty else { return 0 }
        return buffer.withUnsafeReadableBytes { haystack in
            needle.withUnsafeBytes { pattern in
                guard let base = haystack.baseAddress, haystack.count >= pattern.count else { return 0 }
                var count = 0
                var offset = 0
                // memchr finds each candidate first byte; memcmp checks the rest.
                while offset + pattern.count <= haystack.count,
                    let found = memchr(base + offset, Int32(needle[0]), haystack.count - offset - pattern.count + 1)
                {
                    let at = base.distance(to: UnsafeRawPointer(found))
                    if memcmp(found, pattern.baseAddress!, pattern.count) == 0 {
                        count += 1
                        offset = at + pattern.count
                    } else {
                        offset = at + 1
                    }
                }
                return count
            }
        }
    }
}

/// Work of one kind that one key may have in flight at once (request bodies being read, avatar
/// analyses): past the limit a request is refused with 429 `concurrency_limit` and Retry-After,
/// so one key cannot fill the server's memory or its analysis threads.
final class PerKeySlots: Sendable {
    let limit: Int
    let what: String
    private let counts = Mutex<[String: Int]>([:])

    init(limit: Int, what: String) {
        self.limit = limit
        self.what = what
    }

    func withSlot<T>(_ key: String, _ body: () async throws -> T) async throws -> T {
        let taken = counts.withLock { counts in
            guard counts[key, default: 0] < limit else { return false }
            counts[key, default: 0] += 1
            return true
        }
        guard taken else {
            throw RetryLater(
                error: MouthpieceError(
                    .concurrencyLimit, "This key already has \(limit) \(what) in flight; retry when one finishes."),
                seconds: 1)
        }
        defer {
            counts.withLock { counts in
                counts[key, default: 1] -= 1
                if counts[key] == 0 { counts[key] = nil }
            }
        }
        return try await body()
    }
}
