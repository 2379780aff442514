import MouthpieceCore

/// The 68 points of the iBUG 300-W scheme that dlib's predictor fits, with names for the parts.
///
/// Indices: jaw 0–16, right brow 17–21, left brow 22–26 (subject's sides), nose 27–35, eyes 36–41
/// and 42–47, outer lips 48–59, inner lips 60–67. "Left" below means the left of the picture.
public struct FaceLandmarks: Equatable, Sendable {
    public var points: [Point]

    public init(points: [Point]) {
        precondition(points.count == 68, "68 landmarks expected")
        self.points = points
    }

    public subscript(i: Int) -> Point {
        get { points[i] }
        set { points[i] = newValue }
    }

    public static let jaw = Array(0...16)
    public static let leftBrow = Array(17...21)
    public static let rightBrow = Array(22...26)
    public static let nose = Array(27...35)
    public static let leftEye = Array(36...41)
    public static let rightEye = Array(42...47)
    public static let outerLips = Array(48...59)
    public static let innerLips = Array(60...67)

    public var leftEyeCenter: Point { Point.mean(Self.leftEye.map { points[$0] }) }
    public var rightEyeCenter: Point { Point.mean(Self.rightEye.map { points[$0] }) }
    /// Distance between the eye centres: the face's unit of length.
    public var interocular: Double { leftEyeCenter.distance(to: rightEyeCenter) }
    public var mouthCenter: Point { Point.mean(Self.outerLips.map { points[$0] }) }
    public var mouthWidth: Double { points[48].distance(to: points[54]) }
    /// Gap between the inner lips at the middle, in pixels.
    public var innerLipGap: Double {
        (points[66].y - points[62].y + points[67].y - points[61].y + points[65].y - points[63].y) / 3
    }

    /// For each point, the point that takes its place in a mirror image (left and right swap).
    public static let mirrorIndex: [Int] = {
        var m = Array(0..<68)
        func pair(_ a: [Int], _ b: [Int]) {
            for (x, y) in zip(a, b) {
                m[x] = y
                m[y] = x
            }
        }
        pair(Array(0...7), Array((9...16).reversed()))
        pair(Array(17...21), Array((22...26).reversed()))
        pair([31, 32], [35, 34])
        pair([36, 37, 38, 39, 40, 41], [45, 44, 43, 42, 47, 46])
        pair([48, 49, 50, 59, 58], [54, 53, 52, 55, 56])
        pair([60, 61, 67], [64, 63, 65])
        return m
    }()

    /// Every point moved by `transform`.
    public func mapped(_ transform: (Point) -> Point) -> FaceLandmarks {
        FaceLandmarks(points: points.map(transform))
    }
}
