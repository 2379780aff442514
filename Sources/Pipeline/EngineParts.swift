import Face
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
