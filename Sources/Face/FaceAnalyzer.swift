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

    private let models: FaceModels

    public init(models: FaceModels) { self.models = models }

    /// Analyses `image`; `faceIndex` picks a face by position in the strongest-first list.
    public func analyze(_ image: RGBImage, faceIndex: Int? = nil) throws -> FaceAnalysis {
        let boxes = try detect(image)
        guard let best = boxes.first else {
            throw MouthpieceError(
                .noFaceDetected,
                "No human face was found in the portrait; use a photo with one clearly visible, "
                    + "front-facing face.",
                field: "image")
        }
        let kept = boxes.filter { $0.score >= best.score * relativeScoreFloor }
        var faces: [DetectedFace] = []
        for box in kept {
            let landmarks = try fitLandmarks(image, box: box)
            faces.append(DetectedFace(box: box.rect, score: box.score, landmarks: landmarks))
        }
        let chosen: Int
        if let faceIndex {
            guard faces.indices.contains(faceIndex) else {
                throw MouthpieceError(
                    .invalidParameter, "face_index \(faceIndex) is out of range: \(faces.count) face(s) found.",
                    field: "face_index")
            }
            chosen = faceIndex
        } else {
            chosen = faces.indices.max { faces[$0].box.area < faces[$1].box.area }!
        }
        let landmarks = faces[chosen].landmarks
        let pose = Self.pose(of: landmarks)
        var warnings: [FaceWarning] = []
        if faces.count > 1 { warnings.append(.multipleFaces) }
        if landmarks.interocular < lowResolutionInterocular { warnings.append(.lowResolution) }
        if abs(pose.yaw) > frontFacingLimit { warnings.append(.notFrontFacing) }
        return FaceAnalysis(
            imageWidth: image.width, imageHeight: image.height, faces: faces, chosenIndex: chosen, pose: pose,
            warnings: warnings)
    }

    /// Yaw from the nose tip's place between the two sides of the jaw; roll from the eye line.
    public static func pose(of landmarks: FaceLandmarks) -> HeadPose {
        let left = landmarks[30].x - landmarks[0].x
        let right = landmarks[16].x - landmarks[30].x
        let asymmetry = max(-1, min(1, (left - right) / max(left + right, 1)))
        let yaw = asin(asymmetry) * 180 / .pi
        let eyes = landmarks.rightEyeCenter - landmarks.leftEyeCenter
        let roll = atan2(eyes.y, eyes.x) * 180 / .pi
        return HeadPose(yaw: yaw, roll: roll)
    }

    struct Box {
        var rect: Rect
        var score: Double
    }

    func detect(_ image: RGBImage) throws -> [Box] {
        let longest = max(image.width, image.height)
        let scale = min(1.0, Double(detectionSize) / Double(longest))
        let small =
            scale < 1
            ? PixelConverter.resize(
                image, width: max(1, Int(Double(image.width) * scale)),
                height: max(1, Int(Double(image.height) * scale)))
            : image
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
