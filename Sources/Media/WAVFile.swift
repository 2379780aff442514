import Foundation
import MouthpieceCore

extension AudioClip {
    /// The clip as a 16-bit PCM mono WAV file's bytes.
    public func wavBytes() -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(44 + samples.count * 2)
        func append<T: FixedWidthInteger>(_ value: T) { withUnsafeBytes(of: value.littleEndian) { bytes += $0 } }
        let dataSize = UInt32(samples.count * 2)
        bytes += Array("RIFF".utf8)
        append(UInt32(36) + dataSize)
        bytes += Array("WAVEfmt ".utf8)
        append(UInt32(16))
        append(UInt16(1))  // PCM
        append(UInt16(1))  // mono
        append(UInt32(sampleRate))
        append(UInt32(sampleRate * 2))
        append(UInt16(2))
        append(UInt16(16))
        bytes += Array("data".utf8)
        append(dataSize)
        for s in samples { append(Int16(max(-1, min(1, s)) * 32767)) }
        return bytes
    }
}
