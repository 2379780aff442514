import Face
import Foundation
import Media
import MouthpieceCore
import Render

/// `mouthpiece inspect`: the face analysis of a portrait, and optionally a picture of it.
public struct PortraitInspection: Sendable {
    public let analysis: FaceAnalysis
    public let rig: FaceRig

    public init(imagePath: String, faceIndex: Int? = nil) throws {
        let portrait = try ImageDecoder.decode(path: imagePath)
        analysis = try FaceAnalyzer(models: FaceModels.shared()).analyze(portrait, faceIndex: faceIndex)
        rig = FaceRig(
            landmarks: analysis.landmarks, frameWidth: portrait.width, frameHeight: portrait.height,
            portrait: portrait)
        self.portrait = portrait
    }

    private let portrait: RGBImage

    /// The analysis's warnings, and the rig's (`mouth_open_at_rest`).
    public var warnings: [FaceWarning] { analysis.warnings + (rig.tooOpenToClose ? [.mouthOpenAtRest] : []) }

    /// Writes a PNG with boxes, landmarks and the mesh drawn on the portrait.
    public func writeOverlay(to path: String) throws {
        let picture = Overlay.draw(analysis: analysis, on: portrait, rig: rig)
        let bytes = try ImageEncoder.png(picture)
        try AtomicFile.write(bytes, to: path)
    }
}

/// Writes small files atomically (temporary name, then rename).
public enum AtomicFile {
    public static func write(_ bytes: [UInt8], to path: String) throws {
        let temporary = try OutputFile.reserve(path)
        do {
            try Data(bytes).write(to: URL(fileURLWithPath: temporary))
            try OutputFile.commit(temporary, to: path)
        } catch {
            OutputFile.discard(temporary)
            throw (error as? MouthpieceError)
                ?? MouthpieceError(.outputNotWritable, "Writing \(path) failed.", field: "output")
        }
    }
}
