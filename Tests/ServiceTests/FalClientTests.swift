import Foundation
import Media
import TestSupport
import XCTest

/// The real `fal_client` package from PyPI against `mouthpiece serve --tls-cert --tls-key`,
/// changed only by environment variables (scripts/fal-client-check.py).
final class FalClientTests: XCTestCase {
    func testFalClientCodeWorksUnchangedOverHTTPS() throws {
        let python = TestFiles.packageRoot.appendingPathComponent(".venv/bin/python").path
        guard FileManager.default.isExecutableFile(atPath: python) else {
            XCTFail("No .venv with fal_client: run scripts/setup.sh first.")
            return
        }
        let dir = try TestFiles.scratchDirectory(for: self)
        // A self-signed certificate for 127.0.0.1, trusted by the client through SSL_CERT_FILE.
        let openssl = try TestFiles.run(
            "/usr/bin/openssl",
            [
                "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", dir + "/key.pem", "-out",
                dir + "/cert.pem", "-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
            ])
        XCTAssertEqual(openssl.status, 0, openssl.stderr)
        let keyResult = try TestFiles.run(
            TestFiles.mouthpieceBinary, ["keys", "create", "--name", "fal", "--data-dir", dir + "/data", "--json"])
        let created = try JSONSerialization.jsonObject(with: Data(keyResult.stdout.utf8)) as? [String: Any]
        let key = try XCTUnwrap(created?["key"] as? String)
        let secret = try XCTUnwrap(created?["webhook_secret"] as? String)

        let port = TestFiles.freePort()
        // A receiver for fal_webhook, verifying with the standardwebhooks package.
        let hookPort = port + 5000
        let receiver = Process()
        receiver.executableURL = URL(fileURLWithPath: python)
        receiver.arguments = [
            TestFiles.packageRoot.appendingPathComponent("scripts/webhook-receiver.py").path, "--port",
            String(hookPort), "--secret", secret, "--log", dir + "/hooks.jsonl",
        ]
        receiver.standardOutput = FileHandle(forWritingAtPath: "/dev/null")
        receiver.standardError = FileHandle(forWritingAtPath: "/dev/null")
        try receiver.run()
        addTeardownBlock { receiver.stop() }
        let server = Process()
        server.executableURL = URL(fileURLWithPath: TestFiles.mouthpieceBinary)
        server.arguments = [
            "serve", "--port", String(port), "--data-dir", dir + "/data", "--workers", "1", "--tls-cert",
            dir + "/cert.pem", "--tls-key", dir + "/key.pem", "--url-allowlist", "127.0.0.1:\(hookPort)",
        ]
        server.standardOutput = FileHandle(forWritingAtPath: "/dev/null")
        server.standardError = FileHandle(forWritingAtPath: "/dev/null")
        try server.run()
        addTeardownBlock { if server.isRunning { server.terminate() } }

        try SyntheticSpeech(segments: [.silence(0.2), .speech(1.0), .silence(0.2)]).writeWAV(to: dir + "/v.wav")
        let check = Process()
        check.executableURL = URL(fileURLWithPath: python)
        check.arguments = [
            TestFiles.packageRoot.appendingPathComponent("scripts/fal-client-check.py").path,
            try TestFiles.samplePortrait(), dir + "/v.wav", dir + "/out.mp4",
        ]
        var environment = ProcessInfo.processInfo.environment
        environment["FAL_KEY"] = key
        environment["FAL_QUEUE_RUN_HOST"] = "127.0.0.1:\(port)"
        environment["SSL_CERT_FILE"] = dir + "/cert.pem"
        environment["FAL_CHECK_WEBHOOK"] = "http://127.0.0.1:\(hookPort)/hook"
        // Kling's lip-sync: a 2 s cut of a real talking clip.
        try TestFiles.ffmpeg([
            "-i", try TestFiles.fixture("video/man_suit_talking_22fps.mp4"), "-t", "2", "-c:v", "libx264", "-an",
            dir + "/clip.mp4",
        ])
        environment["FAL_CHECK_VIDEO"] = dir + "/clip.mp4"
        check.environment = environment
        let output = dir + "/report.json"
        FileManager.default.createFile(atPath: output, contents: nil)
        check.standardOutput = FileHandle(forWritingAtPath: output)
        check.standardError = FileHandle(forWritingAtPath: dir + "/stderr.txt")
        try check.run()
        let deadline = Date().addingTimeInterval(240)
        while check.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.2) }
        check.stop()
        let stderr = (try? String(contentsOfFile: dir + "/stderr.txt", encoding: .utf8)) ?? ""
        XCTAssertEqual(check.terminationStatus, 0, String(stderr.suffix(3000)))
        let report = try XCTUnwrap(
            try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: output))) as? [String: Any],
            stderr)

        // subscribe(...)["video"]["url"]: an https link that plays without a key.
        let url = try XCTUnwrap(report["url"] as? String)
        XCTAssertTrue(url.hasPrefix("https://127.0.0.1:\(port)/files/"), url)
        XCTAssertEqual(report["download_status"] as? Int, 200)
        let video = try XCTUnwrap(report["video"] as? [String: Any])
        XCTAssertEqual(video["content_type"] as? String, "video/mp4")
        let info = try MediaProbe.probe(path: dir + "/out.mp4")
        XCTAssertEqual(info.video?.codec, "h264")
        XCTAssertEqual(info.video?.width, 1920)  // pro: 1080p, 16:9 as asked
        XCTAssertEqual(info.video?.height, 1080)
        XCTAssertEqual(
            video["file_size"] as? Int,
            Int(try FileManager.default.attributesOfItem(atPath: dir + "/out.mp4")[.size] as? UInt64 ?? 0))
        XCTAssertEqual(report["duration"] as? Double ?? 0, 1.4, accuracy: 0.05)
        // submit + status + result, cancel, and a missing input.
        XCTAssertTrue((report["statuses"] as? [String] ?? []).contains("Completed"), "\(report)")
        XCTAssertTrue((report["result_url"] as? String ?? "").contains("/files/"))
        XCTAssertEqual(report["stream_last"] as? String, "COMPLETED", "\(report)")
        XCTAssertEqual(report["canceled"] as? Int, 422, "\(report)")
        XCTAssertEqual(report["missing_audio"] as? Int, 422, "\(report)")
        // fal_webhook: fal's body, signed like our own webhooks.
        let hooked = try XCTUnwrap(report["webhook_request"] as? String)
        var message: [String: Any] = [:]
        for _ in 0..<100 {
            let lines = ((try? String(contentsOfFile: dir + "/hooks.jsonl", encoding: .utf8)) ?? "").split(
                separator: "\n")
            if let line = lines.first {
                let entry = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
                XCTAssertEqual(entry["verified"] as? Bool, true)
                message = try XCTUnwrap(
                    try JSONSerialization.jsonObject(with: Data((entry["body"] as? String ?? "").utf8))
                        as? [String: Any])
                break
            }
            Thread.sleep(forTimeInterval: 0.1)
        }
        XCTAssertEqual(message["request_id"] as? String, hooked)
        XCTAssertEqual(message["status"] as? String, "OK")
        XCTAssertTrue(
            ((message["payload"] as? [String: Any])?["video"] as? [String: Any])?["url"].map { "\($0)" }?.hasPrefix(
                "https://127.0.0.1:\(port)/files/") ?? false, "\(message)")
        // The lip-sync: a link to the re-lip-synced video, as long as the audio (the clip is longer).
        XCTAssertTrue(
            (report["lipsync_url"] as? String ?? "").hasPrefix("https://127.0.0.1:\(port)/files/"), "\(report)")
        XCTAssertEqual(report["lipsync_duration"] as? Double ?? 0, 1.4, accuracy: 0.05, "\(report)")
        // The link with a wrong token is refused.
        XCTAssertEqual(report["forged_status"] as? Int, 404)
        server.terminate()
        waitForExit(server)
    }
}
