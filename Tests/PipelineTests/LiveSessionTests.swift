import Foundation
import Media
import MouthpieceCore
import Pipeline
import TestSupport
import XCTest

/// A live session end to end: real speech streamed at real-time pace in 20 ms chunks into a 720p25
/// session, the stream recorded and measured from its own pixels.
final class LiveSessionTests: XCTestCase {
    /// Everything a session sent, with when.
    struct Recording {
        var bytes: [UInt8] = []
        var events: [LiveEvent] = []
        var fragments = 0
    }

    static func collect(_ session: LiveSession) async -> Recording {
        var recording = Recording()
        while let out = await session.next() {
            switch out {
            case .initSegment(let bytes): recording.bytes += bytes
            case .fragment(let bytes):
                recording.bytes += bytes
                recording.fragments += 1
            case .event(let event): recording.events.append(event)
            }
        }
        return recording
    }

    func speech(seconds: Double) throws -> LiveFeed {
        let feed = try LiveFeed(
            path: try TestFiles.fixture("speech/en_librispeech_read.wav"), sampleRate: 16_000)
        return LiveFeed(samples: Array(feed.samples.prefix(Int(seconds * 16_000))), sampleRate: 16_000)
    }

    func session(_ adjust: (inout LiveSettings) -> Void = { _ in }) throws -> LiveSession {
        var settings = LiveSettings()
        adjust(&settings)
        return try LiveSession(
            imagePath: try TestFiles.fixture("portraits/man_neutral_frontal.jpg"), settings: settings)
    }

    func testStreamPlaysAndTheMouthFollowsTheAudioFromItsPixels() async throws {
        let session = try session()
        let feed = try speech(seconds: 6)
        session.start()
        async let recording = Self.collect(session)
        try await Task.sleep(for: .milliseconds(400))
        try await feed.play(into: session)
        session.end()
        let result = await recording
        let path = try TestFiles.scratchDirectory(for: self) + "/live.mp4"
        try Data(result.bytes).write(to: URL(fileURLWithPath: path))

        // The recording is an MP4 that FFmpeg reads: 720p, 25 fps, as long as what was sent.
        let info = try MediaProbe.probe(path: path)
        XCTAssertEqual(info.video?.height, 900, "720p is the short side of a 4:5 portrait")
        XCTAssertEqual(info.video?.width, 720)
        XCTAssertNotNil(info.audio)
        let ended = try XCTUnwrap(result.events.last)
        XCTAssertEqual(ended.type, .ended)
        let figures = try XCTUnwrap(ended.stats)
        XCTAssertEqual(Double(figures.frames), (0.4 + 6) * 25, accuracy: 6, "idle lead-in + speech + look-ahead")
        XCTAssertEqual(figures.droppedFrames, 0)
        XCTAssertEqual(result.fragments, figures.frames + 1, "one fragment a frame, and the encoder's tail")
        // Latency: the first fragment that plays the speech within 300 ms of the first chunk.
        let first = try XCTUnwrap(figures.firstFragmentMs)
        XCTAssertLessThanOrEqual(first, 300, "first fragment \(first) ms after the first chunk")
        XCTAssertEqual(result.events.first?.type, .ready)
        XCTAssertTrue(result.events.contains { $0.type == .speaking })
        XCTAssertTrue(result.events.contains { $0.type == .stats })

        // From the pixels: the mouth follows the stream's audio, at lag -2...2 frames.
        let evaluation = try ClipEvaluation.evaluate(video: path, maxLag: 5)
        XCTAssertEqual(evaluation.facesLost, 0)
        let best = try XCTUnwrap(evaluation.correlationByLag.max { $0.r < $1.r })
        XCTAssertGreaterThanOrEqual(best.r, 0.5, "mouth opening against loudness")
        XCTAssertTrue((-2...2).contains(best.lag), "best lag \(best.lag) frames")
        XCTAssertGreaterThan(evaluation.openingInSpeech, 3 * evaluation.openingInSilence)
    }

