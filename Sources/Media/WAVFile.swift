import Foundation
import MouthpieceCore

extension AudioClip {
    /// The clip as a 16-bit PCM mono WAV file's bytes.
    public func wavBytes() -> [UInt8] {
        var bytes = Self.wavHeader(sampleRate: sampleRate, samples: samples.count)
        bytes.reserveCapacity(44 + samples.count * 2)
        bytes += Self.pcm16(samples)
        return bytes
    }

    /// The 44-byte header of a 16-bit PCM mono WAV file of `samples` samples.
    static func wavHeader(sampleRate: Int, samples: Int) -> [UInt8] {
        var bytes: [UInt8] = []
        func append<T: FixedWidthInteger>(_ value: T) { withUnsafeBytes(of: value.littleEndian) { bytes += $0 } }
        let dataSize = UInt32(samples * 2)
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
        return bytes
    }

    /// Samples as 16-bit little-endian PCM (full scale is 1; beyond is clipped).
    static func pcm16(_ samples: [Float]) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: samples.count * 2)
        for (i, s) in samples.enumerated() {
            let v = UInt16(bitPattern: Int16(max(-1, min(1, s)) * 32767))
            bytes[2 * i] = UInt8(v & 0xFF)
            bytes[2 * i + 1] = UInt8(v >> 8)
        }
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
        try handle.write(contentsOf: AudioClip.wavHeader(sampleRate: sampleRate, samples: 0))
    }

    deinit { try? handle.close() }

    /// Appends samples (full scale is 1; beyond is clipped).
    public func write(_ samples: [Float]) throws {
        try handle.write(contentsOf: AudioClip.pcm16(samples))
        samplesWritten += samples.count
    }

    /// Fills in the sizes and closes the file.
    public func finish() throws {
        try handle.seek(toOffset: 0)
        try handle.write(contentsOf: AudioClip.wavHeader(sampleRate: sampleRate, samples: samplesWritten))
        try handle.close()
    }
}
