import Foundation
import Hummingbird
import MouthpieceCore
import Store

/// The request context of the API: the authenticated key, and upload limits sized for portraits
/// and audio.
public struct APIContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    public var key: APIKey?

    public init(source: Source) {
        coreContext = .init(source: source)
        key = nil
    }

    /// Bodies up to 64 MiB (a 20 MB portrait and long audio, base64-encoded in JSON).
    public var maxUploadSize: Int { 64 * 1024 * 1024 }

    /// Request bodies being read at once, per key (each may be up to `maxUploadSize`).
    static let uploads = PerKeySlots(limit: 4, what: "uploads")
    /// Portrait analyses (`POST /v1/avatars`) at once, per key.
    static let analyses = PerKeySlots(limit: 2, what: "avatar analyses")

    /// JSON or multipart/form-data.
    public var requestDecoder: APIRequestDecoder { APIRequestDecoder() }

    /// Answers in the API's JSON: sorted keys, slashes as they are, `application/json`.
    public var responseEncoder: APIResponseEncoder { APIResponseEncoder() }
}

/// Every error leaves with a fitting status, in the shape of the protocol it is answered in: ours
/// (`{"error": {"code", "message", "field"?}}`) unless a compatibility face gives its own `shape`.
struct ErrorMiddleware: RouterMiddleware {
    typealias Context = APIContext
    /// The answer for an error, given the status `status(for:)` chose (or the HTTP error's own).
    var shape: @Sendable (MouthpieceError, HTTPResponse.Status) -> Response = ErrorMiddleware.native

    func handle(
        _ request: Request, context: APIContext, next: (Request, APIContext) async throws -> Response
    ) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as MouthpieceError {
            return response(error)
        } catch let retry as RetryLater {
            var response = response(retry.error)
            response.headers[.retryAfter] = String(retry.seconds)
            return response
        } catch let error as HTTPError {
            let code: MouthpieceError.Code =
                switch error.status {
                case .notFound: .notFound
                case .unauthorized: .unauthorized
                case .contentTooLarge: .payloadTooLarge
                default: .invalidParameter
                }
            return response(MouthpieceError(code, error.body ?? error.status.reasonPhrase), status: error.status)
        } catch is DecodingError {
            return response(MouthpieceError(.invalidParameter, "The request body is not the JSON expected."))
        } catch {
            context.logger.error("request failed: \(error)")
            return response(MouthpieceError(.internalError, "Something went wrong on our side."))
        }
    }

    func response(_ error: MouthpieceError, status: HTTPResponse.Status? = nil) -> Response {
        shape(error, status ?? Self.status(for: error.code))
    }

    static func status(for code: MouthpieceError.Code) -> HTTPResponse.Status {
        switch code {
        case .unauthorized: .unauthorized
        case .notFound, .inputNotFound: .notFound
        case .quotaExceeded: HTTPResponse.Status(code: 402)
        case .concurrencyLimit, .queueFull: .tooManyRequests
        case .payloadTooLarge, .imageTooLarge: .contentTooLarge
        case .videoInProgress: .conflict
        case .consentRequired: .forbidden
        case .insufficientStorage: HTTPResponse.Status(code: 507)
        case .internalError, .encodingFailed, .modelUnavailable, .outputNotWritable: .internalServerError
        default: .badRequest
        }
    }

    /// Our own shape.
    @Sendable static func native(_ error: MouthpieceError, status: HTTPResponse.Status) -> Response {
        JSONResponse.make(
            ["error": ErrorBody(code: error.code.rawValue, message: error.message, field: error.field)], status: status)
    }
}

/// A refusal the client may retry after `seconds` (answered with `Retry-After`).
struct RetryLater: Error {
    let error: MouthpieceError
    let seconds: Int
}

/// Requires `Authorization: Bearer <key>` (or `Key <key>`, as fal's client sends, or `Basic` as
/// D-ID's clients send: the key itself, or base64 of `key:` / `user:key`; or `x-api-key: <key>` as
/// Sync.so's send) and puts the key in the context.
struct AuthMiddleware: RouterMiddleware {
    typealias Context = APIContext
    let store: any DataStore

    func handle(
        _ request: Request, context: APIContext, next: (Request, APIContext) async throws -> Response
    ) async throws -> Response {
        var found: APIKey?
        // Sync.so's clients send the key alone, as `x-api-key`.
        if request.headers[.authorization] == nil, let value = request.headers[.init("x-api-key")!] {
            found = try await store.key(secret: value.trimmingCharacters(in: .whitespaces))
            guard let key = found else { throw MouthpieceError(.unauthorized, "The API key is not valid.") }
            return try await next(request, context.with(key))
        }
        guard let header = request.headers[.authorization] else {
            throw MouthpieceError(.unauthorized, "Send your API key as `Authorization: Bearer <key>`.")
        }
        let parts = header.split(separator: " ", maxSplits: 1)
        if parts.count == 2, ["bearer", "key", "basic"].contains(parts[0].lowercased()) {
            for candidate in Self.candidates(scheme: parts[0].lowercased(), String(parts[1])) where found == nil {
                found = try await store.key(secret: candidate)
            }
        }
        guard let key = found else {
            throw MouthpieceError(.unauthorized, "The API key is not valid.")
        }
        return try await next(request, context.with(key))
    }
}

extension APIContext {
    /// The context with `key` as the caller's.
    func with(_ key: APIKey) -> APIContext {
        var context = self
        context.key = key
        context.logger[metadataKey: "key_id"] = .string(key.id)
        return context
    }
}

extension AuthMiddleware {
    /// The secrets a header value may hold.
    static func candidates(scheme: String, _ value: String) -> [String] {
        let value = value.trimmingCharacters(in: .whitespaces)
        guard scheme == "basic" else { return [value] }
        var out = [value]
        if let data = Data(base64Encoded: value), let decoded = String(data: data, encoding: .utf8) {
            out += decoded.split(separator: ":", omittingEmptySubsequences: true).map(String.init)
        }
        return out
    }
}

/// Encodes the `ResponseEncodable` values routes return exactly as `JSONResponse` does.
public struct APIResponseEncoder: ResponseEncoder {
    public func encode(_ value: some Encodable, from request: Request, context: some RequestContext) throws -> Response
    {
        JSONResponse.make(value)
    }
}

/// JSON answers with a status or headers of their own (a plain `ResponseEncodable` value answers
/// 200 through the context's encoder, the same `APIJSON.encoder`).
enum JSONResponse {
    static func make(_ value: some Encodable, status: HTTPResponse.Status = .ok, headers: HTTPFields = [:]) -> Response
    {
        // Our own value types: encoding them cannot fail short of a bug, which answers `{}`.
        let data = (try? APIJSON.data(value)) ?? Data("{}".utf8)
        var fields = headers
        fields[.contentType] = "application/json"
        return Response(status: status, headers: fields, body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}

/// Refuses a body whose declared length is over the limit before any of it is read (413
/// `payload_too_large`, with the limit), on every route.
struct BodyLimitMiddleware: RouterMiddleware {
    typealias Context = APIContext

    func handle(
        _ request: Request, context: APIContext, next: (Request, APIContext) async throws -> Response
    ) async throws -> Response {
        if let length = request.headers[.contentLength].flatMap({ Int($0) }), length > context.maxUploadSize {
            throw BodyReader.tooLarge(context.maxUploadSize)
        }
        return try await next(request, context)
    }
}
