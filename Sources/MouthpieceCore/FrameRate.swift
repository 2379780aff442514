/// A frame rate as a fraction (`num` frames every `den` seconds), so that rates like 30000/1001 or
/// a phone's 1350/61 are kept exactly.
public struct FrameRate: Equatable, Hashable, Sendable, CustomStringConvertible {
    public let num: Int
    public let den: Int

    public init(_ num: Int, _ den: Int = 1) {
        precondition(num > 0 && den > 0, "a frame rate is positive")
        self.num = num
        self.den = den
    }

    /// Frames per second.
    public var perSecond: Double { Double(num) / Double(den) }

    /// When frame `n` starts, in seconds.
    public func seconds(ofFrame n: Int) -> Double { Double(n) * Double(den) / Double(num) }

    /// How many whole frames `seconds` holds, rounded to the nearest.
    public func frames(in seconds: Double) -> Int { Int((seconds * perSecond).rounded()) }

    public var description: String { den == 1 ? "\(num)" : "\(num)/\(den)" }
}
