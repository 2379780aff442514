import Foundation
import Media
import MouthpieceCore

/// Feeds a live session from an audio file at real-time pace, in chunks, as a microphone or a
/// speech synthesiser would: what the command line, the benchmark and the tests send.
public struct LiveFeed: Sendable {
    public let samples: [Float]
    public let sampleRate: Int
    /// Seconds per chunk (20 ms, as voice agents send).
    public var chunk = 0.02

    /// The file decoded whole, mono, at `sampleRate`.
    public init(path: String, sampleRate: Int, maxSeconds: Double = 30 * 60) throws {
        let reader = try AudioReader(
            path: path, sampleRate: sampleRate, channels: 1, limits: AudioDecoder.Limits(maxDuration: maxSeconds))
        var samples: [Float] = []
        while let next = try reader.next() { samples += next }
        self.init(samples: samples, sampleRate: sampleRate)
    }

    public init(samples: [Float], sampleRate: Int) {
        self.samples = samples
        self.sampleRate = sampleRate
    }

    public var duration: Double { Double(samples.count) / Double(sampleRate) }

    /// Sends every chunk when its time comes (chunk `i` at `i * chunk` seconds after the call) and
    /// returns when the last is sent; `sent` hears each chunk's index and send time.
    public func play(
        into session: LiveSession, sent: @Sendable (Int, ContinuousClock.Instant) -> Void = { _, _ in }
    ) async throws {
        let size = max(1, Int(chunk * Double(sampleRate)))
        let clock = ContinuousClock()
        let start = clock.now
        var index = 0
        for offset in stride(from: 0, to: samples.count, by: size) {
            try await clock.sleep(until: start + .seconds(chunk * Double(index)))
            let now = clock.now
            try session.push(Array(samples[offset..<min(samples.count, offset + size)]))
            sent(index, now)
            index += 1
        }
    }
}

/// A live stream written to a file as it comes: under a temporary name beside the path, renamed
/// when complete, removed if the stream fails.
public final class LiveRecorder {
    public let path: String
    private let temporary: String
    private let handle: FileHandle
    private var done = false

    public init(path: String) throws {
        self.path = path
        temporary = try OutputFile.reserve(path)
        guard let handle = FileHandle(forWritingAtPath: temporary) else {
            OutputFile.discard(temporary)
            throw MouthpieceError(.outputNotWritable, "Cannot write \(path).", field: "output")
        }
        self.handle = handle
    }

    deinit { if !done { discard() } }

    public func write(_ bytes: [UInt8]) throws {
        do {
            try handle.write(contentsOf: bytes)
        } catch {
            throw MouthpieceError(.outputNotWritable, "Writing \(path) failed: \(error).", field: "output")
        }
    }

    public func commit() throws {
        try? handle.close()
        try OutputFile.commit(temporary, to: path)
        done = true
    }

    public func discard() {
        try? handle.close()
        OutputFile.discard(temporary)
        done = true
    }
}
