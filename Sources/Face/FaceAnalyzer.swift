import CDlibFace
import Foundation
import Media
import MouthpieceCore

/// Finds faces and fits landmarks: `RGBImage -> FaceAnalysis`.
public struct FaceAnalyzer: Sendable {
    /// The longest side the detector sees; larger portraits are shrunk for detection only.
    public var detectionSize = 1000
    /// Faces scoring below this fraction of the best are treated as detector noise.
    public var relativeScoreFloor = 0.3
    public var lowResolutionInterocular = 80.0
    public var frontFacingLimit = 30.0
    /// Whether a face found only weakly is looked for again (tilted, mirrored): right for a
    /// portrait, too slow for every frame of a video being measured, where only a frame with no
    /// face at all gets the second look.
    public var recheckWeakFaces = true

    private let models: FaceModels

    public init(models: FaceModels) { self.models = models }

    /// Analyses `image`; `faceIndex` picks a face by position in the strongest-first list.
    public func analyze(_ image: RGBImage, faceIndex: Int? = nil) throws -> FaceAnalysis {
        var faces: [DetectedFace] = []
        let boxes = try detect(image)
        if let best = boxes.first {
            let kept = boxes.filter { $0.score >= best.score * relativeScoreFloor }
            for box in kept {
                let landmarks = try fitLandmarks(image, box: box)
                faces.append(DetectedFace(box: box.rect, score: box.score, landmarks: landmarks))
            }
        }
        // Nothing found, or only weakly (a tilted face is often found upright, but its landmarks
        // then miss the tilt): look again, and keep what scores clearly better.
        if faces.first.map({ recheckWeakFaces && $0.score < Self.confidentScore }) ?? true {
            let again = try recover(image)
            if let found = again.first, found.score > (faces.first?.score ?? 0) * 1.25 { faces = again }
        }
        return try FaceAnalysis(
            imageWidth: image.width, imageHeight: image.height, faces: faces, faceIndex: faceIndex,
            lowResolutionInterocular: lowResolutionInterocular, frontFacingLimit: frontFacingLimit)
    }

    /// Yaw from the nose tip's place between the two sides of the jaw; roll from the eye line.
    public static func pose(of landmarks: FaceLandmarks) -> HeadPose {
        let eyes = landmarks.rightEyeCenter - landmarks.leftEyeCenter
        let roll = atan2(eyes.y, eyes.x) * 180 / .pi
        // Measured along the eye line, so that a tilted head's yaw is its own.
        let axis = eyes * (1 / max(eyes.length, 1e-9))
        func along(_ v: Point) -> Double { v.x * axis.x + v.y * axis.y }
        let left = along(landmarks[30] - landmarks[0])
        let right = along(landmarks[16] - landmarks[30])
        let asymmetry = max(-1, min(1, (left - right) / max(left + right, 1)))
        let yaw = asin(asymmetry) * 180 / .pi
        return HeadPose(yaw: yaw, roll: roll)
    }

    /// A copy of the portrait to look in again, and how its points map back.
    struct View {
        let image: RGBImage
        let upsample: Int
        let toOriginal: (Point) -> Point
        /// Left and right swapped: landmark indices swap too.
        let mirrored: Bool
    }

    /// The tilts tried, in degrees, when nothing is found upright: dlib's detector wants a face
    /// within about 20 degrees of upright.
    static let recoveryTilts = [-20.0, 20.0, -38.0, 38.0]

    /// Looks again for a face the upright pass missed: the full-resolution
    /// picture if it was shrunk, an enlarged copy (small faces), a mirror image (the detector's
    /// templates are not symmetric: a turned or grimacing face is found on one side more easily),
    /// then copies turned by `recoveryTilts`. The view with the strongest face gives the faces,
    /// with the landmarks fitted in that view and mapped back. Detections in these views must score
    /// at least `recoveryScore`, so that a picture with no face stays refused.
    func recover(_ image: RGBImage) throws -> [DetectedFace] {
        var views: [() -> View] = []
        let longest = max(image.width, image.height)
        let identity: (Point) -> Point = { $0 }
        if longest > detectionSize && longest <= 2 * detectionSize {
            views.append { View(image: image, upsample: 0, toOriginal: identity, mirrored: false) }
        }
        let (small, scale) = detectionCopy(image)
        let back: (Point) -> Point = { Point($0.x / scale, $0.y / scale) }
        if scale < 1 {
            views.append { View(image: small, upsample: 1, toOriginal: back, mirrored: false) }
        }
        let width = Double(small.width)
        views.append {
            View(image: small.mirrored(), upsample: 0, toOriginal: { back(Point(width - $0.x, $0.y)) }, mirrored: true)
        }
        for degrees in Self.recoveryTilts {
            views.append {
                let angle = degrees * .pi / 180
                let centre = Point(Double(small.width) / 2, Double(small.height) / 2)
                let (c, s) = (cos(angle), sin(angle))
                // The view shows the picture turned by `angle`; a view point turns back by -angle.
                return View(
                    image: small.rotated(by: angle), upsample: 0,
                    toOriginal: { p in
                        let d = p - centre
                        return back(Point(centre.x + d.x * c + d.y * s, centre.y - d.x * s + d.y * c))
                    }, mirrored: false)
            }
        }
        // Every view is tried and the one with the strongest face wins: a tilted face may also
        // be found, weakly and with poorly fitted landmarks, in a view that does not undo its tilt.
        var found: (view: View, boxes: [Box])?
        for make in views {
            let view = make()
            let boxes = try detect(view.image, upsample: view.upsample).filter { $0.score >= Self.recoveryScore }
            guard let best = boxes.first else { continue }
            if found == nil || best.score > found!.boxes[0].score { found = (view, boxes) }
        }
        guard let (view, boxes) = found else { return [] }
        return try boxes.filter { $0.score >= boxes[0].score * relativeScoreFloor }.map { box in
            var points = try fitLandmarks(view.image, box: box).points.map(view.toOriginal)
            if view.mirrored { points = FaceLandmarks.mirrorIndex.map { points[$0] } }
            return DetectedFace(box: Rect.bounding(points), score: box.score, landmarks: FaceLandmarks(points: points))
        }
    }

