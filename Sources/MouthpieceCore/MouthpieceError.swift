/// A refusal or failure a user can act on: a stable machine-readable code and one sentence.
///
/// Every stage throws this type, so the command line and the service report the same codes.
public struct MouthpieceError: Error, Equatable, CustomStringConvertible, Sendable {
    /// Stable codes; clients match on these strings, so they never change once published.
    public enum Code: String, Sendable, CaseIterable {
        case noFaceDetected = "no_face_detected"
        case unsupportedImage = "unsupported_image"
        case imageTooLarge = "image_too_large"
        case unsupportedAudio = "unsupported_audio"
        case audioTooShort = "audio_too_short"
        case audioTooLong = "audio_too_long"
        case invalidParameter = "invalid_parameter"
        case inputNotFound = "input_not_found"
        case outputNotWritable = "output_not_writable"
        case modelUnavailable = "model_unavailable"
        case encodingFailed = "encoding_failed"
        case canceled = "canceled"
        case unauthorized = "unauthorized"
        case notFound = "not_found"
        case quotaExceeded = "quota_exceeded"
        case concurrencyLimit = "concurrency_limit"
        case queueFull = "queue_full"
        case consentRequired = "consent_required"
        case payloadTooLarge = "payload_too_large"
        case urlNotAllowed = "url_not_allowed"
        case unsupportedLanguage = "unsupported_language"
        case unsupportedVoice = "unsupported_voice"
        case emptyText = "empty_text"
        case textTooLong = "text_too_long"
        /// A video input that FFmpeg cannot decode, or one too large to handle.
        case unsupportedVideo = "unsupported_video"
        /// A video input longer than the limit.
        case videoTooLong = "video_too_long"
        case internalError = "internal_error"
        /// The operation needs a finished video (deleting one still queued or rendering).
        case videoInProgress = "video_in_progress"
        /// The server's disk is full: nothing was stored; try again later.
        case insufficientStorage = "insufficient_storage"
        /// A live session's client read its stream too slowly for too long; the session ended.
        case clientTooSlow = "client_too_slow"
    }

    public let code: Code
    public let message: String
    /// The input or option the error is about, where there is one (`image`, `audio`, `fps`).
    public let field: String?

    public init(_ code: Code, _ message: String, field: String? = nil) {
        self.code = code
        self.message = message
        self.field = field
    }

    public var description: String { "\(code.rawValue): \(message)" }

    /// Process exit status for the command line: 2 for bad input, 1 for everything else.
    public var exitStatus: Int32 {
        switch code {
        case .internalError, .encodingFailed, .modelUnavailable, .insufficientStorage: return 1
        default: return 2
        }
    }
}
