import Face
import Foundation
import Media
import MouthpieceCore

/// A video of a person looked at once (for a video avatar): the clip's facts, how many frames show
/// a usable face, where a clone would turn around, and a still of the first usable frame.
public struct VideoInspection: Sendable {
    public let info: VideoSource.Info
    public let frames: Int
    public let usableFrames: Int
    public let turningPoints: (first: Int, last: Int)
    /// The first frame with a usable face (RGB, for a preview).
    public let still: RGBImage
    /// The face on every frame (what `LipSyncJob.knownTrack` takes).
    public let track: FaceTrack

    /// Reads the whole clip; `no_face_detected` when no frame has a usable face.
    public init(videoPath: String, faceIndex: Int? = nil, limits: VideoSource.Limits = .init()) throws {
        let source = try VideoSource(path: videoPath, limits: limits)
        let tracker = FaceTracker(models: try FaceModels.shared(), faceIndex: faceIndex)
        var still: YUVImage?
        var count = 0
        while let frame = try source.next() {
            if let face = try tracker.track(frame), face.usable, still == nil { still = frame }
            count += 1
        }
        guard let still else {
            throw MouthpieceError(
                .noFaceDetected,
                "No frame of the video shows a usable face (front-facing, at least 24 px between the eyes).",
                field: "video")
        }
        let track = tracker.finish()
        self.track = track
        info = source.info
        frames = count
        usableFrames = track.usableCount
        turningPoints = LipSyncJob.turningPoints(track)
        self.still = still.rgbImage()
    }

    /// Writes the still as a PNG.
    public func writePreview(to path: String) throws { try AtomicFile.write(try ImageEncoder.png(still), to: path) }
}

extension YUVImage {
    /// The picture in RGB (BT.709, limited range), for previews.
    func rgbImage() -> RGBImage {
        var pixels = [UInt8](repeating: 0, count: width * height * 3)
        var o = 0
        for row in 0..<height {
            for x in 0..<width {
                let (r, g, b) = rgb(x: x, y: row)
                pixels[o] = r
                pixels[o + 1] = g
                pixels[o + 2] = b
                o += 3
            }
        }
        return RGBImage(width: width, height: height, pixels: pixels)
    }
}