    /// A face scoring at least this upright is taken as found (front-facing portraits score
    /// 1.4 to 2.8; a face tilted by 40 degrees about 0.9).
    static let confidentScore = 1.2

    /// The least score a face found on a second look must have (dlib's scores: 0 at its
    /// threshold, real faces about 0.5 to 3).
    static let recoveryScore = 0.15

    struct Box {
        var rect: Rect
        var score: Double
    }

    /// The picture shrunk to at most `detectionSize` on its longest side, and the scale used.
    func detectionCopy(_ image: RGBImage) -> (RGBImage, Double) {
        let scale = min(1.0, Double(detectionSize) / Double(max(image.width, image.height)))
        guard scale < 1 else { return (image, 1) }
        let small = PixelConverter.resize(
            image, width: max(1, Int(Double(image.width) * scale)), height: max(1, Int(Double(image.height) * scale)))
        return (small, scale)
    }

    func detect(_ image: RGBImage) throws -> [Box] {
        let (small, scale) = detectionCopy(image)
        var boxes = try detect(small, upsample: 0)
        // Small pictures may hold faces under the detector's 80 px window: look again, enlarged.
        if boxes.isEmpty && max(small.width, small.height) <= detectionSize {
            boxes = try detect(small, upsample: 1)
        }
        return boxes.map { box in
            Box(
                rect: Rect(
                    x: box.rect.x / scale, y: box.rect.y / scale, width: box.rect.width / scale,
                    height: box.rect.height / scale), score: box.score)
        }
    }

    private func detect(_ image: RGBImage, upsample: Int) throws -> [Box] {
        var found = [mp_face_box](repeating: mp_face_box(), count: 32)
        let count = image.pixels.withUnsafeBufferPointer { pixels in
            mp_detect_faces(
                models.handle, pixels.baseAddress, Int32(image.width), Int32(image.height), Int32(image.stride),
                Int32(upsample), 0, &found, Int32(found.count))
        }
        guard count >= 0 else { throw MouthpieceError(.internalError, "The face detector failed.") }
        return found.prefix(Int(min(count, 32))).map { box in
            Box(
                rect: Rect(x: box.left, y: box.top, width: box.right - box.left, height: box.bottom - box.top),
                score: box.score)
        }
    }

    func fitLandmarks(_ image: RGBImage, box: Box) throws -> FaceLandmarks {
        // The predictor only looks near the box: hand it a crop with a generous margin.
        let margin = max(box.rect.width, box.rect.height)
        let x0 = max(0, Int(box.rect.minX - margin))
        let y0 = max(0, Int(box.rect.minY - margin))
        let x1 = min(image.width, Int(box.rect.maxX + margin))
        let y1 = min(image.height, Int(box.rect.maxY + margin))
        let crop = image.cropped(x: x0, y: y0, width: x1 - x0, height: y1 - y0)
        let local = mp_face_box(
            left: box.rect.minX - Double(x0), top: box.rect.minY - Double(y0), right: box.rect.maxX - Double(x0),
            bottom: box.rect.maxY - Double(y0), score: box.score)
        var values = [Double](repeating: 0, count: 136)
        let status = crop.pixels.withUnsafeBufferPointer { pixels in
            mp_face_landmarks(
                models.handle, pixels.baseAddress, Int32(crop.width), Int32(crop.height), Int32(crop.stride), local,
                &values)
        }
        guard status == 0 else { throw MouthpieceError(.internalError, "Landmark fitting failed.") }
        let points = (0..<68).map { Point(values[2 * $0] + Double(x0), values[2 * $0 + 1] + Double(y0)) }
        return FaceLandmarks(points: points)
    }
}
