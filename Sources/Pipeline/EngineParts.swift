import Face
import Foundation
import Media
import MouthpieceCore
import Speech

/// Finds the face that talks in a portrait. dlib's detector and 68 landmarks by default; a test
/// gives faces recorded earlier and runs the whole pipeline without the 99 MB model.
public struct PortraitAnalyser: Sendable {
    public let analyse: @Sendable (_ portrait: RGBImage, _ faceIndex: Int?) throws -> FaceAnalysis

    public init(_ analyse: @escaping @Sendable (_ portrait: RGBImage, _ faceIndex: Int?) throws -> FaceAnalysis) {
        self.analyse = analyse
    }

    /// dlib, its model loaded once per process.
    public static let dlib = PortraitAnalyser { portrait, faceIndex in
        try FaceAnalyzer(models: FaceModels.shared()).analyze(portrait, faceIndex: faceIndex)
    }

    /// dlib, its model loaded for this one analysis and freed right after: for a process that
    /// analyses one portrait (the command line), whose encoder then has the memory.
    public static let dlibOnce = PortraitAnalyser { portrait, faceIndex in
        let path = ProcessInfo.processInfo.environment["MOUTHPIECE_LANDMARK_MODEL"] ?? FaceModels.defaultModelPath
        return try FaceAnalyzer(models: FaceModels.load(path: path)).analyze(portrait, faceIndex: faceIndex)
    }

    /// Faces found before (in portrait pixels), chosen among as dlib's would be.
    public static func recorded(_ faces: [DetectedFace]) -> PortraitAnalyser {
        PortraitAnalyser { portrait, faceIndex in
            try FaceAnalysis(
                imageWidth: portrait.width, imageHeight: portrait.height, faces: faces, faceIndex: faceIndex)
        }
    }
}

/// Says a script, with the phonemes and words at their times. espeak-ng by default.
public struct ScriptSpeaker: Sendable {
    public let speak: @Sendable (Script) throws -> SpokenText

    public init(_ speak: @escaping @Sendable (Script) throws -> SpokenText) { self.speak = speak }

    public static let espeak = ScriptSpeaker { try SpeechSynthesizer.speak($0) }
}
