import Face
import Foundation
import Media
import Motion
import MouthpieceCore
import Render

/// `mouthpiece inspect`: the face analysis of a portrait, and optionally a picture of it.
public struct PortraitInspection: Sendable {
    public let analysis: FaceAnalysis
    public let rig: FaceRig

    public init(imagePath: String, faceIndex: Int? = nil, analyser: PortraitAnalyser = .dlib) throws {
        let portrait = try ImageDecoder.decode(path: imagePath)
        analysis = try analyser.analyse(portrait, faceIndex)
        rig = FaceRig(
            landmarks: analysis.landmarks, frameWidth: portrait.width, frameHeight: portrait.height,
            portrait: portrait)
        self.portrait = portrait
    }

    private let portrait: RGBImage

    /// The analysis's warnings, and the rig's (`mouth_open_at_rest`).
    public var warnings: [FaceWarning] {
        analysis.warnings + (MouthCloser.needsClosing(rig) ? [.mouthOpenAtRest] : [])
    }

    /// Writes a PNG with boxes, landmarks and the mesh drawn on the portrait.
    public func writeOverlay(to path: String) throws {
        let picture = Overlay.draw(analysis: analysis, on: portrait, rig: rig)
        let bytes = try ImageEncoder.png(picture)
        try AtomicFile.write(bytes, to: path)
    }
}

extension PortraitInspection {
    /// The sounds a pose sheet shows after the portrait itself: open, spread and rounded vowels,
    /// then /f/ (lower lip under the teeth), /s/ (teeth together) and /m/ (lips shut).
    public static let poseSounds = ["a", "i", "u", "o", "f", "s", "m"]

    /// Writes a PNG of the mouth at 1080p, pixel for pixel, in the portrait's own pose and then
    /// in each of `poseSounds`' shapes, left to right and top to bottom: what a video's widest
    /// vowel, its sibilants and its closures look like, without rendering one.
    public func writePoses(to path: String) throws {
        let framing = Framing.plan(
            imageWidth: portrait.width, imageHeight: portrait.height, face: analysis.landmarks, resolution: .p1080,
            aspect: .original)
        let (base, rig, _) = MouthCloser.rig(
            base: framing.baseFrame(from: portrait), landmarks: analysis.landmarks.mapped(framing.map))
        let renderer = FrameRenderer(base: base, rig: rig, enlargement: framing.scale)
        let lips = Array(rig.landmarks.points[48...67])
        let middle = Point.mean(lips)
        let span = max(rig.landmarks.mouthWidth, 8)
        let region = (
            x0: max(0, Int(middle.x - 1.1 * span)), y0: max(0, Int(middle.y - 0.8 * span)),
            x1: min(framing.width, Int(middle.x + 1.1 * span)), y1: min(framing.height, Int(middle.y + 0.9 * span))
        )
        let shapes = [rig.portraitMouth] + Self.poseSounds.map { MouthShape.articulation(of: $0) ?? .rest }
        var sheet = ContactSheet(
            frameCount: shapes.count, region: region, tiles: shapes.count, columns: 4,
            tileWidth: region.x1 - region.x0)
        for (index, shape) in shapes.enumerated() {
            var frame = renderer.makeFrame()
            renderer.render(FaceMotion(mouth: shape), into: &frame)
            sheet.capture(frame, index: index)
        }
        try AtomicFile.write(try ImageEncoder.png(sheet.image), to: path)
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
