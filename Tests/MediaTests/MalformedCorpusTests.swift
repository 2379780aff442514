import Foundation
import Media
import MouthpieceCore
import TestSupport
import XCTest

/// The committed malformed-input corpus (`Tests/Corpus`, written by `scripts/make-corpus.py`)
/// and seeded mutations of every seed, through the image and audio decoders: each input either
/// decodes to something within the limits or is refused with a `MouthpieceError` of an input
/// code. A crash, a hang or any other error fails the run (a corpus runner in place of a fuzzer:
/// the same inputs on every CI run, new seeds added as they are found).
final class MalformedCorpusTests: XCTestCase {
    func testPicturesDecodeWithinTheLimitsOrAreRefusedWithAnInputCode() throws {
        let limits = ImageDecoder.Limits()
        var outcomes: [String: Int] = [:]
        let started = ContinuousClock.now
        for (name, bytes) in try Corpus.cases("image", perSeed: 60) {
            do {
                let image = try ImageDecoder.decode(bytes: bytes, limits: limits)
                XCTAssertGreaterThan(image.width, 0, name)
                XCTAssertGreaterThan(image.height, 0, name)
                XCTAssertLessThanOrEqual(image.width * image.height, limits.maxPixels, name)
                outcomes["decoded", default: 0] += 1
            } catch let error as MouthpieceError {
                XCTAssertTrue([.unsupportedImage, .imageTooLarge].contains(error.code), "\(name): \(error)")
                outcomes[error.code.rawValue, default: 0] += 1
            } catch {
                XCTFail("\(name): not a MouthpieceError: \(error)")
            }
        }
        XCTAssertGreaterThan(outcomes["decoded"] ?? 0, 20, "the valid seeds and some mutations decode")
        XCTAssertGreaterThan(outcomes["image_too_large"] ?? 0, 4, "the oversized headers are refused as such")
        print("image corpus: \(outcomes.sorted { $0.key < $1.key }) in \(ContinuousClock.now - started)")
    }

    func testSoundsDecodeToFiniteSamplesOrAreRefusedWithAnInputCode() throws {
        let dir = try TestFiles.scratchDirectory(for: self)
        var outcomes: [String: Int] = [:]
        let started = ContinuousClock.now
        for (index, (name, bytes)) in try Corpus.cases("audio", perSeed: 40).enumerated() {
            let path = dir + "/\(index).bin"
            try Data(bytes).write(to: URL(fileURLWithPath: path))
            do {
                let clip = try AudioDecoder.decode(path: path, sampleRate: 16_000)
                XCTAssertTrue(clip.samples.allSatisfy { $0.isFinite && abs($0) <= 16 }, name)
                XCTAssertGreaterThanOrEqual(clip.duration, 0.5, name)
                outcomes["decoded", default: 0] += 1
            } catch let error as MouthpieceError {
                XCTAssertTrue(
                    [.unsupportedAudio, .audioTooShort, .audioTooLong].contains(error.code), "\(name): \(error)")
                outcomes[error.code.rawValue, default: 0] += 1
            } catch {
                XCTFail("\(name): not a MouthpieceError: \(error)")
            }
            try? FileManager.default.removeItem(atPath: path)
        }
        XCTAssertGreaterThan(outcomes["decoded"] ?? 0, 10, "the valid seeds and some mutations decode")
        XCTAssertGreaterThan(outcomes["unsupported_audio"] ?? 0, 10, "the poisoned seeds are refused")
        print("audio corpus: \(outcomes.sorted { $0.key < $1.key }) in \(ContinuousClock.now - started)")
    }

    /// The poisoned float seeds are refused as such, not decoded or mistaken for other faults.
    func testTheNonFiniteSeedsAreRefusedAsUnsupportedAudio() throws {
        for name in ["float-nan.wav", "float-inf.wav", "float-minus-inf.wav", "float-3e38.wav"] {
            let path = Corpus.path("audio", name)
            XCTAssertThrowsError(try AudioDecoder.decode(path: path, sampleRate: 16_000), name) { error in
                XCTAssertEqual((error as? MouthpieceError)?.code, .unsupportedAudio, "\(name): \(error)")
            }
        }
    }
}
