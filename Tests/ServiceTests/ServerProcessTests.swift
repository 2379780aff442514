import Foundation
import Media
import MouthpieceClient
import MouthpieceCore
import TestSupport
import XCTest

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// The service as a client meets it: a real `mouthpiece serve` process on a loopback port.
///
/// With `MOUTHPIECE_TEST_SERVICE_STORE=postgresql` (as `scripts/test.sh` runs them a second
/// time) every test runs on a PostgreSQL database of its own, with its blobs in its directory.
final class ServerProcessTests: XCTestCase {
    var binary: String { TestFiles.mouthpieceBinary }

    nonisolated(unsafe) static var databases: [String: String] = [:]
    static let lock = NSLock()

    /// Where a test's server keeps its data: SQLite in `dir`, or a PostgreSQL database made for `dir`.
    func storeArguments(_ dir: String) throws -> [String] {
        guard ProcessInfo.processInfo.environment["MOUTHPIECE_TEST_SERVICE_STORE"] == "postgresql" else {
            return ["--data-dir", dir]
        }
        let url = try Self.lock.withLock {
            if let url = Self.databases[dir] { return url }
            let url = try TestPostgres.freshDatabase()
            Self.databases[dir] = url
            return url
        }
        return ["--data-dir", dir, "--database", url, "--blob-dir", dir + "/blobs"]
    }

    struct Server {
        let process: Process
        let base: String
    }

    func createKey(_ dir: String, name: String, plan: String? = nil) throws -> String {
        try createKeyWithSecret(dir, name: name, plan: plan).key
    }

