import Foundation
import Media
import TestSupport
import XCTest

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// The service as an attacker and an unlucky operator meet it: cancels at random moments, a
/// shutdown with renders in flight, hostile bodies, hostile pictures and sounds, a trickling
/// server, and the clean-up of what a video leaves on disk. Real `mouthpiece serve` processes on
/// loopback ports, SQLite store.
final class HardeningTests: XCTestCase {
    var binary: String { TestFiles.mouthpieceBinary }

    struct Server {
        let process: Process
        let base: String
        var pid: Int32 { process.processIdentifier }
    }

    func start(_ dir: String, _ extra: [String] = []) async throws -> Server {
        let port = TestFiles.freePort()
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = ["serve", "--port", String(port), "--data-dir", dir] + extra
        process.standardOutput = FileHandle(forWritingAtPath: "/dev/null")
        FileManager.default.createFile(atPath: dir + ".log", contents: nil)
        process.standardError = FileHandle(forWritingAtPath: dir + ".log")
        try process.run()
        addTeardownBlock { if process.isRunning { process.terminate() } }
        let base = "http://127.0.0.1:\(port)"
        if try await waitUntilUp(base) { return Server(process: process, base: base) }
        XCTFail("the server did not come up")
        throw CancellationError()
    }

    func key(_ dir: String, concurrency: Int = 2) throws -> String {
        let result = try TestFiles.run(
            binary,
            ["keys", "create", "--name", "t", "--concurrency", String(concurrency), "--json", "--data-dir", dir])
        XCTAssertEqual(result.status, 0, result.stderr)
        let json = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any]
        return try XCTUnwrap(json?["key"] as? String)
    }

    func code(_ data: Data) -> String? {
        ((try? JSONSerialization.jsonObject(with: data) as? [String: Any])?["error"] as? [String: Any])?["code"]
            as? String
    }

    func status(_ server: Server, _ id: String, key: String) async throws -> [String: Any] {
        let (data, _, _) = try await request("GET", server.base + "/v1/videos/\(id)", key: key)
        return try object(data)
    }

    /// Waits until the video's status is one of `states`; its last answer.
    @discardableResult
    func wait(
        _ server: Server, _ id: String, key: String, for states: Set<String>, seconds: Double = 120
    ) async throws -> [String: Any] {
        var job: [String: Any] = [:]
        let end = Date().addingTimeInterval(seconds)
        while Date() < end {
            job = try await status(server, id, key: key)
            if states.contains(job["status"] as? String ?? "") { return job }
            try await Task.sleep(for: .milliseconds(20))
        }
        return job
    }

    /// Peak resident memory of a process so far (VmHWM), in MiB.
    func peakMiB(_ pid: Int32) throws -> Double {
        let text = try String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)
        let line = try XCTUnwrap(text.split(separator: "\n").first { $0.hasPrefix("VmHWM:") })
        let kb = try XCTUnwrap(Double(line.split(separator: " ", omittingEmptySubsequences: true)[1]))
        return kb / 1024
    }

    /// Runs a shell pipeline; its stdout.
    func shell(_ command: String) throws -> String {
        let result = try TestFiles.run("/bin/bash", ["-c", command])
        XCTAssertEqual(result.status, 0, "\(command): \(result.stderr)")
        return result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    // MARK: cancels and shutdown

    func testFiftyCancelsAtRandomMomentsThenShutdownWithRendersInFlight() async throws {
        let dir = try TestFiles.scratchDirectory(for: self)
        let key = try key(dir + "/data", concurrency: 100)
        var server = try await start(dir + "/data", ["--workers", "2"])
        // Long enough (60 s at 1080p) that every cancel lands mid-render.
        try SyntheticSpeech(segments: [.silence(0.2), .speech(60), .silence(0.3)]).writeWAV(to: dir + "/long.wav")
        try SyntheticSpeech(segments: [.silence(0.2), .speech(6), .silence(0.3)]).writeWAV(to: dir + "/short.wav")
        let portrait = try Data(contentsOf: URL(fileURLWithPath: try TestFiles.samplePortrait()))
        let (avatar, avatarStatus) = try await upload(
            server.base + "/v1/avatars", key: key,
            fields: [
                "consent[attested_by]": "Test Suite", "consent[relation]": "rights_holder", "consent[accepted]": "true",
            ], files: [("image", "a.png", "image/png", portrait)])
        XCTAssertEqual(avatarStatus, 201)
        var body: [String: Any] = [
            "avatar_id": try XCTUnwrap(try object(avatar)["id"] as? String),
            "audio_url": "data:audio/wav;base64,"
                + (try Data(contentsOf: URL(fileURLWithPath: dir + "/long.wav"))).base64EncodedString(),
            "resolution": "1080p", "fps": 30,
        ]
        var canceled: [String] = []
        for _ in 0..<50 {
            let (created, createdStatus, _) = try await request(
                "POST", server.base + "/v1/videos", key: key, json: body)
            XCTAssertEqual(createdStatus, 202, String(decoding: created, as: UTF8.self))
            let id = try XCTUnwrap(try object(created)["id"] as? String)
            try await wait(server, id, key: key, for: ["processing"], seconds: 30)
            // A random moment: during the analysis, the first frames, or well into the render.
            try await Task.sleep(for: .milliseconds(Int.random(in: 0...1500)))
            let (_, cancelStatus, _) = try await request("POST", server.base + "/v1/videos/\(id)/cancel", key: key)
            XCTAssertEqual(cancelStatus, 200)
            canceled.append(id)
            XCTAssertTrue(server.process.isRunning, "the server died after \(canceled.count) cancels")
            if !server.process.isRunning { return }
        }
        for id in canceled {
            let job = try await wait(server, id, key: key, for: ["canceled", "completed", "failed"])
            XCTAssertEqual(job["status"] as? String, "canceled", "\(job)")
            XCTAssertEqual(job["attempts"] as? Int, 1)
        }
        XCTAssertTrue(server.process.isRunning)

        // SIGTERM with two renders in flight and one queued: a clean exit, the jobs handed back.
        body["audio_url"] =
            "data:audio/wav;base64,"
            + (try Data(contentsOf: URL(fileURLWithPath: dir + "/short.wav"))).base64EncodedString()
        var inFlight: [String] = []
        for _ in 0..<3 {
            let (created, _, _) = try await request("POST", server.base + "/v1/videos", key: key, json: body)
            inFlight.append(try XCTUnwrap(try object(created)["id"] as? String))
        }
        try await wait(server, inFlight[1], key: key, for: ["processing"], seconds: 30)
        try await Task.sleep(for: .milliseconds(Int.random(in: 100...600)))
        kill(server.pid, SIGTERM)
        waitForExit(server.process)
        XCTAssertEqual(server.process.terminationReason, .exit, "the server was killed by a signal")
        XCTAssertEqual(server.process.terminationStatus, 0)

        // After a restart the handed-back jobs render; the canceled ones stay canceled, unrendered.
        server = try await start(dir + "/data", ["--workers", "2"])
        for id in inFlight {
            let job = try await wait(server, id, key: key, for: ["completed", "failed", "canceled"], seconds: 300)
            XCTAssertEqual(job["status"] as? String, "completed", "\(job)")
        }
        for id in canceled.shuffled().prefix(10) {
            let job = try await status(server, id, key: key)
            XCTAssertEqual(job["status"] as? String, "canceled")
            XCTAssertEqual(job["attempts"] as? Int, 1)
        }
        server.process.terminate()
        waitForExit(server.process)
    }

    // MARK: hostile inputs

    func testHostileBodiesPicturesAndSoundsGetA4xxAndCostLittleMemory() async throws {
        let dir = try TestFiles.scratchDirectory(for: self)
        let key = try key(dir + "/data")
        let server = try await start(dir + "/data", ["--workers", "0"])
        let (_, warm) = try await request("GET", server.base + "/v1/usage")
        XCTAssertEqual(warm, 401)

        // 200 MB bodies: declared, chunked JSON, chunked multipart. 413 with the code, at once.
        let before = try peakMiB(server.pid)
        for (label, headers) in [
            // curl streams standard input chunked unless told otherwise: an empty Transfer-Encoding
            // header leaves the declared length alone (NIO refuses a request that has both).
            ("declared", "-H 'Content-Type: application/json' -H 'Content-Length: 209715200' -H 'Transfer-Encoding:'"),
            ("chunked json", "-H 'Content-Type: application/json' -H 'Transfer-Encoding: chunked'"),
            ("chunked multipart", "-H 'Content-Type: multipart/form-data; boundary=b' -H 'Transfer-Encoding: chunked'"),
        ] {
            let out = try shell(
                "head -c 209715200 /dev/zero | curl -s -o \(dir)/answer -w '%{http_code} %{time_total}' -X POST "
                    + "-H 'Authorization: Bearer \(key)' \(headers) -T - \(server.base)/v1/videos || true")
            let parts = out.split(separator: " ")
            XCTAssertEqual(parts.first, "413", "\(label): \(out)")
            XCTAssertLessThan(Double(parts.last ?? "") ?? 99, 1.5, "\(label): \(out)")
            print("hostile: 200 MB \(label): \(out) (status, seconds)")
            let answer = (try? Data(contentsOf: URL(fileURLWithPath: dir + "/answer"))) ?? Data()
            XCTAssertEqual(code(answer), "payload_too_large", label)
        }
        let bodyGrowth = try peakMiB(server.pid) - before
        print("hostile: three 200 MB bodies refused; server peak memory +\(String(format: "%.1f", bodyGrowth)) MiB")
        XCTAssertLessThan(bodyGrowth, 20, "memory grew reading bodies over the limit")

        // 20,000 tiny parts: refused before parsing; the server keeps answering.
        var form = ""
        for n in 0..<20_000 { form += "--b\r\nContent-Disposition: form-data; name=\"f\(n)\"\r\n\r\nv\r\n" }
        form += "--b--\r\n"
        try Data(form.utf8).write(to: URL(fileURLWithPath: dir + "/form"))
        let parts = try shell(
            "curl -s -o \(dir)/answer -w '%{http_code} %{time_total}' -H 'Authorization: Bearer \(key)' "
                + "-H 'Content-Type: multipart/form-data; boundary=b' --data-binary @\(dir)/form \(server.base)/v1/videos"
        )
        XCTAssertTrue(parts.hasPrefix("400 "), parts)
        XCTAssertLessThan(Double(parts.split(separator: " ")[1]) ?? 99, 1.5, parts)
        XCTAssertEqual(code(try Data(contentsOf: URL(fileURLWithPath: dir + "/answer"))), "invalid_parameter")

        // A 16000x16000 16-bit RGBA PNG of about 2 MB: refused from its header.
        _ = try shell(
            """
            python3 - <<'EOF'
            import struct, zlib
            w = h = 16000
            def chunk(kind, data):
                return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
            z = zlib.compressobj(9)
            row = b"\\0" * (1 + w * 8)
            idat = b"".join(z.compress(row) for _ in range(h)) + z.flush()
            with open("\(dir)/huge.png", "wb") as f:
                f.write(b"\\x89PNG\\r\\n\\x1a\\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 16, 6, 0, 0, 0))
                        + chunk(b"IDAT", idat) + chunk(b"IEND", b""))
            EOF
            """)
        let huge = try Data(contentsOf: URL(fileURLWithPath: dir + "/huge.png"))
        XCTAssertLessThan(huge.count, 3 << 20)
        let beforeImage = try peakMiB(server.pid)
        let (refused, refusedStatus) = try await upload(
            server.base + "/v1/avatars", key: key,
            fields: [
                "consent[attested_by]": "Test Suite", "consent[relation]": "rights_holder", "consent[accepted]": "true",
            ], files: [("image", "huge.png", "image/png", huge)])
        XCTAssertEqual(refusedStatus, 413)
        XCTAssertEqual(code(refused), "image_too_large")
        let (refusedVideo, _) = try await upload(
            server.base + "/v1/videos", key: key, fields: ["script[text]": "Hello."],
            files: [("image", "huge.png", "image/png", huge)])
        XCTAssertEqual(code(refusedVideo), "image_too_large")
        let imageGrowth = try peakMiB(server.pid) - beforeImage
        print(
            "hostile: the 16k x 16k PNG refused twice; server peak memory +\(String(format: "%.1f", imageGrowth)) MiB")
        XCTAssertLessThan(imageGrowth, 100, "memory grew on a huge picture")

        // Float WAVs holding NaN, infinities and 3e38: 400 unsupported_audio at submission.
        let portrait = try Data(contentsOf: URL(fileURLWithPath: try TestFiles.samplePortrait()))
        for (name, poison) in [("nan", Float.nan), ("inf", .infinity), ("-inf", -.infinity), ("huge", 3e38)] {
            var samples = (0..<16_000).map { Float(sin(Double($0) * 0.05) * 0.3) }
            samples[8000] = poison
            let wav = Self.floatWAV(samples, sampleRate: 16_000)
            let (answer, answerStatus) = try await upload(
                server.base + "/v1/videos", key: key, fields: [:],
                files: [("image", "p.png", "image/png", portrait), ("audio", "a.wav", "audio/wav", wav)])
            XCTAssertEqual(answerStatus, 400, name)
            XCTAssertEqual(code(answer), "unsupported_audio", name)
            // The command line says the same, with exit status 2.
            try wav.write(to: URL(fileURLWithPath: dir + "/\(name).wav"))
            let cli = try TestFiles.run(
                binary,
                [
                    "render", "--image", try TestFiles.samplePortrait(), "--audio", dir + "/\(name).wav", "-o",
                    dir + "/\(name).mp4",
                ])
            XCTAssertEqual(cli.status, 2, name)
            XCTAssertTrue(cli.stderr.contains("error[unsupported_audio]"), cli.stderr)
            XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/\(name).mp4"))
        }
        // Nothing refused was kept.
        let kept = try FileManager.default.contentsOfDirectory(atPath: dir + "/data/blobs")
        XCTAssertEqual(kept, [], "\(kept)")
        // A wrong argument on the command line: the same error shape, exit status 2.
        let wrong = try TestFiles.run(binary, ["render", "--fps", "many"])
        XCTAssertEqual(wrong.status, 2)
        XCTAssertTrue(wrong.stderr.hasPrefix("error[invalid_parameter]: "), wrong.stderr)
        XCTAssertTrue(server.process.isRunning)
        server.process.terminate()
        waitForExit(server.process)
    }

    // MARK: the committed malformed-input corpus

    /// Every JSON seed of `Tests/Corpus` (and seeded mutations of each) as a submission, every
    /// picture and sound seed as an upload, and the same pictures and sounds on the command line:
    /// a 4xx with an error code or a success, never a 5xx, a crash or a hang.
    func testTheMalformedCorpusGetsA4xxFromTheServiceAndAnErrorFromTheCommandLine() async throws {
        let dir = try TestFiles.scratchDirectory(for: self)
        let key = try key(dir + "/data", concurrency: 1000)
        let server = try await start(dir + "/data", ["--workers", "0"])
        func seeds(_ kind: String) throws -> [(name: String, bytes: Data)] {
            try Corpus.seeds(kind).map { ($0.name, Data($0.bytes)) }
        }
        var statuses: [Int: Int] = [:]
        func check(_ label: String, _ data: Data, _ status: Int) {
            statuses[status, default: 0] += 1
            XCTAssertTrue((200..<500).contains(status), "\(label): \(status) \(String(decoding: data, as: UTF8.self))")
            if status >= 400 { XCTAssertNotNil(code(data), "\(label): no error code") }
        }

        for (n, (name, body)) in try Corpus.cases("json", perSeed: 6).enumerated() {
            var request = URLRequest(url: URL(string: server.base + "/v1/videos")!)
            request.httpMethod = "POST"
            request.setValue("Bearer \(key)", forHTTPHeaderField: "Authorization")
            request.setValue("application/json", forHTTPHeaderField: "Content-Type")
            request.httpBody = Data(body)
            let (data, response) = try await URLSession.shared.data(for: request)
            let status = (response as! HTTPURLResponse).statusCode
            check(name, data, status)
            // The seeds themselves (every seventh case) are all refused.
            if n % 7 == 0 { XCTAssertTrue((400..<500).contains(status), "\(name) was accepted: \(status)") }
        }
        let portrait = try Data(contentsOf: URL(fileURLWithPath: try TestFiles.samplePortrait()))
        let speech = try Data(contentsOf: URL(fileURLWithPath: Corpus.path("audio", "valid-1s-pcm16.wav")))
        for (name, bytes) in try seeds("image") {
            let (avatar, avatarStatus) = try await upload(
                server.base + "/v1/avatars", key: key,
                fields: [
                    "consent[attested_by]": "Test Suite", "consent[relation]": "rights_holder",
                    "consent[accepted]": "true",
                ], files: [("image", name, "image/png", bytes)])
            check("avatar \(name)", avatar, avatarStatus)
            XCTAssertNotEqual(avatarStatus, 201, "\(name) made an avatar (there is no face in it)")
            let (video, videoStatus) = try await upload(
                server.base + "/v1/videos", key: key, fields: [:],
                files: [("image", name, "image/png", bytes), ("audio", "a.wav", "audio/wav", speech)])
            check("video image \(name)", video, videoStatus)
        }
        for (name, bytes) in try seeds("audio") {
            let (video, videoStatus) = try await upload(
                server.base + "/v1/videos", key: key, fields: [:],
                files: [("image", "p.png", "image/png", portrait), ("audio", name, "audio/wav", bytes)])
            check("video audio \(name)", video, videoStatus)
            if !Self.mayBeAccepted(name) {
                XCTAssertEqual(videoStatus / 100, 4, "\(name) was accepted")
            }
        }
        XCTAssertTrue(server.process.isRunning)
        print("corpus through the service: \(statuses.sorted { $0.key < $1.key })")

        // The command line: an error with a code and exit status 1 or 2, never a signal or an output file.
        for (kind, name, _) in try seeds("image").map({ ("image", $0.name, $0.bytes) })
            + seeds("audio").filter({ !Self.mayBeAccepted($0.name) })
            .map({ ("audio", $0.name, $0.bytes) })
        {
            let seed = Corpus.path(kind, name)
            let output = dir + "/cli-\(name).mp4"
            let result = try TestFiles.run(
                binary,
                [
                    "render", "--image", kind == "image" ? seed : try TestFiles.samplePortrait(), "--audio",
                    kind == "audio" ? seed : Corpus.path("audio", "valid-1s-pcm16.wav"),
                    "--resolution", "480p", "-o", output,
                ])
            XCTAssertTrue([1, 2].contains(result.status), "\(kind) \(name): exit \(result.status) \(result.stderr)")
            XCTAssertTrue(result.stderr.contains("error["), "\(kind) \(name): \(result.stderr)")
            XCTAssertFalse(result.stderr.contains("error[invalid_parameter]"), "\(kind) \(name): \(result.stderr)")
            XCTAssertFalse(FileManager.default.fileExists(atPath: output), "\(kind) \(name) left \(output)")
        }
        server.process.terminate()
        waitForExit(server.process)
    }

    /// Sound seeds that are, or that FFmpeg reads as, sound: valid ones, silence, and faults it
    /// tolerates (a RIFF size of zero).
    static func mayBeAccepted(_ name: String) -> Bool {
        ["valid-", "wav-silence", "tolerated-"].contains { name.hasPrefix($0) }
    }

    /// A 16-bit-header float WAV (format 3), mono.
    static func floatWAV(_ samples: [Float], sampleRate: Int) -> Data {
        var data = Data()
        func u32(_ v: Int) { withUnsafeBytes(of: UInt32(v).littleEndian) { data.append(contentsOf: $0) } }
        func u16(_ v: Int) { withUnsafeBytes(of: UInt16(v).littleEndian) { data.append(contentsOf: $0) } }
        data += Data("RIFF".utf8)
        u32(36 + samples.count * 4)
        data += Data("WAVEfmt ".utf8)
        u32(16)
        u16(3)
        u16(1)
        u32(sampleRate)
        u32(sampleRate * 4)
        u16(4)
        u16(32)
        data += Data("data".utf8)
        u32(samples.count * 4)
        for sample in samples { withUnsafeBytes(of: sample.bitPattern.littleEndian) { data.append(contentsOf: $0) } }
        return data
    }

    /// A server that sends its answer a byte at a time is cut off at the fetch limit.
    func testATricklingServerIsCutOffAtTheFetchLimit() async throws {
        let dir = try TestFiles.scratchDirectory(for: self)
        let port = TestFiles.freePort()
        let trickle = Process()
        trickle.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        trickle.arguments = [
            "-c",
            """
            import http.server, time
            class H(http.server.BaseHTTPRequestHandler):
                def do_GET(self):
                    self.send_response(200)
                    self.send_header("Content-Type", "image/jpeg")
                    self.end_headers()
                    for _ in range(300):
                        self.wfile.write(b"\\xff")
                        self.wfile.flush()
                        time.sleep(0.1)
                def log_message(self, *a):
                    pass
            http.server.ThreadingHTTPServer(("127.0.0.1", \(port)), H).serve_forever()
            """,
        ]
        trickle.standardOutput = FileHandle(forWritingAtPath: "/dev/null")
        trickle.standardError = FileHandle(forWritingAtPath: "/dev/null")
        try trickle.run()
        defer { trickle.stop() }
        let key = try key(dir + "/data")
        let server = try await start(
            dir + "/data", ["--workers", "0", "--url-allowlist", "127.0.0.1:\(port)", "--fetch-timeout", "3"])
        try await Task.sleep(for: .milliseconds(300))
        let started = Date()
        let (answer, answerStatus, _) = try await request(
            "POST", server.base + "/v1/avatars", key: key,
            json: ["consent": consentJSON, "image_url": "http://127.0.0.1:\(port)/slow.jpg"])
        let took = Date().timeIntervalSince(started)
        XCTAssertEqual(answerStatus, 404, String(decoding: answer, as: UTF8.self))
        XCTAssertEqual(code(answer), "input_not_found")
        XCTAssertGreaterThan(took, 2.5)
        XCTAssertLessThan(took, 6, "the fetch ran past its 3 s limit")
        // Fetch errors do not tell how far a connection got.
        let (closed, _, _) = try await request(
            "POST", server.base + "/v1/avatars", key: key,
            json: ["consent": consentJSON, "image_url": "http://127.0.0.1:\(port)/x.jpg"])
        XCTAssertFalse(String(decoding: closed, as: UTF8.self).lowercased().contains("connect"))
        server.process.terminate()
        waitForExit(server.process)
    }

    // MARK: storage

    func testRacingRetriesLeaveNoOrphansAndDeletedOrExpiredVideosLeaveNoFiles() async throws {
        let dir = try TestFiles.scratchDirectory(for: self)
        let key = try key(dir + "/data", concurrency: 10)
        let blobs = dir + "/data/blobs"
        func files() throws -> [String] {
            try FileManager.default.contentsOfDirectory(atPath: blobs).filter { !$0.hasPrefix(".") }.sorted()
        }
        try SyntheticSpeech(segments: [.silence(0.2), .speech(1.2), .silence(0.2)]).writeWAV(to: dir + "/v.wav")
        let body: [String: Any] = [
            "image_url": "data:image/png;base64,"
                + (try Data(contentsOf: URL(fileURLWithPath: try TestFiles.samplePortrait()))).base64EncodedString(),
            "audio_url": "data:audio/wav;base64,"
                + (try Data(contentsOf: URL(fileURLWithPath: dir + "/v.wav"))).base64EncodedString(),
            "resolution": "480p",
        ]
        // Twelve racing submissions with one idempotency key: one job, its two inputs, nothing else.
        var server = try await start(dir + "/data", ["--workers", "0"])
        let payload = try JSONSerialization.data(withJSONObject: body)
        let endpoint = URL(string: server.base + "/v1/videos")!
        let ids = try await withThrowingTaskGroup(of: String?.self) { group in
            for _ in 0..<12 {
                group.addTask {
                    var submit = URLRequest(url: endpoint)
                    submit.httpMethod = "POST"
                    submit.httpBody = payload
                    submit.setValue("application/json", forHTTPHeaderField: "Content-Type")
                    submit.setValue("Bearer \(key)", forHTTPHeaderField: "Authorization")
                    submit.setValue("same-one", forHTTPHeaderField: "Idempotency-Key")
                    // A key has 4 large uploads in flight at most: the others are told to retry
                    // (429 concurrency_limit), as a client would.
                    for _ in 0..<200 {
                        let (data, response) = try await URLSession.shared.data(for: submit)
                        if (response as? HTTPURLResponse)?.statusCode == 429 {
                            try await Task.sleep(for: .milliseconds(50))
                            continue
                        }
                        return (try? JSONSerialization.jsonObject(with: data) as? [String: Any])?["id"] as? String
                    }
                    return nil
                }
            }
            return try await group.reduce(into: Set<String?>()) { $0.insert($1) }
        }
        XCTAssertEqual(ids.count, 1, "\(ids)")
        let id = try XCTUnwrap(ids.first ?? nil)
        let inputs = try files()
        XCTAssertEqual(inputs.count, 2, "\(inputs)")
        server.process.terminate()
        waitForExit(server.process)

        // Rendered, then deleted: no files, not listed, not served; usage still counts it.
        server = try await start(dir + "/data", ["--workers", "1"])
        let done = try await wait(server, id, key: key, for: ["completed", "failed"])
        XCTAssertEqual(done["status"] as? String, "completed", "\(done)")
        XCTAssertEqual(try files().filter { $0.hasSuffix(".mp4") }.count, 1)
        let (second, _, _) = try await request("POST", server.base + "/v1/videos", key: key, json: body)
        let secondID = try XCTUnwrap(try object(second)["id"] as? String)
        let (busy, busyStatus, _) = try await request("DELETE", server.base + "/v1/videos/\(secondID)", key: key)
        if busyStatus != 204 {
            XCTAssertEqual(busyStatus, 409)
            XCTAssertEqual(code(busy), "video_in_progress")
        }
        let (_, deleted, _) = try await request("DELETE", server.base + "/v1/videos/\(id)", key: key)
        XCTAssertEqual(deleted, 204)
        let (_, gone, _) = try await request("GET", server.base + "/v1/videos/\(id)", key: key)
        XCTAssertEqual(gone, 404)
        let (_, again, _) = try await request("DELETE", server.base + "/v1/videos/\(id)", key: key)
        XCTAssertEqual(again, 404)
        let (usage, _, _) = try await request("GET", server.base + "/v1/usage", key: key)
        XCTAssertGreaterThan(try object(usage)["output_seconds"] as? Double ?? 0, 1)
        try await wait(server, secondID, key: key, for: ["completed", "failed"])
        let kept = try files()
        XCTAssertEqual(kept.count, 3, "only the second video's inputs and result: \(kept)")
        server.process.terminate()
        waitForExit(server.process)

        // A retention of 3 s: the finished video goes by itself while the server runs.
        server = try await start(dir + "/data", ["--workers", "1", "--retention-days", "0.000035"])
        var left = try files()
        for _ in 0..<100 where !left.isEmpty {
            try await Task.sleep(for: .milliseconds(100))
            left = try files()
        }
        XCTAssertEqual(left, [])
        let (_, expired, _) = try await request("GET", server.base + "/v1/videos/\(secondID)", key: key)
        XCTAssertEqual(expired, 404)
        server.process.terminate()
        waitForExit(server.process)
    }
}
