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

/// Writes a 16-bit PCM mono WAV file as its samples come, never holding them: the header's
/// sizes are filled in by `finish()`.
public final class WAVWriter {
    public let sampleRate: Int
    public private(set) var samplesWritten = 0
    private let handle: FileHandle

    public init(path: String, sampleRate: Int) throws {
        self.sampleRate = sampleRate
        guard FileManager.default.createFile(atPath: path, contents: nil),
            let handle = FileHandle(forWritingAtPath: path)
        else { throw MouthpieceError(.outputNotWritable, "Cannot write the audio file \(path).") }
        self.handle = handle
        try handle.write(contentsOf: Self.header(sampleRate: sampleRate, samples: 0))
    }

    deinit { try? handle.close() }

    /// Appends samples (full scale is 1; beyond is clipped).
    public func write(_ samples: [Float]) throws {
        var bytes = [UInt8](repeating: 0, count: samples.count * 2)
        for (i, s) in samples.enumerated() {
            let v = UInt16(bitPattern: Int16(max(-1, min(1, s)) * 32767))
            bytes[2 * i] = UInt8(v & 0xFF)
            bytes[2 * i + 1] = UInt8(v >> 8)
        }
        try handle.write(contentsOf: bytes)
        samplesWritten += samples.count
    }

    /// Fills in the sizes and closes the file.
    public func finish() throws {
        try handle.seek(toOffset: 0)
        try handle.write(contentsOf: Self.header(sampleRate: sampleRate, samples: samplesWritten))
        try handle.close()
    }

    static func header(sampleRate: Int, samples: Int) -> [UInt8] {
        Array(AudioClip(sampleRate: sampleRate, samples: []).wavBytes().prefix(44)).enumerated().map { i, byte in
            // The RIFF size (offset 4) and the data size (offset 40), little-endian.
            let data = UInt32(samples * 2)
            switch i {
            case 4..<8: return UInt8(truncatingIfNeeded: (36 + data) >> (8 * UInt32(i - 4)))
            case 40..<44: return UInt8(truncatingIfNeeded: data >> (8 * UInt32(i - 40)))
            default: return byte
            }
        }
    }
}
