import Foundation
import Media
import TestSupport
import XCTest

/// Several machines' worth of processes on one: an API-only `serve --workers 0` and separate
/// `mouthpiece worker` processes on one PostgreSQL database and one blob directory, with the faults
/// that happen to such deployments: workers killed mid-render, the database restarting, a full disk.
///
/// `MOUTHPIECE_SCALE_JOBS` sets how many jobs the kill test submits (12 by default;
/// `scripts/scale-check.sh` runs it with 100).
final class ScaleOutTests: XCTestCase {
    final class Deployment: @unchecked Sendable {
        let dir: String
        let database: String
        let blobs: String
        var base = ""
        var key = ""
        var server: Process?
        var workers: [Process] = []
        var logs = 0

        init(dir: String, database: String) {
            self.dir = dir
            self.database = database
            blobs = dir + "/blobs"
        }

        var storeArguments: [String] { ["--database", database, "--blob-dir", blobs] }

        /// The last lines of every process log, for failure messages.
        var logTail: String {
            (0..<logs).compactMap { n in
                (try? String(contentsOfFile: dir + "/log-\(n).txt", encoding: .utf8)).map {
                    "--- log-\(n)\n" + $0.split(separator: "\n").suffix(15).joined(separator: "\n")
                }
            }.joined(separator: "\n")
        }

        func launch(_ arguments: [String]) throws -> Process {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: TestFiles.mouthpieceBinary)
            process.arguments = arguments
            let log = dir + "/log-\(logs).txt"
            logs += 1
            FileManager.default.createFile(atPath: log, contents: nil)
            process.standardOutput = FileHandle(forWritingAtPath: "/dev/null")
            process.standardError = FileHandle(forWritingAtPath: log)
            try process.run()
            return process
        }

        func startWorker(_ extra: [String] = []) throws {
            workers.append(try launch(["worker", "--workers", "1"] + storeArguments + extra))
        }

        func stopAll() {
            for process in workers + [server].compactMap({ $0 }) where process.isRunning {
                kill(process.processIdentifier, SIGKILL)
                process.waitUntilExit()
            }
        }