    func createKeyWithSecret(_ dir: String, name: String, plan: String? = nil) throws -> (
        key: String, webhookSecret: String
    ) {
        let result = try TestFiles.run(
            binary,
            ["keys", "create", "--name", name, "--json"] + (plan.map { ["--plan", $0] } ?? []) + storeArguments(dir))
        XCTAssertEqual(result.status, 0, result.stderr)
        let json = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any]
        let secret = try XCTUnwrap(json?["webhook_secret"] as? String)
        XCTAssertTrue(secret.hasPrefix("whsec_"))
        return (try XCTUnwrap(json?["key"] as? String), secret)
    }

    func start(_ dir: String, _ extra: [String] = [], workers: Int = 1) async throws -> Server {
        let port = TestFiles.freePort()
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments =
            ["serve", "--port", String(port), "--workers", String(workers)] + (try storeArguments(dir)) + extra
        process.standardOutput = FileHandle(forWritingAtPath: "/dev/null")
        process.standardError = FileHandle(forWritingAtPath: "/dev/null")
        try process.run()
        addTeardownBlock { if process.isRunning { process.terminate() } }
        let base = "http://127.0.0.1:\(port)"
        if try await waitUntilUp(base) { return Server(process: process, base: base) }
        XCTFail("the server did not come up")
        throw CancellationError()
    }

    /// A batch waits in the queue: every submission is accepted, and the key's concurrency (2)
    /// limits how many render at once, even with more workers free.
    func testABatchOfFiftyIsAcceptedAndRendersTwoAtATime() async throws {
        let dir = try TestFiles.scratchDirectory(for: self)
        let key = try createKey(dir + "/data", name: "batch")
        let server = try await start(dir + "/data", workers: 3)
        try SyntheticSpeech(segments: [.speech(0.4), .silence(0.1)]).writeWAV(to: dir + "/v.wav")
        let portrait = try Data(contentsOf: URL(fileURLWithPath: try TestFiles.samplePortrait()))
        let (created, createdStatus, _) = try await request(
            "POST", server.base + "/v1/avatars", key: key,
            json: ["consent": consentJSON, "image_url": "data:image/png;base64," + portrait.base64EncodedString()])
        XCTAssertEqual(createdStatus, 201, String(decoding: created, as: UTF8.self))
        let audio = try Data(contentsOf: URL(fileURLWithPath: dir + "/v.wav"))
        let body: [String: Any] = [
            "avatar_id": try XCTUnwrap(try object(created)["id"] as? String),
            "audio_url": "data:audio/wav;base64," + audio.base64EncodedString(), "resolution": "480p", "fps": 25,
        ]
        for n in 0..<50 {
            let (answer, status, _) = try await request("POST", server.base + "/v1/videos", key: key, json: body)
            XCTAssertEqual(status, 202, "submission \(n): \(String(decoding: answer, as: UTF8.self))")
        }
        var mostRendering = 0
        var statuses: [String] = []
        let deadline = Date().addingTimeInterval(240)
        while Date() < deadline {
            let (page, _, _) = try await request("GET", server.base + "/v1/videos?limit=100", key: key)
            statuses = (try object(page)["data"] as? [[String: Any]] ?? []).compactMap { $0["status"] as? String }
            mostRendering = max(mostRendering, statuses.filter { $0 == "processing" }.count)
            if statuses.count == 50 && statuses.allSatisfy({ $0 == "completed" || $0 == "failed" }) { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        XCTAssertEqual(statuses.filter { $0 == "completed" }.count, 50, "\(statuses)")
        XCTAssertLessThanOrEqual(mostRendering, 2)
        XCTAssertGreaterThanOrEqual(mostRendering, 1)
    }

    /// The example plans: a free key's 1080p comes out at 720p with the watermark in a corner,
    /// a pro key's at 1080p without one; the credits shown are the seconds rendered.
    func testFreeAndProPlansRenderAsTheirPlansSay() async throws {
        let dir = try TestFiles.scratchDirectory(for: self)
        let free = try createKey(dir + "/data", name: "free", plan: "free")
        let pro = try createKey(dir + "/data", name: "pro", plan: "pro")
        let plain = try createKey(dir + "/data", name: "no plan")
        let server = try await start(dir + "/data", workers: 2)
        try SyntheticSpeech(segments: [.speech(0.6), .silence(0.2)]).writeWAV(to: dir + "/v.wav")
        let image = try Data(contentsOf: URL(fileURLWithPath: try TestFiles.samplePortrait()))
        let audio = try Data(contentsOf: URL(fileURLWithPath: dir + "/v.wav"))
        func render(_ key: String, _ resolution: String) async throws -> (frame: YUVImage, result: [String: Any]) {
            let (answer, status, _) = try await request(
                "POST", server.base + "/v1/videos", key: key,
                json: [
                    "image_url": "data:image/png;base64," + image.base64EncodedString(),
                    "audio_url": "data:audio/wav;base64," + audio.base64EncodedString(), "resolution": resolution,
                    "fps": 25,
                ])
            XCTAssertEqual(status, 202, String(decoding: answer, as: UTF8.self))
            let id = try XCTUnwrap(try object(answer)["id"] as? String)
            let done = try await waitForVideo(server.base, id, key: key)
            XCTAssertEqual(done["status"] as? String, "completed", "\(done)")
            let (video, _, _) = try await request("GET", server.base + "/v1/videos/\(id)/content", key: key)
            let path = dir + "/\(id).mp4"
            try video.write(to: URL(fileURLWithPath: path))
            let source = try VideoSource(path: path)
            var last: YUVImage?
            while let frame = try source.next() { last = frame }
            return (try XCTUnwrap(last), try XCTUnwrap(done["result"] as? [String: Any]))
        }
        let (freeFrame, freeResult) = try await render(free, "1080p")
        let (plainFrame, _) = try await render(plain, "720p")
        let (proFrame, _) = try await render(pro, "1080p")
        let (plainHD, _) = try await render(plain, "1080p")
        XCTAssertEqual(min(freeFrame.width, freeFrame.height), 720, "free: the plan's largest")
        XCTAssertEqual(min(proFrame.width, proFrame.height), 1080)
        // Pro: exactly the unmarked render.
        XCTAssertEqual(proFrame.y.count, plainHD.y.count)
        let proDifference = zip(proFrame.y, plainHD.y).reduce(0.0) { $0 + abs(Double($1.0) - Double($1.1)) }
        XCTAssertLessThan(proDifference / Double(max(1, proFrame.y.count)), 0.5, "no watermark on pro")
        // The free output is the plain 720p render plus a mark in one corner, and nothing else.
        let width = freeFrame.width
        let height = freeFrame.height
        let mark = try Watermark(.text("Made with Mouthpiece"))
        let corners = Watermark.Corner.allCases.map { corner -> Rect in
            var placed = mark
            placed.corner = corner
            return placed.box(width: width, height: height)
        }
        var inCorner = [Double](repeating: 0, count: 4)
        var counts = [Int](repeating: 0, count: 4)
        var outside = 0.0
        var outsideCount = 0
        for y in 0..<height {
            for x in 0..<width {
                let d = abs(Double(freeFrame.y[y * width + x]) - Double(plainFrame.y[y * width + x]))
                if let c = corners.firstIndex(where: {
                    Double(x) >= $0.x - 6 && Double(x) < $0.x + $0.width + 6 && Double(y) >= $0.y - 6
                        && Double(y) < $0.y + $0.height + 6
                }) {
                    inCorner[c] += d
                    counts[c] += 1
                } else {
                    outside += d
                    outsideCount += 1
                }
            }
        }
        let strongest = zip(inCorner, counts).map { $0 / Double(max(1, $1)) }.max() ?? 0
        XCTAssertGreaterThan(strongest, 8, "the watermark shows in a corner")
        XCTAssertLessThan(outside / Double(outsideCount), 0.5, "and nothing else differs")
        // Credits: the seconds rendered, exactly.
        let (usage, _, _) = try await request("GET", server.base + "/v1/usage", key: free)
        let credits = try XCTUnwrap(try object(usage)["credits"] as? [String: Any])
        XCTAssertEqual(credits["monthly_seconds"] as? Double, 300)
        XCTAssertEqual(
            credits["used_seconds"] as? Double ?? -1, freeResult["duration"] as? Double ?? -2, accuracy: 1e-9)
        XCTAssertEqual(
            credits["left_seconds"] as? Double ?? -1, 300 - (freeResult["duration"] as? Double ?? 0), accuracy: 1e-9)
    }

    func testSubmitPollDownloadWithIdempotencyIsolationAndRange() async throws {
        let dir = try TestFiles.scratchDirectory(for: self)
        let key = try createKey(dir + "/data", name: "tests")
        let other = try createKey(dir + "/data", name: "someone else")
        let server = try await start(dir + "/data")

        try SyntheticSpeech(segments: [.silence(0.3), .speech(1.2), .silence(0.3)]).writeWAV(to: dir + "/v.wav")
        let image = try Data(contentsOf: URL(fileURLWithPath: try TestFiles.samplePortrait()))
        let audio = try Data(contentsOf: URL(fileURLWithPath: dir + "/v.wav"))
        let body: [String: Any] = [
            "image_url": "data:image/png;base64," + image.base64EncodedString(),
            "audio_url": "data:audio/wav;base64," + audio.base64EncodedString(),
            "resolution": "480p", "fps": 25,
        ]

        // No key, a wrong key: 401 with a stable code.
        let (denied, deniedStatus, _) = try await request("POST", server.base + "/v1/videos", json: body)
        XCTAssertEqual(deniedStatus, 401)
        XCTAssertEqual((try object(denied)["error"] as? [String: Any])?["code"] as? String, "unauthorized")
        let (_, wrongStatus, _) = try await request("GET", server.base + "/v1/videos/x", key: "mp_nope")
        XCTAssertEqual(wrongStatus, 401)
        // The spec needs no key.
        let (spec, specStatus) = try await request("GET", server.base + "/openapi.yaml")
        XCTAssertEqual(specStatus, 200)
        let yaml = String(decoding: spec, as: UTF8.self)
        XCTAssertTrue(yaml.hasPrefix("openapi: 3.1.0"))
        for path in [
            "/v1/videos:", "/v1/videos/{id}/content:", "/v1/videos/{id}/events:", "/v1/avatars:", "/v1/usage:",
            "/v1/webhook-deliveries:", "/metrics:", "\nwebhooks:\n  video.completed:",
        ] {
            XCTAssertTrue(yaml.contains(path), path)
        }
        // A bad option: 400 naming the field.
        var bad = body
        bad["fps"] = 31
        let (badData, badStatus, _) = try await request("POST", server.base + "/v1/videos", key: key, json: bad)
        XCTAssertEqual(badStatus, 400)
        XCTAssertEqual((try object(badData)["error"] as? [String: Any])?["field"] as? String, "fps")

        // Submit: 202 at once; the same Idempotency-Key again gives the same job, not a second one.
        let (first, firstStatus, _) = try await request(
            "POST", server.base + "/v1/videos", key: key, json: body, headers: ["Idempotency-Key": "abc-1"])
        XCTAssertEqual(firstStatus, 202)
        let id = try XCTUnwrap(try object(first)["id"] as? String)
        let (again, againStatus, _) = try await request(
            "POST", server.base + "/v1/videos", key: key, json: body, headers: ["Idempotency-Key": "abc-1"])
        XCTAssertEqual(againStatus, 200)
        XCTAssertEqual(try object(again)["id"] as? String, id)

        // Another key cannot see it.
        let (_, hiddenStatus, _) = try await request("GET", server.base + "/v1/videos/\(id)", key: other)
        XCTAssertEqual(hiddenStatus, 404)

        // Watch it: Server-Sent Events until the end.
        let (stream, streamStatus, streamHeaders) = try await request(
            "GET", server.base + "/v1/videos/\(id)/events", key: key)
        XCTAssertEqual(streamStatus, 200)
        XCTAssertEqual(streamHeaders["Content-Type"] as? String, "text/event-stream")
        let events = String(decoding: stream, as: UTF8.self).components(separatedBy: "\n\n").filter { !$0.isEmpty }
        XCTAssertTrue(events.last?.hasPrefix("event: completed\ndata: {") ?? false, "\(events)")

        // Poll until done.
        var status = ""
        var job: [String: Any] = [:]
        for _ in 0..<300 where status != "completed" && status != "failed" {
            try await Task.sleep(for: .milliseconds(200))
            let (data, code, _) = try await request("GET", server.base + "/v1/videos/\(id)", key: key)
            XCTAssertEqual(code, 200)
            job = try object(data)
            status = job["status"] as? String ?? ""
        }
        XCTAssertEqual(status, "completed", "\(job)")
        let result = try XCTUnwrap(job["result"] as? [String: Any])
        XCTAssertEqual(result["width"] as? Int, 480)
        XCTAssertEqual(result["fps"] as? Int, 25)

        // Download, whole and in part.
        let (video, videoStatus, videoHeaders) = try await request(
            "GET", server.base + "/v1/videos/\(id)/content", key: key)
        XCTAssertEqual(videoStatus, 200)
        XCTAssertEqual(video.count, result["file_size"] as? Int)
        XCTAssertEqual(videoHeaders["Accept-Ranges"] as? String, "bytes")
        let (part, partStatus, partHeaders) = try await request(
            "GET", server.base + "/v1/videos/\(id)/content", key: key, headers: ["Range": "bytes=100-199"])
        XCTAssertEqual(partStatus, 206)
        XCTAssertEqual(part, video.subdata(in: 100..<200))
        XCTAssertEqual(partHeaders["Content-Range"] as? String, "bytes 100-199/\(video.count)")
        try video.write(to: URL(fileURLWithPath: dir + "/out.mp4"))
        let info = try MediaProbe.probe(path: dir + "/out.mp4")
        XCTAssertEqual(info.video?.codec, "h264")
        XCTAssertEqual(info.video?.width, 480)
        // Signed with the server's published key: `mouthpiece verify` accepts it, and refuses it
        // once one byte of the video changes.
        let (published, publishedStatus) = try await request("GET", server.base + "/.well-known/mouthpiece-provenance")
        XCTAssertEqual(publishedStatus, 200)
        let publicKey = try XCTUnwrap(try object(published)["public_key"] as? String)
        let (sidecar, sidecarStatus, _) = try await request(
            "GET", server.base + "/v1/videos/\(id)/provenance", key: key)
        XCTAssertEqual(sidecarStatus, 200)
        XCTAssertEqual(try object(sidecar)["public_key"] as? String, publicKey)
        let manifest = try object(Data(try XCTUnwrap(try object(sidecar)["manifest"] as? String).utf8))
        XCTAssertEqual(manifest["job_id"] as? String, id)
        XCTAssertEqual(manifest["synthetic"] as? Bool, true)
        let intact = try TestFiles.run(binary, ["verify", dir + "/out.mp4", "--public-key", publicKey])
        XCTAssertEqual(intact.status, 0, intact.stderr)
        var altered = video
        altered[altered.count / 2] ^= 0x01
        try altered.write(to: URL(fileURLWithPath: dir + "/altered.mp4"))
        let refused = try TestFiles.run(binary, ["verify", dir + "/altered.mp4"])
        XCTAssertEqual(refused.status, 1)
        XCTAssertTrue(refused.stderr.contains("altered"), refused.stderr)

        // Listed, and metered.
        let (list, _, _) = try await request("GET", server.base + "/v1/videos?limit=5", key: key)
        XCTAssertEqual((try object(list)["data"] as? [[String: Any]])?.map { $0["id"] as? String }, [id])
        let (otherList, _, _) = try await request("GET", server.base + "/v1/videos", key: other)
        XCTAssertEqual((try object(otherList)["data"] as? [Any])?.count, 0)
        let (usage, _, _) = try await request("GET", server.base + "/v1/usage", key: key)
        XCTAssertEqual(try object(usage)["output_seconds"] as? Double ?? 0, 1.8, accuracy: 0.05)

        // Prometheus metrics, no key needed: the job counted, its render timed, requests timed.
        let (scrape, scrapeStatus) = try await request("GET", server.base + "/metrics")
        XCTAssertEqual(scrapeStatus, 200)
        let metrics = String(decoding: scrape, as: UTF8.self)
        for line in [
            "mouthpiece_jobs{state=\"completed\"} 1.0", "mouthpiece_queue_depth 0.0",
            "mouthpiece_render_seconds_count 1", "mouthpiece_jobs_finished_total{status=\"completed\"} 1",
        ] {
            XCTAssertTrue(metrics.contains(line), "\(line) not in:\n\(metrics)")
        }
        XCTAssertTrue(metrics.contains("mouthpiece_output_seconds_total 1.8"), metrics)
        XCTAssertTrue(metrics.contains("http_server_request_duration_bucket{"), metrics)

        // SIGTERM: a clean exit.
        server.process.terminate()
        for _ in 0..<100 where server.process.isRunning { try await Task.sleep(for: .milliseconds(100)) }
        XCTAssertFalse(server.process.isRunning)
        XCTAssertEqual(server.process.terminationStatus, 0)
    }

    func testAServerKilledMidRenderFinishesTheJobAfterRestart() async throws {
        let dir = try TestFiles.scratchDirectory(for: self)
        let key = try createKey(dir + "/data", name: "tests")
        var server = try await start(dir + "/data")
        try SyntheticSpeech(segments: [.speech(6), .silence(0.5)]).writeWAV(to: dir + "/v.wav")
        let body: [String: Any] = [
            "image_url": "data:image/png;base64,"
                + (try Data(contentsOf: URL(fileURLWithPath: try TestFiles.samplePortrait()))).base64EncodedString(),
            "audio_url": "data:audio/wav;base64,"
                + (try Data(contentsOf: URL(fileURLWithPath: dir + "/v.wav"))).base64EncodedString(),
            "resolution": "1080p", "fps": 60,
        ]
        let (created, _, _) = try await request("POST", server.base + "/v1/videos", key: key, json: body)
        let id = try XCTUnwrap(try object(created)["id"] as? String)
        // Wait until it renders, then kill the process outright.
        for _ in 0..<100 {
            let (data, _, _) = try await request("GET", server.base + "/v1/videos/\(id)", key: key)
            if try object(data)["status"] as? String == "processing" { break }
            try await Task.sleep(for: .milliseconds(50))
        }
        kill(server.process.processIdentifier, SIGKILL)
        waitForExit(server.process)

        server = try await start(dir + "/data")
        let (during, _, _) = try await request("GET", server.base + "/v1/videos/\(id)/content", key: key)
        XCTAssertEqual((try object(during)["error"] as? [String: Any])?["code"] as? String, "not_found")
        var job: [String: Any] = [:]
        for _ in 0..<600 {
            let (data, _, _) = try await request("GET", server.base + "/v1/videos/\(id)", key: key)
            job = try object(data)
            if ["completed", "failed"].contains(job["status"] as? String ?? "") { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        XCTAssertEqual(job["status"] as? String, "completed", "\(job)")
        XCTAssertEqual(job["attempts"] as? Int, 2)
        let (video, status, _) = try await request("GET", server.base + "/v1/videos/\(id)/content", key: key)
        XCTAssertEqual(status, 200)
        try video.write(to: URL(fileURLWithPath: dir + "/out.mp4"))
        let info = try MediaProbe.probe(path: dir + "/out.mp4")
        XCTAssertEqual(info.video?.frameCount, 390)
        server.process.terminate()
        waitForExit(server.process)
    }

    func testAvatarsAreAnalysedOnceUsedForVideosAndDeleted() async throws {
        let dir = try TestFiles.scratchDirectory(for: self)
        let key = try createKey(dir + "/data", name: "tests")
        let server = try await start(dir + "/data")
        func dataURI(_ path: String, _ type: String) throws -> String {
            "data:\(type);base64," + (try Data(contentsOf: URL(fileURLWithPath: path))).base64EncodedString()
        }
        let (created, status, _) = try await request(
            "POST", server.base + "/v1/avatars", key: key,
            json: [
                "consent": consentJSON,
                "image_url": try dataURI(try TestFiles.fixture("Tom_Cruise_avp_2014_4.jpg"), "image/jpeg"),
            ])
        XCTAssertEqual(status, 201, String(decoding: created, as: UTF8.self))
        let avatar = try object(created)
        let id = try XCTUnwrap(avatar["id"] as? String)
        let box = try XCTUnwrap(avatar["face_box"] as? [String: Any])
        XCTAssertGreaterThan(box["width"] as? Double ?? 0, 100)
        // The same pose as `mouthpiece inspect` gives, in degrees (it once came out 57.3 times too large).
        let pose = try XCTUnwrap(avatar["pose"] as? [String: Any])
        let inspected = try TestFiles.run(
            binary, ["inspect", "--image", try TestFiles.fixture("Tom_Cruise_avp_2014_4.jpg"), "--json"])
        let cliPose = try XCTUnwrap((try object(Data(inspected.stdout.utf8)))["pose"] as? [String: Any])
        for angle in ["yaw_degrees", "roll_degrees"] {
            let served = try XCTUnwrap(pose[angle] as? Double, angle)
            XCTAssertEqual(served, try XCTUnwrap(cliPose[angle] as? Double, angle), accuracy: 0.051, angle)
            XCTAssertLessThan(abs(served), 45, "\(angle) of a front-facing portrait")
        }
        let (preview, previewStatus, previewHeaders) = try await request(
            "GET", server.base + "/v1/avatars/\(id)/preview", key: key)
        XCTAssertEqual(previewStatus, 200)
        XCTAssertEqual(previewHeaders["Content-Type"] as? String, "image/png")
        XCTAssertEqual(Array(preview.prefix(4)), [0x89, 0x50, 0x4E, 0x47])

        // The same portrait uploaded as a file (multipart/form-data).
        let (uploaded, uploadedStatus) = try await upload(
            server.base + "/v1/avatars", key: key,
            fields: [
                "consent[attested_by]": "Test Suite", "consent[relation]": "rights_holder", "consent[accepted]": "true",
            ],
            files: [
                (
                    "image", "face.jpg", "image/jpeg",
                    try Data(contentsOf: URL(fileURLWithPath: try TestFiles.fixture("Tom_Cruise_avp_2014_4.jpg")))
                )
            ])
        XCTAssertEqual(uploadedStatus, 201, String(decoding: uploaded, as: UTF8.self))
        XCTAssertEqual(
            (try object(uploaded)["face_box"] as? [String: Any])?["width"] as? Double, box["width"] as? Double)
        let uploadedID = try XCTUnwrap(try object(uploaded)["id"] as? String)
        let (_, removed, _) = try await request("DELETE", server.base + "/v1/avatars/\(uploadedID)", key: key)
        XCTAssertEqual(removed, 204)
        // A file in a JSON body: told how to send it.
        let (misplaced, misplacedStatus, _) = try await request(
            "POST", server.base + "/v1/avatars", key: key, json: ["image": "abc"])
        XCTAssertEqual(misplacedStatus, 400)
        XCTAssertEqual((try object(misplaced)["error"] as? [String: Any])?["field"] as? String, "image")

        // No face: a clear refusal, nothing stored.
        let (dogs, dogsStatus, _) = try await request(
            "POST", server.base + "/v1/avatars", key: key,
            json: ["consent": consentJSON, "image_url": try dataURI(try TestFiles.fixture("dogs.jpg"), "image/jpeg")])
        XCTAssertEqual(dogsStatus, 400)
        XCTAssertEqual((try object(dogs)["error"] as? [String: Any])?["code"] as? String, "no_face_detected")
        let (list, _, _) = try await request("GET", server.base + "/v1/avatars", key: key)
        XCTAssertEqual((try object(list)["data"] as? [[String: Any]])?.count, 1)

        // A video from the avatar with the audio uploaded as a file, then the avatar deleted: the
        // video keeps its own image.
        try SyntheticSpeech(segments: [.speech(1.0), .silence(0.2)]).writeWAV(to: dir + "/v.wav")
        let (video, videoStatus) = try await upload(
            server.base + "/v1/videos", key: key, fields: ["avatar_id": id, "resolution": "480p", "fps": "24"],
            files: [("audio", "v.wav", "audio/wav", try Data(contentsOf: URL(fileURLWithPath: dir + "/v.wav")))])
        XCTAssertEqual(videoStatus, 202, String(decoding: video, as: UTF8.self))
        XCTAssertEqual((try object(video)["options"] as? [String: Any])?["fps"] as? Int, 24)
        let videoID = try XCTUnwrap(try object(video)["id"] as? String)
        let (_, deleteStatus, _) = try await request("DELETE", server.base + "/v1/avatars/\(id)", key: key)
        XCTAssertEqual(deleteStatus, 204)
        let (_, goneStatus, _) = try await request("GET", server.base + "/v1/avatars/\(id)", key: key)
        XCTAssertEqual(goneStatus, 404)
        var state = ""
        for _ in 0..<300 where !["completed", "failed"].contains(state) {
            try await Task.sleep(for: .milliseconds(200))
            let (data, _, _) = try await request("GET", server.base + "/v1/videos/\(videoID)", key: key)
            state = try object(data)["status"] as? String ?? ""
        }
        XCTAssertEqual(state, "completed")
        server.process.terminate()
        waitForExit(server.process)
    }

    /// A file server on loopback whose `/hop` redirects to another loopback port.
    func fileServer(_ dir: String, port: Int, redirectTo target: Int) throws -> Process {
        let script = """
            import http.server, functools, sys
            class H(http.server.SimpleHTTPRequestHandler):
                def do_GET(self):
                    if self.path == '/hop':
                        self.send_response(302)
                        self.send_header('Location', 'http://127.0.0.1:\(target)/face.jpg')
                        self.end_headers()
                        return
                    super().do_GET()
                def log_message(self, *args): pass
            http.server.ThreadingHTTPServer(('127.0.0.1', \(port)), functools.partial(H, directory=sys.argv[1])).serve_forever()
            """
        try script.write(toFile: dir + "/serve.py", atomically: true, encoding: .utf8)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", dir + "/serve.py", dir]
        // Its own output goes nowhere: a child holding the test's pipes would keep the runner waiting.
        process.standardOutput = FileHandle(forWritingAtPath: "/dev/null")
        process.standardError = FileHandle(forWritingAtPath: "/dev/null")
        try process.run()
        addTeardownBlock { process.stop() }
        return process
    }

    func testURLInputsReachOnlyPublicOrAllowListedHosts() async throws {
        let dir = try TestFiles.scratchDirectory(for: self)
        try FileManager.default.copyItem(
            atPath: try TestFiles.fixture("Tom_Cruise_avp_2014_4.jpg"), toPath: dir + "/face.jpg")
        let port = TestFiles.freePort()
        _ = try fileServer(dir, port: port, redirectTo: port + 1)
        let key = try createKey(dir + "/data", name: "tests")
        let server = try await start(
            dir + "/data", ["--url-allowlist", "127.0.0.1:\(port)", "--metrics-token", "scrape-me"])
        // /metrics behind its own token.
        let (_, unscraped, _) = try await request("GET", server.base + "/metrics")
        XCTAssertEqual(unscraped, 401)
        let (_, scraped, _) = try await request(
            "GET", server.base + "/metrics", headers: ["Authorization": "Bearer scrape-me"])
        XCTAssertEqual(scraped, 200)
        // The allow-listed receiver is reachable.
        var created = 0
        for _ in 0..<50 where created != 201 {
            let (_, status, _) = try await request(
                "POST", server.base + "/v1/avatars", key: key,
                json: ["consent": consentJSON, "image_url": "http://127.0.0.1:\(port)/face.jpg"])
            created = status
            if created != 201 { try await Task.sleep(for: .milliseconds(200)) }
        }
        XCTAssertEqual(created, 201)
        // Loopback, metadata, private, IPv6 loopback, a name for loopback, a redirect to loopback, other schemes.
        for url in [
            "http://127.0.0.1:\(port + 1)/face.jpg", "http://169.254.169.254/latest/meta-data/",
            "http://10.1.2.3/x.jpg",
            "http://192.168.0.1/x.jpg", "http://[::1]:\(port)/face.jpg", "http://localhost:\(port + 1)/face.jpg",
            "http://127.0.0.1:\(port)/hop", "ftp://example.com/face.jpg", "file:///etc/passwd",
        ] {
            let (data, status, _) = try await request(
                "POST", server.base + "/v1/avatars", key: key, json: ["consent": consentJSON, "image_url": url])
            XCTAssertEqual(status, 400, url)
            XCTAssertEqual((try object(data)["error"] as? [String: Any])?["code"] as? String, "url_not_allowed", url)
        }
        server.process.terminate()
        waitForExit(server.process)
    }

    /// Webhooks, verified by the Standard Webhooks reference package (scripts/webhook-receiver.py,
    /// run from the .venv that scripts/setup.sh makes).
    func testWebhooksAreSignedRetriedAndLogged() async throws {
        let python = TestFiles.packageRoot.appendingPathComponent(".venv/bin/python").path
        guard FileManager.default.isExecutableFile(atPath: python) else {
            XCTFail("No .venv with the standardwebhooks package: run scripts/setup.sh first.")
            return
        }
        let dir = try TestFiles.scratchDirectory(for: self)
        let (key, secret) = try createKeyWithSecret(dir + "/data", name: "tests")
        let other = try createKey(dir + "/data", name: "someone else")
        let port = TestFiles.freePort()
        let receiver = Process()
        receiver.executableURL = URL(fileURLWithPath: python)
        receiver.arguments = [
            TestFiles.packageRoot.appendingPathComponent("scripts/webhook-receiver.py").path, "--port", String(port),
            "--secret", secret, "--log", dir + "/hooks.jsonl", "--fail-first", "1",
        ]
        receiver.standardOutput = FileHandle(forWritingAtPath: "/dev/null")
        receiver.standardError = FileHandle(forWritingAtPath: "/dev/null")
        try receiver.run()
        addTeardownBlock { receiver.stop() }
        let server = try await start(dir + "/data", ["--url-allowlist", "127.0.0.1:\(port)"])

        try SyntheticSpeech(segments: [.speech(1.0), .silence(0.2)]).writeWAV(to: dir + "/v.wav")
        let image = try Data(contentsOf: URL(fileURLWithPath: try TestFiles.samplePortrait()))
        var body: [String: Any] = [
            "image_url": "data:image/png;base64," + image.base64EncodedString(),
            "audio_url": "data:audio/wav;base64,"
                + (try Data(contentsOf: URL(fileURLWithPath: dir + "/v.wav"))).base64EncodedString(),
            "resolution": "480p",
        ]
        // A receiver on an internal address is refused at submission, not tried for three days.
        for hook in ["http://10.0.0.7/hook", "http://169.254.169.254/hook", "ftp://example.com/hook"] {
            body["webhook_url"] = hook
            let (data, status, _) = try await request("POST", server.base + "/v1/videos", key: key, json: body)
            XCTAssertEqual(status, 400, hook)
            XCTAssertEqual((try object(data)["error"] as? [String: Any])?["code"] as? String, "url_not_allowed", hook)
        }
        body["webhook_url"] = "http://127.0.0.1:\(port)/hook"
        let (done, doneStatus, _) = try await request("POST", server.base + "/v1/videos", key: key, json: body)
        XCTAssertEqual(doneStatus, 202, String(decoding: done, as: UTF8.self))
        let doneID = try XCTUnwrap(try object(done)["id"] as? String)
        // Audio that is not audio is refused at submission (400, nothing queued, no webhook).
        var notAudio = body
        notAudio["audio_url"] = "data:audio/wav;base64," + Data("not a sound".utf8).base64EncodedString()
        let (refused, refusedStatus, _) = try await request(
            "POST", server.base + "/v1/videos", key: key, json: notAudio)
        XCTAssertEqual(refusedStatus, 400)
        XCTAssertEqual((try object(refused)["error"] as? [String: Any])?["code"] as? String, "unsupported_audio")
        // A picture without a face: the render fails, and says so by webhook.
        try TestFiles.ffmpeg(["-f", "lavfi", "-i", "color=gray:s=320x240", "-frames:v", "1", dir + "/blank.png"])
        body["image_url"] =
            "data:image/png;base64,"
            + (try Data(contentsOf: URL(fileURLWithPath: dir + "/blank.png"))).base64EncodedString()
        let (broken, _, _) = try await request("POST", server.base + "/v1/videos", key: key, json: body)
        let brokenID = try XCTUnwrap(try object(broken)["id"] as? String)

        // The receiver refuses the first message (500); it comes again 5 s later.
        var received: [[String: Any]] = []
        for _ in 0..<300 {
            let text = (try? String(contentsOfFile: dir + "/hooks.jsonl", encoding: .utf8)) ?? ""
            received = try text.split(separator: "\n").map { try object(Data($0.utf8)) }
            if received.filter({ $0["status"] as? Int == 200 }).count == 2 { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        XCTAssertEqual(received.count, 3, "\(received)")
        XCTAssertTrue(received.allSatisfy { $0["verified"] as? Bool == true }, "\(received)")
        var byVideo: [String: [String: Any]] = [:]
        for entry in received where entry["status"] as? Int == 200 {
            let message = try object(Data((entry["body"] as? String ?? "").utf8))
            let data = try XCTUnwrap(message["data"] as? [String: Any])
            byVideo[data["id"] as? String ?? ""] = message
        }
        XCTAssertEqual(byVideo[doneID]?["type"] as? String, "video.completed")
        let result = (byVideo[doneID]?["data"] as? [String: Any])?["result"] as? [String: Any]
        XCTAssertEqual(result?["url"] as? String, "/v1/videos/\(doneID)/content")
        XCTAssertEqual(byVideo[brokenID]?["type"] as? String, "video.failed")
        XCTAssertNotNil((byVideo[brokenID]?["data"] as? [String: Any])?["error"])
        // The retry carries the same webhook-id: a receiver can drop duplicates.
        XCTAssertEqual(Set(received.compactMap { $0["id"] as? String }).count, 2)

        // The delivery log: both delivered, one after a 500.
        let (log, logStatus, _) = try await request("GET", server.base + "/v1/webhook-deliveries", key: key)
        XCTAssertEqual(logStatus, 200)
        let deliveries = try XCTUnwrap(try object(log)["data"] as? [[String: Any]])
        XCTAssertEqual(deliveries.count, 2)
        XCTAssertTrue(deliveries.allSatisfy { $0["status"] as? String == "delivered" }, "\(deliveries)")
        let codes = deliveries.map { ($0["log"] as? [[String: Any]] ?? []).compactMap { $0["status_code"] as? Int } }
        XCTAssertEqual(codes.sorted { $0.count < $1.count }, [[200], [500, 200]])
        let (oneVideo, _, _) = try await request(
            "GET", server.base + "/v1/webhook-deliveries?video_id=\(brokenID)", key: key)
        XCTAssertEqual((try object(oneVideo)["data"] as? [[String: Any]])?.first?["event"] as? String, "video.failed")
        let (otherLog, _, _) = try await request("GET", server.base + "/v1/webhook-deliveries", key: other)
        XCTAssertEqual((try object(otherLog)["data"] as? [Any])?.count, 0)
        let deliveryID = try XCTUnwrap(deliveries.first?["id"] as? String)
        let (_, hiddenStatus, _) = try await request(
            "GET", server.base + "/v1/webhook-deliveries/\(deliveryID)", key: other)
        XCTAssertEqual(hiddenStatus, 404)
        server.process.terminate()
        waitForExit(server.process)
    }

    /// A composition through the API: two scenes, two people, files as data: URIs; the result
    /// lists where each scene starts; deleting the video removes every file it stored.
    func testACompositionRendersWithItsSceneStarts() async throws {
        let dir = try TestFiles.scratchDirectory(for: self)
        let key = try createKey(dir + "/data", name: "tests")
        let server = try await start(dir + "/data")
        func uri(_ path: String, _ type: String) throws -> String {
            "data:\(type);base64," + (try Data(contentsOf: URL(fileURLWithPath: path))).base64EncodedString()
        }
        let wav = dir + "/voice.wav"
        try SyntheticSpeech(segments: [.silence(0.3), .speech(1.5), .silence(0.2)]).writeWAV(to: wav)
        let man = try uri(try TestFiles.fixture("portraits/man_neutral_frontal.jpg"), "image/jpeg")
        let woman = try uri(try TestFiles.fixture("portraits/woman_closed_smile.png"), "image/png")
        var body: [String: Any] = [
            "resolution": "480p", "fps": 25, "aspect": "16:9", "captions": "sidecar",
            "scenes": [
                [
                    "speakers": [["image": man, "audio": try uri(wav, "audio/wav")]],
                    "transition": ["type": "crossfade", "seconds": 0.4],
                ],
                [
                    "speakers": [["image": man], ["image": woman, "script": "Good morning.", "start": 0.2]],
                    "layout": "side_by_side", "background": ["color": "#223344"],
                ],
            ],
        ]
        let blobs = dir + "/data/blobs"
        let before = (try? FileManager.default.contentsOfDirectory(atPath: blobs).count) ?? 0
        // Refused before anything is stored or rendered: the field at fault is named.
        var overlapping = body
        overlapping["scenes"] = [
            [
                "speakers": [["image": man, "audio": try uri(wav, "audio/wav")], ["image": woman, "script": "Hi."]],
                "layout": "side_by_side",
            ]
        ]
        let (refused, refusedStatus, _) = try await request(
            "POST", server.base + "/v1/videos", key: key, json: overlapping)
        XCTAssertEqual(refusedStatus, 400)
        let error = try XCTUnwrap(try object(refused)["error"] as? [String: Any])
        XCTAssertEqual(error["field"] as? String, "scenes[0].speakers[1].start", "\(error)")
        XCTAssertEqual((try? FileManager.default.contentsOfDirectory(atPath: blobs).count) ?? 0, before)

        body["webhook_url"] = nil
        let (created, createdStatus, _) = try await request("POST", server.base + "/v1/videos", key: key, json: body)
        XCTAssertEqual(createdStatus, 202, String(decoding: created, as: UTF8.self))
        let id = try XCTUnwrap(try object(created)["id"] as? String)
        let job = try await waitForVideo(server.base, id, key: key)
        XCTAssertEqual(job["status"] as? String, "completed", "\(job)")
        let result = try XCTUnwrap(job["result"] as? [String: Any])
        let starts = try XCTUnwrap(result["scene_starts"] as? [Double])
        XCTAssertEqual(starts, [0, Double(50 - 10) / 25], "2 s of voice, a 0.4 s cross-fade")
        XCTAssertEqual(result["width"] as? Int, 854)
        XCTAssertNotNil(result["captions"], "the script's captions")
        let (video, videoStatus, _) = try await request("GET", server.base + "/v1/videos/\(id)/content", key: key)
        XCTAssertEqual(videoStatus, 200)
        let path = dir + "/composed.mp4"
        try video.write(to: URL(fileURLWithPath: path))
        XCTAssertEqual(
            try XCTUnwrap(try MediaProbe.probe(path: path).duration), result["duration"] as? Double ?? 0, accuracy: 0.05
        )
        let (_, deleted, _) = try await request("DELETE", server.base + "/v1/videos/\(id)", key: key)
        XCTAssertEqual(deleted, 204)
        XCTAssertEqual(
            (try? FileManager.default.contentsOfDirectory(atPath: blobs).filter { !$0.hasPrefix(".") }.count) ?? 0,
            before, "the composition's files went with it")
        server.process.terminate()
        waitForExit(server.process)
    }

    func testScriptsBecomeVideosWithCaptions() async throws {
        let dir = try TestFiles.scratchDirectory(for: self)
        let key = try createKey(dir + "/data", name: "tests")
        let server = try await start(dir + "/data")
        let image = try Data(contentsOf: URL(fileURLWithPath: try TestFiles.samplePortrait()))
        let (voices, voicesStatus, _) = try await request("GET", server.base + "/v1/voices", key: key)
        XCTAssertEqual(voicesStatus, 200)
        let languages = try XCTUnwrap(try object(voices)["languages"] as? [[String: Any]])
        XCTAssertGreaterThan(languages.count, 100)
        XCTAssertTrue(languages.contains { $0["code"] as? String == "ar" })
        // The voices `mouthpiece voices` lists: English and Japanese spoken by their natural voices.
        let listed = try XCTUnwrap(try object(voices)["voices"] as? [[String: Any]])
        let english = try XCTUnwrap(listed.first { $0["id"] as? String == "festival-slt" })
        XCTAssertEqual(english["default_for"] as? [String], ["en-us", "en"])
        XCTAssertEqual(english["tier"] as? String, "natural")
        XCTAssertEqual(listed.first { $0["id"] as? String == "openjtalk-mei" }?["default_for"] as? [String], ["ja"])
        // The key's lexicon is said; the captions keep the word.
        let (_, lexiconStatus, _) = try await request(
            "PUT", server.base + "/v1/lexicon", key: key,
            json: ["entries": [["word": "Marie", "respelling": "Mari"]]])
        XCTAssertEqual(lexiconStatus, 200)

        var body: [String: Any] = [
            "image_url": "data:image/png;base64," + image.base64EncodedString(),
            "script": ["text": "Bonjour! Je m'appelle Marie.", "language": "klingon"], "resolution": "480p",
        ]
        let (refused, refusedStatus, _) = try await request("POST", server.base + "/v1/videos", key: key, json: body)
        XCTAssertEqual(refusedStatus, 400)
        XCTAssertEqual((try object(refused)["error"] as? [String: Any])?["code"] as? String, "unsupported_language")
        body["script"] = ["text": "", "language": "fr"]
        let (empty, _, _) = try await request("POST", server.base + "/v1/videos", key: key, json: body)
        XCTAssertEqual((try object(empty)["error"] as? [String: Any])?["code"] as? String, "empty_text")

        body["script"] = ["text": "Bonjour! Je m'appelle Marie. Bonne journée.", "language": "fr", "voice": "f3"]
        body["burn_captions"] = true
        let (created, createdStatus, _) = try await request("POST", server.base + "/v1/videos", key: key, json: body)
        XCTAssertEqual(createdStatus, 202, String(decoding: created, as: UTF8.self))
        let id = try XCTUnwrap(try object(created)["id"] as? String)
        var job: [String: Any] = [:]
        for _ in 0..<300 {
            let (data, _, _) = try await request("GET", server.base + "/v1/videos/\(id)", key: key)
            job = try object(data)
            if ["completed", "failed"].contains(job["status"] as? String ?? "") { break }
            try await Task.sleep(for: .milliseconds(200))
        }
        XCTAssertEqual(job["status"] as? String, "completed", "\(job)")
        let result = try XCTUnwrap(job["result"] as? [String: Any])
        XCTAssertEqual(result["voice"] as? String, "espeak-ng+f3")
        XCTAssertEqual((result["captions"] as? [String: Any])?["vtt"] as? String, "/v1/videos/\(id)/captions.vtt")
        let (vtt, vttStatus, vttHeaders) = try await request(
            "GET", server.base + "/v1/videos/\(id)/captions.vtt", key: key)
        XCTAssertEqual(vttStatus, 200)
        XCTAssertTrue((vttHeaders["Content-Type"] as? String ?? "").hasPrefix("text/vtt"))
        let text = String(decoding: vtt, as: UTF8.self)
        XCTAssertTrue(text.hasPrefix("WEBVTT") && text.contains("Je m'appelle Marie."), text)
        let (srt, srtStatus, _) = try await request("GET", server.base + "/v1/videos/\(id)/captions.srt", key: key)
        XCTAssertEqual(srtStatus, 200)
        XCTAssertTrue(String(decoding: srt, as: UTF8.self).hasPrefix("1\n00:00:00,"))
        XCTAssertGreaterThan(result["duration"] as? Double ?? 0, 1.5)
        server.process.terminate()
        waitForExit(server.process)
    }

    /// The D-ID `/talks` shape on the same jobs, with D-ID's Basic authentication.
    func testTalksLikeDID() async throws {
        let dir = try TestFiles.scratchDirectory(for: self)
        let key = try createKey(dir + "/data", name: "did")
        let other = try createKey(dir + "/data", name: "other")
        let server = try await start(dir + "/data")
        let basic = "Basic " + Data("\(key):".utf8).base64EncodedString()
        let image = try Data(contentsOf: URL(fileURLWithPath: try TestFiles.samplePortrait()))
        let (missing, missingStatus, _) = try await request(
            "POST", server.base + "/talks", json: ["script": ["type": "text", "input": "Hi"]],
            headers: ["Authorization": basic])
        XCTAssertEqual(missingStatus, 400)
        XCTAssertEqual(try object(missing)["kind"] as? String, "ValidationError")
        let (created, createdStatus, _) = try await request(
            "POST", server.base + "/talks",
            json: [
                "source_url": "data:image/png;base64," + image.base64EncodedString(),
                "script": ["type": "text", "input": "Hello from a talk.", "provider": ["language": "en-us"]],
            ], headers: ["Authorization": basic])
        XCTAssertEqual(createdStatus, 201, String(decoding: created, as: UTF8.self))
        XCTAssertEqual(try object(created)["status"] as? String, "created")
        let id = try XCTUnwrap(try object(created)["id"] as? String)
        var talk: [String: Any] = [:]
        for _ in 0..<300 {
            let (data, _, _) = try await request("GET", server.base + "/talks/\(id)", headers: ["Authorization": basic])
            talk = try object(data)
            if ["done", "error"].contains(talk["status"] as? String ?? "") { break }
            try await Task.sleep(for: .milliseconds(200))
        }
        XCTAssertEqual(talk["status"] as? String, "done", "\(talk)")
        // The result URL plays without a key.
        let resultURL = try XCTUnwrap(talk["result_url"] as? String)
        let (video, videoStatus) = try await request("GET", resultURL)
        XCTAssertEqual(videoStatus, 200)
        try video.write(to: URL(fileURLWithPath: dir + "/talk.mp4"))
        XCTAssertEqual(try MediaProbe.probe(path: dir + "/talk.mp4").video?.codec, "h264")
        let (_, forbidden, _) = try await request("GET", server.base + "/talks/\(id)", key: other)
        XCTAssertEqual(forbidden, 404)
        server.process.terminate()
        waitForExit(server.process)
    }

    /// The Swift client (`MouthpieceClient`) against the native API.
    func testTheSwiftClientRendersDownloadsAndReportsErrors() async throws {
        let dir = try TestFiles.scratchDirectory(for: self)
        let key = try createKey(dir + "/data", name: "swift")
        let other = try createKey(dir + "/data", name: "other")
        let server = try await start(dir + "/data")
        let client = MouthpieceClient(baseURL: URL(string: server.base)!, apiKey: key)
        try SyntheticSpeech(segments: [.speech(1.0), .silence(0.2)]).writeWAV(to: dir + "/v.wav")
        let request = VideoRequest(
            imageURL: try VideoRequest.dataURI(file: try TestFiles.samplePortrait(), type: "image/png"),
            audioURL: try VideoRequest.dataURI(file: dir + "/v.wav", type: "audio/wav"), resolution: "480p", fps: 24)
        var seen: [Video.Status] = []
        let video = try await client.render(request, idempotencyKey: "swift-1") { seen.append($0.status) }
        XCTAssertEqual(video.status, .completed)
        XCTAssertEqual(seen.last, .completed)
        XCTAssertEqual(video.result?.fps, 24)
        XCTAssertEqual(video.result?.width, 480)
        // A retry with the same idempotency key is the same video.
        let retried = try await client.submit(request, idempotencyKey: "swift-1")
        XCTAssertEqual(retried.id, video.id)
        try await client.download(video.id, to: dir + "/out.mp4")
        XCTAssertEqual(
            try MediaProbe.probe(path: dir + "/out.mp4").video?.frameCount,
            video.result.map { Int(($0.duration * 24).rounded()) })
        let voices = try await client.voices()
        XCTAssertGreaterThan(voices.languages.count, 100)

        var bad = request
        bad.fps = 31
        do {
            _ = try await client.submit(bad)
            XCTFail("fps 31 was accepted")
        } catch MouthpieceClientError.api(let status, let code, _, let field) {
            XCTAssertEqual([String(status), code, field ?? ""], ["400", "invalid_parameter", "fps"])
        }
        do {
            _ = try await MouthpieceClient(baseURL: URL(string: server.base)!, apiKey: other).video(video.id)
            XCTFail("another key saw the video")
        } catch MouthpieceClientError.api(let status, let code, _, _) {
            XCTAssertEqual([String(status), code], ["404", "not_found"])
        }
        server.process.terminate()
        waitForExit(server.process)
    }

    /// The client's webhook verifier accepts what the reference package signs, and nothing else.
    func testTheSwiftWebhookVerifierAgreesWithTheReferencePackage() throws {
        let python = TestFiles.packageRoot.appendingPathComponent(".venv/bin/python").path
        guard FileManager.default.isExecutableFile(atPath: python) else {
            XCTFail("No .venv with standardwebhooks: run scripts/setup.sh first.")
            return
        }
        let secret = "whsec_" + Data((0..<24).map { UInt8($0 * 7 % 256) }).base64EncodedString()
        let body = #"{"type":"video.completed","data":{"id":"vid_1"}}"#
        let stamp = Int(Date().timeIntervalSince1970)
        let signed = try TestFiles.run(
            python,
            [
                "-c",
                "import sys, datetime; from standardwebhooks import Webhook; "
                    + "print(Webhook(sys.argv[1]).sign('msg_1', datetime.datetime.fromtimestamp(int(sys.argv[2]), "
                    + "tz=datetime.timezone.utc), sys.argv[3]))",
                secret, String(stamp), body,
            ])
        XCTAssertEqual(signed.status, 0, signed.stderr)
        let signature = signed.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        XCTAssertTrue(signature.hasPrefix("v1,"), signature)
        let verifier = try WebhookVerifier(secret: secret)
        let headers = ["Webhook-Id": "msg_1", "Webhook-Timestamp": String(stamp), "Webhook-Signature": signature]
        let message = try verifier.verify(body: Data(body.utf8), headers: headers)
        XCTAssertEqual(message["type"] as? String, "video.completed")
        XCTAssertThrowsError(
            try verifier.verify(body: Data(body.replacingOccurrences(of: "1", with: "2").utf8), headers: headers)
        ) {
            XCTAssertEqual($0 as? WebhookVerifier.Failure, .badSignature)
        }
        XCTAssertThrowsError(
            try verifier.verify(body: Data(body.utf8), headers: headers, now: Date().addingTimeInterval(3600))
        ) { XCTAssertEqual($0 as? WebhookVerifier.Failure, .staleTimestamp) }
        XCTAssertThrowsError(
            try WebhookVerifier(secret: "whsec_" + Data(repeating: 1, count: 24).base64EncodedString())
                .verify(body: Data(body.utf8), headers: headers)
        ) {
            XCTAssertEqual($0 as? WebhookVerifier.Failure, .badSignature)
        }
    }
}
