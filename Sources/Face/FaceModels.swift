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

    /// How the models were read.
    public enum Source: Int32, Sendable {
        /// dlib's own reader (slow; for comparison).
        case dlibReader = 0
        /// Mouthpiece's reader of dlib's file, with the detector unpacked from dlib's built-in data.
        case fastReader = 1
        /// Mouthpiece's cache of both, made on first use.
        case cache = 2
    }

    public var source: Source { Source(rawValue: mp_face_models_source(handle)) ?? .dlibReader }

    /// Where the models' cache lives: `MOUTHPIECE_CACHE_DIR`, else `$XDG_CACHE_HOME/mouthpiece`,
    /// else `~/.cache/mouthpiece`; nil (no cache) when `MOUTHPIECE_CACHE_DIR` is `off` or no home
    /// is known.
    public static var defaultCacheDirectory: String? {
        let environment = ProcessInfo.processInfo.environment
        if let dir = environment["MOUTHPIECE_CACHE_DIR"], !dir.isEmpty { return dir == "off" ? nil : dir }
        if let dir = environment["XDG_CACHE_HOME"], dir.hasPrefix("/") { return dir + "/mouthpiece" }
        if let home = environment["HOME"], home.hasPrefix("/") { return home + "/.cache/mouthpiece" }
        return nil
    }

    deinit { mp_face_models_free(handle) }

    /// Loads the models from `path`. `fastReader` parses the predictor with Mouthpiece's own
    /// reader (several times faster than dlib's); false uses dlib's, for comparison. With a
    /// `cacheDirectory` (and the fast reader), both models load from a cache there, made from this
    /// file on first use (about 0.05 s instead of 0.6 s); a directory that cannot be made or
    /// written only means no cache.
    public static func load(
        path: String, fastReader: Bool = true, cacheDirectory: String? = defaultCacheDirectory
    ) throws -> FaceModels {
        guard FileManager.default.fileExists(atPath: path) else {
            throw MouthpieceError(
                .modelUnavailable,
                "The face landmark model \(path) is missing: install Debian's libdlib-data "
                    + "or set MOUTHPIECE_LANDMARK_MODEL.")
        }
        var message = [CChar](repeating: 0, count: 512)
        let cache = cacheDirectory.flatMap { directory -> String? in
            guard
                (try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)) != nil
            else { return nil }
            return directory + "/face-models-v1.bin"
        }
        guard let handle = mp_face_models_load(path, fastReader ? 1 : 0, cache, &message, Int32(message.count))
        else {
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