        /// Rows from the database, as `psql -At` prints them.
        func query(_ sql: String) throws -> [[String]] {
            let result = try TestFiles.run("/usr/bin/psql", [database, "-qAtF", "\t", "-c", sql])
            return result.stdout.split(separator: "\n").map {
                $0.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
            }
        }
    }

    /// An API node (no workers) on a fresh database, and a key.
    func deploy(database: String? = nil) async throws -> Deployment {
        let dir = try TestFiles.scratchDirectory(for: self)
        let deployment = Deployment(dir: dir, database: try database ?? TestPostgres.freshDatabase())
        addTeardownBlock { deployment.stopAll() }
        let migrate = try TestFiles.run(TestFiles.mouthpieceBinary, ["migrate"] + deployment.storeArguments)
        XCTAssertEqual(migrate.status, 0, migrate.stderr)
        XCTAssertTrue(migrate.stdout.contains("v4-scale-out"), migrate.stdout)
        let created = try TestFiles.run(
            TestFiles.mouthpieceBinary,
            ["keys", "create", "--name", "scale", "--concurrency", "500", "--json"] + deployment.storeArguments)
        deployment.key = try XCTUnwrap(
            (try JSONSerialization.jsonObject(with: Data(created.stdout.utf8)) as? [String: Any])?["key"] as? String,
            created.stderr)
        let port = TestFiles.freePort()
        deployment.server = try deployment.launch(
            ["serve", "--port", String(port), "--workers", "0"] + deployment.storeArguments)
        deployment.base = "http://127.0.0.1:\(port)"
        if try await waitUntilUp(deployment.base) { return deployment }
        XCTFail("the API node did not come up\n\(deployment.logTail)")
        throw CancellationError()
    }

    /// Submits `count` short clips (each with a different seed); their ids.
    func submit(_ deployment: Deployment, count: Int, seconds: Double = 1.2, resolution: String = "480p") async throws
        -> [String]
    {
        let wav = deployment.dir + "/v-\(seconds).wav"
        try SyntheticSpeech(segments: [.silence(0.2), .speech(seconds), .silence(0.2)]).writeWAV(to: wav)
        let image = try Data(contentsOf: URL(fileURLWithPath: try TestFiles.samplePortrait()))
        let audio = try Data(contentsOf: URL(fileURLWithPath: wav))
        var ids: [String] = []
        for n in 0..<count {
            let (data, status, _) = try await request(
                "POST", deployment.base + "/v1/videos", key: deployment.key,
                json: [
                    "image_url": "data:image/png;base64," + image.base64EncodedString(),
                    "audio_url": "data:audio/wav;base64," + audio.base64EncodedString(),
                    "resolution": resolution, "fps": 25, "seed": n,
                ])
            XCTAssertEqual(status, 202, String(decoding: data, as: UTF8.self))
            ids.append(try XCTUnwrap(try object(data)["id"] as? String))
        }
        return ids
    }

    /// Polls until every job has ended or `timeout` passes, calling `meanwhile` every round (for
    /// the faults). The jobs as the API last showed them.
    func waitForAll(
        _ deployment: Deployment, _ ids: [String], timeout: Duration,
        meanwhile: (Duration) async throws -> Void = { _ in }
    ) async throws -> [String: [String: Any]] {
        var jobs: [String: [String: Any]] = [:]
        let start = ContinuousClock.now
        while start.duration(to: .now) < timeout {
            for id in ids where !(["completed", "failed", "canceled"].contains(jobs[id]?["status"] as? String ?? "")) {
                // The API may answer 500 while the database restarts: ask again next round.
                guard
                    let (data, status, _) = try? await request(
                        "GET", deployment.base + "/v1/videos/\(id)", key: deployment.key),
                    status == 200
                else { continue }
                jobs[id] = try object(data)
            }
            if ids.allSatisfy({ ["completed", "failed", "canceled"].contains(jobs[$0]?["status"] as? String ?? "") }) {
                break
            }
            try await meanwhile(start.duration(to: .now))
            try await Task.sleep(for: .milliseconds(250))
        }
        return jobs
    }

    /// Every job completed, each served file whole and decodable, no two jobs sharing a result,
    /// no result file left that no job owns.
    func checkServed(_ deployment: Deployment, _ ids: [String], _ jobs: [String: [String: Any]]) async throws {
        for id in ids {
            XCTAssertEqual(
                jobs[id]?["status"] as? String, "completed", "\(id): \(jobs[id] ?? [:])\n\(deployment.logTail)")
        }
        let results = try deployment.query("SELECT result_blob FROM videos WHERE status = 'completed'").map { $0[0] }
        XCTAssertEqual(Set(results).count, results.count, "no result served for two jobs")
        for id in ids where jobs[id]?["status"] as? String == "completed" {
            let (video, status, _) = try await request(
                "GET", deployment.base + "/v1/videos/\(id)/content", key: deployment.key)
            XCTAssertEqual(status, 200)
            let facts = jobs[id]?["result"] as? [String: Any]
            XCTAssertEqual(video.count, facts?["file_size"] as? Int, "\(id): served whole")
            let path = deployment.dir + "/\(id).mp4"
            try video.write(to: URL(fileURLWithPath: path))
            // Decoded to the end: any damage makes ffmpeg fail.
            XCTAssertNoThrow(try TestFiles.ffmpeg(["-xerror", "-i", path, "-f", "null", "-"]), id)
            XCTAssertEqual(try MediaProbe.probe(path: path).video?.codec, "h264")
        }
        let stored = try FileManager.default.contentsOfDirectory(atPath: deployment.blobs).filter {
            $0.hasSuffix(".mp4") && !$0.hasPrefix(".")
        }
        XCTAssertTrue(Set(results).isSubset(of: Set(stored)), "every result is in the blob directory")
    }

    func testJobsThroughSeveralWorkersSurviveWorkersKilledMidRender() async throws {
        let count = Int(ProcessInfo.processInfo.environment["MOUTHPIECE_SCALE_JOBS"] ?? "") ?? 12
        let deployment = try await deploy()
        let ids = try await submit(deployment, count: count, seconds: 4, resolution: "720p")
        for _ in 0..<3 { try deployment.startWorker() }
        var kills = 0
        var nextKill = Duration.seconds(Double.random(in: 1...3))
        let started = ContinuousClock.now
        let jobs = try await waitForAll(deployment, ids, timeout: .seconds(120 + count * 6)) { elapsed in
            guard elapsed >= nextKill else { return }
            nextKill = elapsed + .seconds(Double.random(in: 1.5...4))
            // Kill the worker rendering a random job, at whatever point it has reached; not one
            // already on its last allowed attempt (three kills of the same job make it fail by
            // design, `worker_lost`, which chance alone sometimes did).
            let owners = try deployment.query(
                "SELECT lease_owner FROM videos WHERE status = 'processing' AND attempts < 3")
            guard let owner = owners.randomElement()?.first,
                let pid = owner.split(separator: "/").dropLast(2).last.flatMap({ Int32($0) }),
                let index = deployment.workers.firstIndex(where: { $0.processIdentifier == pid && $0.isRunning })
            else { return }
            kill(pid, SIGKILL)
            waitForExit(deployment.workers[index])
            kills += 1
            try deployment.startWorker()
        }
        let wall = started.duration(to: .now)
        try await checkServed(deployment, ids, jobs)
        let attempts = ids.map { jobs[$0]?["attempts"] as? Int ?? 0 }
        let retried = attempts.filter { $0 > 1 }.count
        XCTAssertGreaterThan(kills, 0, "the test killed no worker: make the jobs longer")
        XCTAssertGreaterThanOrEqual(retried, 1, "a job whose worker was killed is rendered again")
        print(
            "scale-out: \(count) jobs, 3 workers, \(kills) workers killed mid-render: "
                + "\(ids.filter { jobs[$0]?["status"] as? String == "completed" }.count) completed, "
                + "\(ids.filter { jobs[$0] == nil }.count) lost, \(retried) rendered again after a kill, "
                + "\(wall.components.seconds) s from the first worker's start")

        // A cancel sent to the API node reaches the job on the worker rendering it.
        let long = try await submit(deployment, count: 1, seconds: 40, resolution: "1080p")[0]
        _ = try await waitForAll(deployment, [long], timeout: .seconds(60)) { _ in
            let rows = try deployment.query("SELECT status FROM videos WHERE id = '\(long)'")
            if rows.first?.first == "processing" {
                _ = try await self.request("POST", deployment.base + "/v1/videos/\(long)/cancel", key: deployment.key)
            }
        }
        let canceled = try deployment.query("SELECT status, attempts > 0 FROM videos WHERE id = '\(long)'")
        XCTAssertEqual(canceled.first, ["canceled", "t"], "canceled while rendering\n\(deployment.logTail)")
    }

    func testADatabaseRestartedMidRunLosesNoJob() async throws {
        let cluster = try PostgresCluster()
        defer { cluster.stop() }
        let deployment = try await deploy(database: try cluster.freshDatabase())
        // Long enough that the jobs are still rendering for both restarts, on a fast machine too.
        let ids = try await submit(deployment, count: 10, seconds: 8, resolution: "720p")
        for _ in 0..<2 { try deployment.startWorker() }
        var restarts: [Duration] = []
        let jobs = try await waitForAll(deployment, ids, timeout: .seconds(240)) { elapsed in
            // Restart while jobs are rendering, twice, a few seconds apart.
            let last = restarts.last ?? .zero
            guard restarts.count < 2, elapsed > last + .seconds(2) else { return }
            let rendering = try deployment.query("SELECT count(*) FROM videos WHERE status = 'processing'")
            guard rendering.first?.first.flatMap(Int.init) ?? 0 > 0 else { return }
            try cluster.restart()
            restarts.append(elapsed)
        }
        XCTAssertEqual(restarts.count, 2, "the database was restarted mid-render twice")
        try await checkServed(deployment, ids, jobs)
        for worker in deployment.workers { XCTAssertTrue(worker.isRunning, "workers ride out the restarts") }
    }

    func testAWorkerWithAFullDiskLeavesJobsToOthersAndAJobFailingEverywhereEndsFailed() async throws {
        let deployment = try await deploy()
        // An API-only node renders nothing.
        let first = try await submit(deployment, count: 1)[0]
        try await Task.sleep(for: .seconds(2))
        XCTAssertEqual(try deployment.query("SELECT status FROM videos WHERE id = '\(first)'").first, ["queued"])

        // A worker whose render disk (a 32 KiB tmpfs) fills up mid-render.
        let full = deployment.dir + "/full"
        try FileManager.default.createDirectory(atPath: full, withIntermediateDirectories: true)
        let mounted = try TestFiles.run("/bin/mount", ["-t", "tmpfs", "-o", "size=32k", "tmpfs", full])
        XCTAssertEqual(mounted.status, 0, "mounting a small tmpfs needs root: \(mounted.stderr)")
        guard mounted.status == 0 else { return }
        addTeardownBlock { _ = try? TestFiles.run("/bin/umount", ["-l", full]) }
        try deployment.startWorker(["--scratch-dir", full, "--min-free-mb", "0", "--max-attempts", "2"])
        // Alone, it fails the job twice (going back to the queue each time), then gives up.
        let failed = try await waitForAll(deployment, [first], timeout: .seconds(90))[first]
        XCTAssertEqual(failed?["status"] as? String, "failed", "\(failed ?? [:])\n\(deployment.logTail)")
        let error = failed?["error"] as? [String: Any]
        XCTAssertTrue(
            ["output_not_writable", "encoding_failed"].contains(error?["code"] as? String ?? ""), "\(error ?? [:])")
        XCTAssertTrue((error?["message"] as? String ?? "").contains("space"), "\(error ?? [:])")
        XCTAssertTrue((error?["message"] as? String ?? "").contains("Gave up after 2 attempts"), "\(error ?? [:])")
        XCTAssertEqual(failed?["attempts"] as? Int, 3, "two renders, then the claim that gives up")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: full), [], "nothing left on the full disk")

        // Beside a healthy worker, a worker with a full disk (allowing the default three attempts)
        // fails the jobs it takes and waits longer after each failure; the healthy one renders them.
        kill(deployment.workers[0].processIdentifier, SIGKILL)
        waitForExit(deployment.workers[0])
        deployment.workers.removeAll()
        try deployment.startWorker(["--scratch-dir", full, "--min-free-mb", "0"])
        try deployment.startWorker()
        let ids = try await submit(deployment, count: 4)
        let jobs = try await waitForAll(deployment, ids, timeout: .seconds(120))
        try await checkServed(deployment, ids, jobs)
        XCTAssertTrue(deployment.workers[0].isRunning, "a full disk does not stop the worker")
    }
}
