import AsyncHTTPClient
import Foundation
import NIOCore
import NIOFoundationCompat

/// A client for Mouthpiece's native API (`/v1`): typed requests and answers, submit-and-wait with
/// progress, downloads, and Standard Webhooks verification (`WebhookVerifier`).
///
///     let client = MouthpieceClient(baseURL: URL(string: "http://127.0.0.1:8080")!, apiKey: key)
///     let video = try await client.render(.init(imageURL: portrait, audioURL: voice)) { print($0.progress) }
///     try await client.download(video.id, to: "out.mp4")
public struct MouthpieceClient: Sendable {
    public let baseURL: URL
    let apiKey: String
    let http: HTTPClient

    public init(baseURL: URL, apiKey: String, httpClient: HTTPClient = .shared) {
        self.baseURL = baseURL
        self.apiKey = apiKey
        self.http = httpClient
    }

    /// Queues a video; with an idempotency key, a retry returns the first submission's video.
    public func submit(_ request: VideoRequest, idempotencyKey: String? = nil) async throws -> Video {
        var headers = ["Content-Type": "application/json"]
        if let idempotencyKey { headers["Idempotency-Key"] = idempotencyKey }
        return try await send("POST", "/v1/videos", body: try JSONEncoder().encode(request), headers: headers)
    }

    public func video(_ id: String) async throws -> Video { try await send("GET", "/v1/videos/\(id)") }

    public func cancel(_ id: String) async throws -> Video { try await send("POST", "/v1/videos/\(id)/cancel") }

    /// Polls until the video is completed, failed or canceled, reporting each change.
    public func waitUntilDone(
        _ id: String, every interval: Duration = .milliseconds(500), progress: (Video) -> Void = { _ in }
    ) async throws -> Video {
        var last: (Video.Status, Double)?
        while true {
            let current = try await video(id)
            if last == nil || last! != (current.status, current.progress) {
                last = (current.status, current.progress)
                progress(current)
            }
            if current.status.isFinal { return current }
            try await Task.sleep(for: interval)
        }
    }

    /// Submits and waits: the finished video, or `MouthpieceClientError.failed` with its error.
    public func render(
        _ request: VideoRequest, idempotencyKey: String? = nil, progress: (Video) -> Void = { _ in }
    ) async throws -> Video {
        let queued = try await submit(request, idempotencyKey: idempotencyKey)
        let done = try await waitUntilDone(queued.id, progress: progress)
        guard done.status == .completed else {
            throw MouthpieceClientError.failed(
                done.error ?? Video.Failure(code: done.status.rawValue, message: "The video was \(done.status).")
            )
        }
        return done
    }

    /// Writes the finished MP4 to `path` (through a temporary name, so a failed download leaves
    /// nothing behind).
    public func download(_ id: String, to path: String) async throws {
        let data = try await raw("GET", "/v1/videos/\(id)/content")
        let temporary = path + ".partial"
        try data.write(to: URL(fileURLWithPath: temporary))
        guard rename(temporary, path) == 0 else {
            try? FileManager.default.removeItem(atPath: temporary)
            throw MouthpieceClientError.transport("Could not write \(path).")
        }
    }

    /// The languages and voice variants a script may use.
    public func voices() async throws -> Voices { try await send("GET", "/v1/voices") }

    // MARK: transport

    func send<T: Decodable>(
        _ method: String, _ path: String, body: Data? = nil, headers: [String: String] = [:]
    ) async throws -> T {
        let data = try await raw(method, path, body: body, headers: headers)
        do {
            return try JSONDecoder().decode(T.self, from: data)
        } catch {
            throw MouthpieceClientError.transport("Unexpected answer to \(method) \(path): \(error)")
        }
    }

    func raw(
        _ method: String, _ path: String, body: Data? = nil, headers: [String: String] = [:]
    ) async throws -> Data {
        var request = HTTPClientRequest(url: baseURL.absoluteString.trimmingSuffix("/") + path)
        request.method = .init(rawValue: method)
        request.headers.add(name: "Authorization", value: "Bearer \(apiKey)")
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if let body { request.body = .bytes(ByteBuffer(data: body)) }
        let response: HTTPClientResponse
        do {
            response = try await http.execute(request, timeout: .seconds(60))
        } catch {
            throw MouthpieceClientError.transport("\(method) \(path): \(error)")
        }
        let buffer = try await response.body.collect(upTo: 1 << 30)
        let data = Data(buffer: buffer)
        guard (200..<300).contains(Int(response.status.code)) else {
            let answer = try? JSONDecoder().decode(ErrorAnswer.self, from: data)
            throw MouthpieceClientError.api(
                status: Int(response.status.code), code: answer?.error.code ?? "http_\(response.status.code)",
                message: answer?.error.message ?? String(decoding: data.prefix(300), as: UTF8.self),
                field: answer?.error.field)
        }
        return data
    }

    struct ErrorAnswer: Decodable {
        struct Body: Decodable {
            let code: String
            let message: String
            let field: String?
        }
        let error: Body
    }
}

extension String {
    fileprivate func trimmingSuffix(_ suffix: String) -> String {
        hasSuffix(suffix) ? String(dropLast(suffix.count)) : self
    }
}

/// What went wrong, as the API said it (stable `code`), or on the way there.
public enum MouthpieceClientError: Error, Equatable, Sendable {
    case api(status: Int, code: String, message: String, field: String?)
    case failed(Video.Failure)
    case transport(String)
}
