import Foundation
import Media
import Pipeline
import TestSupport
import XCTest

/// The `mouthpiece` binary as a user runs it.
final class CommandLineTests: XCTestCase {
    var binary: String { TestFiles.mouthpieceBinary }

    func testRenderPrintsAJSONSummary() throws {
        let dir = try TestFiles.scratchDirectory(for: self)
        try SyntheticSpeech(segments: [.speech(0.8), .silence(0.3)]).writeWAV(to: dir + "/v.wav")
        let result = try TestFiles.run(
            binary,
            [
                "render", "--image", try TestFiles.samplePortrait(), "--audio", dir + "/v.wav", "-o", dir + "/out.mp4",
                "--resolution", "480p", "--fps", "50", "--json",
            ])
        XCTAssertEqual(result.status, 0, result.stderr)
        let json = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any]
        XCTAssertEqual(json?["frames"] as? Int, 55)
        XCTAssertEqual(json?["fps"] as? Int, 50)
        XCTAssertEqual(json?["width"] as? Int, 480)
        let warnings = json?["warnings"] as? [[String: Any]]
        XCTAssertEqual(warnings?.first?["code"] as? String, "low_resolution")
        let timings = json?["timings"] as? [String: Double] ?? [:]
        XCTAssertNotNil(timings["render"])
        // When the first frame left the encoder: after the analysis, before the end, and (from the
        // process's start) no earlier than from the job's.
        let first = try XCTUnwrap(timings["first_frame"])
        XCTAssertGreaterThan(first, (timings["face_analysis"] ?? 0) + (timings["voice_analysis"] ?? 0))
        XCTAssertLessThanOrEqual(first, try XCTUnwrap(timings["total"]))
        XCTAssertGreaterThanOrEqual(try XCTUnwrap(timings["first_frame_since_process_start"]), first)
        XCTAssertTrue(FileManager.default.fileExists(atPath: dir + "/out.mp4"))
        // Signed: the record is in the file and beside it; `verify` accepts the file as it is and
        // refuses it with one byte changed, in the media or in the record.
        XCTAssertEqual(json?["provenance"] as? String, dir + "/out.provenance.json")
        XCTAssertTrue(FileManager.default.fileExists(atPath: dir + "/out.provenance.json"))
        let intact = try TestFiles.run(binary, ["verify", dir + "/out.mp4", "--json"])
        XCTAssertEqual(intact.status, 0, intact.stderr)
        XCTAssertEqual(
            (try JSONSerialization.jsonObject(with: Data(intact.stdout.utf8)) as? [String: Any])?["valid"] as? Bool,
            true)
        let bytes = try Data(contentsOf: URL(fileURLWithPath: dir + "/out.mp4"))
        for (name, offset) in [("media", bytes.count / 3), ("record", bytes.count - 40)] {
            var altered = bytes
            altered[offset] ^= 0x20
            try altered.write(to: URL(fileURLWithPath: dir + "/\(name).mp4"))
            let refused = try TestFiles.run(binary, ["verify", dir + "/\(name).mp4"])
            XCTAssertEqual(refused.status, 1, name)
            XCTAssertTrue(refused.stderr.hasPrefix("not intact: "), refused.stderr)
        }
        // Another key is not the signer asked for.
        let otherKey = Data(repeating: 7, count: 32).base64EncodedString()
        let wrongSigner = try TestFiles.run(binary, ["verify", dir + "/out.mp4", "--public-key", otherKey])
        XCTAssertEqual(wrongSigner.status, 1)
        // Still a plain MP4 to players and to our own demuxer.
        XCTAssertEqual(try MediaProbe.probe(path: dir + "/out.mp4").video?.frameCount, 55)
    }

    /// `mouthpiece live` as a pipe: raw PCM16 in on stdin, the fragmented MP4 out on stdout (what
    /// `| ffplay -` shows), the figures as JSON on stderr.
    func testLiveStreamsFromStandardInputToStandardOutput() throws {
        let dir = try TestFiles.scratchDirectory(for: self)
        let speech = try AudioDecoder.decode(
            path: try TestFiles.fixture("speech/en_librispeech_read.wav"), sampleRate: 16_000)
        var pcm = Data()
        for sample in speech.samples.prefix(3 * 16_000) {
            withUnsafeBytes(of: Int16(max(-1, min(1, sample)) * 32767).littleEndian) { pcm.append(contentsOf: $0) }
        }
        try pcm.write(to: URL(fileURLWithPath: dir + "/in.pcm"))
        let portrait = try TestFiles.fixture("portraits/man_neutral_frontal.jpg")
        let result = try TestFiles.run(
            "/bin/sh",
            [
                "-c",
                "'\(binary)' live --image '\(portrait)' --audio - -o - --json --lead-in 0.2 --resolution 480p "
                    + "< '\(dir)/in.pcm' > '\(dir)/out.mp4'",
            ])
        XCTAssertEqual(result.status, 0, result.stderr)
        let figures = try JSONDecoder().decode(LiveFigures.self, from: Data(result.stderr.utf8))
        XCTAssertEqual(Double(figures.frames), 3.2 * 25, accuracy: 6)
        XCTAssertEqual(figures.droppedFrames, 0)
        XCTAssertNotNil(figures.firstFragmentMs)
        let info = try MediaProbe.probe(path: dir + "/out.mp4")
        XCTAssertEqual(info.video?.width, 480)
        XCTAssertEqual(info.audio?.sampleRate, 16_000)

        // Bad input: one line with its code, status 2, nothing written.
        let dog = try TestFiles.run(
            binary, ["live", "--image", try TestFiles.fixture("dogs.jpg"), "--text", "Hello", "-o", dir + "/dog.mp4"])
        XCTAssertEqual(dog.status, 2)
        XCTAssertTrue(dog.stderr.hasPrefix("error[no_face_detected]"), dog.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/dog.mp4"))
        let rate = try TestFiles.run(
            binary, ["live", "--image", portrait, "--text", "Hello", "--sample-rate", "44100", "-o", dir + "/x.mp4"])
        XCTAssertEqual(rate.status, 2)
        XCTAssertTrue(rate.stderr.contains("error[invalid_parameter]: sample_rate"), rate.stderr)
    }

    func testBadInputIsOneLineWithAStableCodeAndExitStatusTwo() throws {
        let dir = try TestFiles.scratchDirectory(for: self)
        try SyntheticSpeech(segments: [.speech(1.0)]).writeWAV(to: dir + "/v.wav")
        let dogs = try TestFiles.fixture("dogs.jpg")
        let refused = try TestFiles.run(
            binary, ["render", "--image", dogs, "--audio", dir + "/v.wav", "-o", dir + "/x.mp4"])
        XCTAssertEqual(refused.status, 2)
        XCTAssertTrue(refused.stderr.hasPrefix("error[no_face_detected]: "), refused.stderr)
        XCTAssertEqual(refused.stderr.split(separator: "\n").count, 1)
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/x.mp4"))

        let json = try TestFiles.run(
            binary, ["render", "--image", dogs, "--audio", dir + "/v.wav", "-o", dir + "/x.mp4", "--json"])
        let object = try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: [String: String]]
        XCTAssertEqual(object?["error"]?["code"], "no_face_detected")

        let fps = try TestFiles.run(
            binary, ["render", "--image", dogs, "--audio", dir + "/v.wav", "-o", dir + "/x.mp4", "--fps", "29"])
        XCTAssertEqual(fps.status, 2)
        XCTAssertTrue(fps.stderr.hasPrefix("error[invalid_parameter]: fps"), fps.stderr)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir), ["v.wav"])
    }

    func testInspectWritesAnOverlayAndReportsFaces() throws {
        let dir = try TestFiles.scratchDirectory(for: self)
        let result = try TestFiles.run(
            binary,
            [
                "inspect", "--image", try TestFiles.fixture("2008_001009.jpg"), "--overlay", dir + "/o.png", "--poses",
                dir + "/p.png", "--json",
            ])
        XCTAssertEqual(result.status, 0, result.stderr)
        let json = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any]
        XCTAssertEqual((json?["faces"] as? [Any])?.count, 2)
        XCTAssertEqual(json?["poses"] as? String, dir + "/p.png")
        let png = try Data(contentsOf: URL(fileURLWithPath: dir + "/o.png"))
        XCTAssertEqual(Array(png.prefix(4)), [0x89, 0x50, 0x4E, 0x47])
        // The pose sheet: the portrait's mouth and seven sounds' in two rows of four tiles, each the
        // mouth at 1080p pixel for pixel (wider than the face's mouth in the 500-pixel photo).
        let poses = try ImageDecoder.decode(path: dir + "/p.png")
        XCTAssertGreaterThan(poses.width, 4 * 200)
        XCTAssertGreaterThan(poses.width, poses.height)
    }

    /// The bench alternates its three commands and reports medians and ratios that add up: each
    /// ratio is its two medians' quotient, CPU times are positive, our render's first frame is in.
    func testBenchReportsWallAndCPURatiosAgainstBothFloors() throws {
        let result = try TestFiles.run(
            binary,
            [
                "bench", "--image", try TestFiles.samplePortrait(), "--runs", "1", "--resolution", "480p", "--fps",
                "24",
                "--json",
            ])
        XCTAssertEqual(result.status, 0, result.stderr)
        let json = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        func figure(_ key: String) throws -> Double { try XCTUnwrap(json[key] as? Double, key) }
        for key in [
            "ffmpeg_median_s", "ffmpeg_cpu_median_s", "encode_only_median_s", "encode_only_cpu_median_s",
            "mouthpiece_median_s", "mouthpiece_cpu_median_s", "mouthpiece_peak_mib",
        ] {
            XCTAssertGreaterThan(try figure(key), 0, key)
        }
        XCTAssertEqual(
            try figure("ratio"), try figure("mouthpiece_median_s") / figure("ffmpeg_median_s"), accuracy: 1e-9)
        XCTAssertEqual(
            try figure("cpu_ratio"), try figure("mouthpiece_cpu_median_s") / figure("ffmpeg_cpu_median_s"),
            accuracy: 1e-9)
        XCTAssertEqual(
            try figure("encode_only_cpu_ratio"),
            try figure("mouthpiece_cpu_median_s") / figure("encode_only_cpu_median_s"), accuracy: 1e-9)
        XCTAssertTrue((json["size"] as? String)?.hasSuffix("x480") == true, "\(json["size"] ?? "")")
        let stages = try XCTUnwrap(json["stages_median_s"] as? [String: Double])
        XCTAssertNotNil(stages["first_frame_since_process_start"])
    }
}
