import CDlibFace
import Foundation
import MouthpieceCore

/// dlib's HOG face detector and 68-point shape predictor, loaded once per process.
///
/// The C side serialises calls with its own mutex, so one instance serves every task.
public final class FaceModels: @unchecked Sendable {
    /// Where Debian's `libdlib-data` puts the landmark model; `MOUTHPIECE_LANDMARK_MODEL` overrides.
    public static let defaultModelPath = "/usr/share/dlib/shape_predictor_68_face_landmarks.dat"

    // Owned for the process lifetime; freed in deinit (never, for the shared instance).
    let handle: OpaquePointer

    private init(handle: OpaquePointer) { self.handle = handle }

    /// Whether the predictor was parsed by the fast reader (false: dlib's own reader).
    public var readFast: Bool { mp_face_models_read_fast(handle) == 1 }

    deinit { mp_face_models_free(handle) }

    /// Loads the models from `path`. `fastReader` parses the predictor with Mouthpiece's own
    /// reader (several times faster than dlib's); false uses dlib's, for comparison.
    public static func load(path: String, fastReader: Bool = true) throws -> FaceModels {
        guard FileManager.default.fileExists(atPath: path) else {
            throw MouthpieceError(
                .modelUnavailable,
                "The face landmark model \(path) is missing: install Debian's libdlib-data "
                    + "or set MOUTHPIECE_LANDMARK_MODEL.")
        }
        var message = [CChar](repeating: 0, count: 512)
        guard let handle = mp_face_models_load(path, fastReader ? 1 : 0, &message, Int32(message.count)) else {
            throw MouthpieceError(
                .modelUnavailable, "The face landmark model could not be loaded: \(String(cBuffer: message)).")
        }
        return FaceModels(handle: handle)
    }

    private static let sharedResult: Result<FaceModels, MouthpieceError> = {
        let path = ProcessInfo.processInfo.environment["MOUTHPIECE_LANDMARK_MODEL"] ?? defaultModelPath
        do {
            return .success(try load(path: path))
        } catch let error as MouthpieceError {
            return .failure(error)
        } catch {
            return .failure(MouthpieceError(.modelUnavailable, "\(error)"))
        }
    }()

    /// The process-wide instance, loaded on first use (about a second).
    public static func shared() throws -> FaceModels { try sharedResult.get() }
}
