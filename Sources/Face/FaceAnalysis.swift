import MouthpieceCore

/// A face found in a portrait: its box, detector score and landmarks, in portrait pixels.
public struct DetectedFace: Equatable, Sendable {
    public let box: Rect
    public let score: Double
    public let landmarks: FaceLandmarks

    public init(box: Rect, score: Double, landmarks: FaceLandmarks) {
        self.box = box
        self.score = score
        self.landmarks = landmarks
    }
}

/// Head pose estimated from the landmarks, in degrees.
public struct HeadPose: Equatable, Sendable {
    /// Positive when the face turns towards the picture's right.
    public let yaw: Double
    /// Positive when the head tilts clockwise in the picture.
    public let roll: Double

    public init(yaw: Double, roll: Double) {
        self.yaw = yaw
        self.roll = roll
    }
}

/// Something about the portrait worth telling the user; none of these stop a render.
public enum FaceWarning: String, Sendable, CaseIterable {
    case multipleFaces = "multiple_faces"
    case lowResolution = "low_resolution"
    case notFrontFacing = "not_front_facing"
    /// Found by the rig, not the analysis: the portrait's lips are far apart.
    case mouthOpenAtRest = "mouth_open_at_rest"

    public var message: String {
        switch self {
        case .multipleFaces:
            return
                "Several faces were found; one is animated (the largest, unless face_index picks another) and the others stay still."
        case .lowResolution: return "The face is small (under 80 px between the eyes); the result may look soft."
        case .notFrontFacing: return "The head is turned more than 30 degrees; a front-facing photo animates best."
        case .mouthOpenAtRest:
            return
                "The mouth is open in the photo (lips apart by more than a third of its width, or apart with no edge to move them by): it was closed before animating, the jaw brought up and the lips together, so the video starts with the mouth shut and the chin and neck are longer than in the photo; a photo with the mouth closed or in a small smile animates best."
        }
    }
}

/// What face analysis learns from a portrait: every face found, the one to animate, its pose, and
/// the warnings.
public struct FaceAnalysis: Sendable {
    public let imageWidth: Int
    public let imageHeight: Int
    /// Every face, strongest first.
    public let faces: [DetectedFace]
    /// Index into `faces` of the face to animate.
    public let chosenIndex: Int
    public let pose: HeadPose
    public let warnings: [FaceWarning]

    public var face: DetectedFace { faces[chosenIndex] }
    public var landmarks: FaceLandmarks { face.landmarks }

    /// The analysis of faces found (by the detector, or recorded earlier): the face to animate
    /// (`faceIndex`, else the largest), its pose and the warnings.
    public init(
        imageWidth: Int, imageHeight: Int, faces: [DetectedFace], faceIndex: Int?,
        lowResolutionInterocular: Double = 80, frontFacingLimit: Double = 30
    ) throws {
        guard !faces.isEmpty else {
            throw MouthpieceError(
                .noFaceDetected,
                "No human face was found in the portrait (also looked for enlarged, mirrored and tilted); use a "
                    + "photo with one clearly visible, front-facing face.",
                field: "image")
        }
        if let faceIndex {
            guard faces.indices.contains(faceIndex) else {
                throw MouthpieceError(
                    .invalidParameter, "face_index \(faceIndex) is out of range: \(faces.count) face(s) found.",
                    field: "face_index")
            }
            chosenIndex = faceIndex
        } else {
            chosenIndex = faces.indices.max { faces[$0].box.area < faces[$1].box.area }!
        }
        let landmarks = faces[chosenIndex].landmarks
        pose = FaceAnalyzer.pose(of: landmarks)
        var warnings: [FaceWarning] = []
        if faces.count > 1 { warnings.append(.multipleFaces) }
        if landmarks.interocular < lowResolutionInterocular { warnings.append(.lowResolution) }
        if abs(pose.yaw) > frontFacingLimit { warnings.append(.notFrontFacing) }
        self.imageWidth = imageWidth
        self.imageHeight = imageHeight
        self.faces = faces
        self.warnings = warnings
    }
}
