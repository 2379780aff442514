import Foundation
import Media
import TestSupport
import XCTest

/// Video inputs through the service: `/v1/videos` with a video to re-lip-sync, video avatars that
/// clone, and Sync.so's own Python SDK against `/v2/generate`.
extension ServerProcessTests {
    /// A 3 s cut of the real talking clip, and 2.5 s of real speech (both small).
    func videoInputs(_ dir: String) throws -> (video: String, speech: String) {
        let video = dir + "/clip.mp4"
        try TestFiles.ffmpeg([
            "-i", try TestFiles.fixture("video/man_suit_talking_22fps.mp4"), "-t", "3", "-c:v", "libx264", "-crf", "20",
            "-c:a", "aac", video,
        ])
        let speech = dir + "/speech.wav"
        try TestFiles.ffmpeg(["-i", try TestFiles.fixture("speech/en_ljspeech_read.wav"), "-t", "2.5", speech])
        return (video, speech)
    }

    func testVideosFromAVideoAndFromAVideoAvatar() async throws {
        let dir = try TestFiles.scratchDirectory(for: self)
        let (video, speech) = try videoInputs(dir)
        let key = try createKey(dir + "/data", name: "tests")
        let server = try await start(dir + "/data")
        let videoBytes = try Data(contentsOf: URL(fileURLWithPath: video))
        let speechBytes = try Data(contentsOf: URL(fileURLWithPath: speech))

        // Re-lip-sync: the video's own frames and rate, as long as the shorter (cut).
        let (submitted, status) = try await upload(
            server.base + "/v1/videos", key: key, fields: ["sync_mode": "cut"],
            files: [("video", "clip.mp4", "video/mp4", videoBytes), ("audio", "speech.wav", "audio/wav", speechBytes)])
        XCTAssertEqual(status, 202, String(decoding: submitted, as: UTF8.self))
        let id = try XCTUnwrap(try object(submitted)["id"] as? String)
        let done = try await waitForVideo(server.base, id, key: key)
        XCTAssertEqual(done["status"] as? String, "completed", "\(done)")
        let (content, contentStatus, _) = try await request("GET", server.base + "/v1/videos/\(id)/content", key: key)
        XCTAssertEqual(contentStatus, 200)
        try content.write(to: URL(fileURLWithPath: dir + "/out.mp4"))
        let info = try MediaProbe.probe(path: dir + "/out.mp4")
        XCTAssertEqual(info.video?.width, 700)
        let own = try XCTUnwrap(MediaProbe.probe(path: video).video?.frameRate)
        XCTAssertEqual(
            (info.video?.frameRate.num ?? 0) * own.den, (info.video?.frameRate.den ?? 0) * own.num,
            "the clip's own rate")
        XCTAssertEqual(info.video?.duration ?? 0, 2.5, accuracy: Double(own.den) / Double(own.num))

        // Refusals, with their codes, before anything is queued.
        for (fields, files, code) in [
            (["sync_mode": "remap"], [("video", "clip.mp4", "video/mp4", videoBytes)], "invalid_parameter"),
            ([:], [("video", "clip.mp4", "video/mp4", Data("not a video at all".utf8))], "unsupported_video"),
            (
                ["sync_mode": "loop"],
                [
                    (
                        "image", "face.jpg", "image/jpeg",
                        try Data(contentsOf: URL(fileURLWithPath: try TestFiles.fixture("Tom_Cruise_avp_2014_4.jpg")))
                    )
                ], "invalid_parameter"
            ),
        ] {
            let (data, refused) = try await upload(
                server.base + "/v1/videos", key: key, fields: fields,
                files: files + [("audio", "speech.wav", "audio/wav", speechBytes)])
            XCTAssertEqual(refused, 400, String(decoding: data, as: UTF8.self))
            XCTAssertEqual((try object(data)["error"] as? [String: Any])?["code"] as? String, code)
        }

        // A video avatar: read once, then a clone as long as its speech (longer than the clip).
        let (avatarData, avatarStatus) = try await upload(
            server.base + "/v1/avatars", key: key,
            fields: [
                "consent[attested_by]": "Test Suite", "consent[relation]": "rights_holder", "consent[accepted]": "true",
            ], files: [("video", "clip.mp4", "video/mp4", videoBytes)])
        XCTAssertEqual(avatarStatus, 201, String(decoding: avatarData, as: UTF8.self))
        let avatar = try object(avatarData)
        XCTAssertEqual(avatar["kind"] as? String, "video")
        XCTAssertEqual(avatar["frames_with_face"] as? Int, avatar["frames"] as? Int)
        XCTAssertNil(avatar["track_blob"], "where the track is kept is not shown")
        let long = dir + "/long.wav"
        try TestFiles.ffmpeg(["-i", try TestFiles.fixture("speech/en_ljspeech_read.wav"), "-t", "5", long])
        let (cloneData, cloneStatus) = try await upload(
            server.base + "/v1/videos", key: key, fields: ["avatar_id": try XCTUnwrap(avatar["id"] as? String)],
            files: [("audio", "long.wav", "audio/wav", try Data(contentsOf: URL(fileURLWithPath: long)))])
        XCTAssertEqual(cloneStatus, 202, String(decoding: cloneData, as: UTF8.self))
        let clone = try await waitForVideo(server.base, try XCTUnwrap(try object(cloneData)["id"] as? String), key: key)
        XCTAssertEqual(clone["status"] as? String, "completed", "\(clone)")
        let facts = try XCTUnwrap(clone["result"] as? [String: Any], "\(clone)")
        XCTAssertEqual(facts["duration"] as? Double ?? 0, 5, accuracy: 0.05)
        server.process.terminate()
        waitForExit(server.process)
    }

