import Foundation
import Hummingbird
import MouthpieceCore
import MultipartKit

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
        let buffer = try await request.body.collect(upTo: context.maxUploadSize)
        if mediaType.isType(.multipartForm) {
            guard let boundary = mediaType.parameter, boundary.name.lowercased() == "boundary" else {
                throw MouthpieceError(.invalidParameter, "A multipart/form-data body needs a boundary.")
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
            throw MouthpieceError(.invalidParameter, "The JSON body is not as expected: \(Self.explain(error))")
        }
    }

    /// Which field was wrong, in words.
    static func explain(_ error: DecodingError) -> String {
        func path(_ context: DecodingError.Context) -> String {
            context.codingPath.map(\.stringValue).joined(separator: ".")
        }
        switch error {
        case .typeMismatch(_, let context), .valueNotFound(_, let context):
            return "\(path(context)) has the wrong type."
        case .dataCorrupted(let context):
            return context.codingPath.isEmpty ? "it is not valid." : "\(path(context)) is not valid."
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