    func testInterruptClosesTheMouthWithinAHundredMilliseconds() async throws {
        let session = try session()
        let feed = try speech(seconds: 4)
        session.start()
        async let recording = Self.collect(session)
        // Four seconds of speech queued at once, as a speech synthesiser sends it, cut off 2 s in;
        // then the avatar idles and the session ends.
        try await Task.sleep(for: .milliseconds(300))
        try session.push(feed.samples)
        try await Task.sleep(for: .milliseconds(2000))
        session.interrupt()
        try await Task.sleep(for: .milliseconds(800))
        session.end()
        let result = await recording
        let interrupted = try XCTUnwrap(result.events.first { $0.type == .interrupted })
        let cutAt = try XCTUnwrap(interrupted.mediaTime)
        let path = try TestFiles.scratchDirectory(for: self) + "/interrupted.mp4"
        try Data(result.bytes).write(to: URL(fileURLWithPath: path))
        let evaluation = try ClipEvaluation.evaluate(video: path, maxLag: 2)
        let openings = evaluation.openings.map { $0 ?? 0 }
        let cutFrame = Int((cutAt * 25).rounded())
        // Speaking before the cut...
        let before = openings[(cutFrame - 25)..<cutFrame]
        XCTAssertGreaterThan(before.max() ?? 0, 0.04, "the mouth opened in the second before the cut")
        // ...and shut from 80 ms after it (the second frame at 25 fps) to the end.
        let after = openings[(cutFrame + 2)...]
        XCTAssertFalse(after.isEmpty)
        XCTAssertLessThan(after.max() ?? 1, 0.015, "mouth after the interrupt: \(Array(after.prefix(8)))")
        // The audio stops too: the stream is silent after the cut.
        XCTAssertTrue(result.events.contains { $0.type == .idle && ($0.mediaTime ?? 0) >= cutAt })
    }

    func testASlowReaderGetsAudioWithoutPicturesAndThenTheSessionEnds() async throws {
        let session = try session {
            $0.dropAfter = 0.2
            $0.closeAfter = 1
        }
        session.start()
        // Nobody reads for 1.5 s: past dropping (5 fragments waiting) and past closing (25).
        try await Task.sleep(for: .milliseconds(1500))
        let result = await Self.collect(session)
        let ended = try XCTUnwrap(result.events.last)
        XCTAssertEqual(ended.type, .ended)
        XCTAssertEqual(ended.reason, "client_too_slow")
        XCTAssertEqual(result.events.first { $0.type == .error }?.code, "client_too_slow")
        let figures = try XCTUnwrap(ended.stats)
        XCTAssertGreaterThan(figures.droppedFrames, 0, "pictures were held back while the reader lagged")
        XCTAssertLessThanOrEqual(result.fragments, 27, "the backlog never grew past the limit")
        await session.waitUntilDone()
    }

    func testClosingStopsTheSessionAtOnce() async throws {
        let session = try session()
        session.start()
        try await Task.sleep(for: .milliseconds(300))
        let started = ContinuousClock.now
        session.close()
        await session.waitUntilDone()
        XCTAssertLessThan(ContinuousClock.now - started, .milliseconds(500), "the render thread stopped")
        let next = await session.next()
        XCTAssertNil(next, "nothing more once closed")
        XCTAssertThrowsError(try session.push([Float](repeating: 0, count: 320)))
    }

    func testBadSettingsAreRefusedWithTheirField() throws {
        var settings = LiveSettings()
        settings.sampleRate = 44_100
        XCTAssertThrowsError(try settings.validate()) { error in
            XCTAssertEqual((error as? MouthpieceError)?.field, "sample_rate")
        }
        settings = LiveSettings()
        settings.fps = 60
        XCTAssertThrowsError(try settings.validate()) { error in
            XCTAssertEqual((error as? MouthpieceError)?.field, "fps")
        }
        let session = try session()
        XCTAssertThrowsError(try session.push(pcm16: [1, 2, 3])) { error in
            XCTAssertEqual((error as? MouthpieceError)?.code, .invalidParameter)
        }
        session.close()
    }
}