    /// Sync.so's quickstart, through their `syncsdk` package (scripts/sync-sdk-check.py), with
    /// inputs by URL from an allow-listed local file server.
    func testSyncSDKQuickstartGetsACompletedLipSync() async throws {
        let python = TestFiles.packageRoot.appendingPathComponent(".venv/bin/python").path
        guard FileManager.default.isExecutableFile(atPath: python) else {
            XCTFail("No .venv with syncsdk: run scripts/setup.sh first.")
            return
        }
        let dir = try TestFiles.scratchDirectory(for: self)
        _ = try videoInputs(dir)
        let port = TestFiles.freePort()
        _ = try fileServer(dir, port: port, redirectTo: port)
        let key = try createKey(dir + "/data", name: "sync")
        let server = try await start(dir + "/data", ["--url-allowlist", "127.0.0.1:\(port)"])
        let result = try TestFiles.run(
            python,
            [
                TestFiles.packageRoot.appendingPathComponent("scripts/sync-sdk-check.py").path, server.base, key,
                "http://127.0.0.1:\(port)/clip.mp4", "http://127.0.0.1:\(port)/speech.wav", dir + "/out.mp4",
            ])
        XCTAssertEqual(result.status, 0, String(result.stderr.suffix(3000)))
        let report = try object(Data(result.stdout.utf8))
        XCTAssertEqual(report["created_status"] as? String, "PENDING")
        XCTAssertEqual((report["statuses"] as? [String])?.last, "COMPLETED", "\(report)")
        XCTAssertEqual(report["download_status"] as? Int, 200)
        XCTAssertEqual(report["output_duration"] as? Double ?? 0, 2.5, accuracy: 0.05)
        XCTAssertTrue((report["listed"] as? [String] ?? []).contains(report["id"] as? String ?? "-"))
        XCTAssertEqual(report["missing_video"] as? Int, 400, "\(report)")
        let info = try MediaProbe.probe(path: dir + "/out.mp4")
        XCTAssertEqual(info.video?.codec, "h264")
        XCTAssertEqual(info.video?.width, 700)
        XCTAssertEqual(info.audio?.codec, "aac")
        server.process.terminate()
        waitForExit(server.process)
    }
}
