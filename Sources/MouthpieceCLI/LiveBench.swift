import Foundation
import MouthpieceCore
import Pipeline
import Synchronization

/// `mouthpiece bench --live`: live sessions, one process each as `mouthpiece live` runs them, fed
/// real-time speech; one at a time, then more at once until the machine falls behind.
extension BenchCommand {
    /// What one `mouthpiece live --json` printed, and what its process cost.
    struct LiveRun: Sendable {
        var figures: LiveFigures
        var cpuSeconds: Double

        /// In real time: under 1 % of frames dropped and the stream's rate within 2 % of the target.
        func keepsUp(fps target: Int) -> Bool {
            Double(figures.droppedFrames) <= 0.01 * Double(figures.frames) && figures.fps >= 0.98 * Double(target)
        }
    }

    /// One `mouthpiece live` process: its figures and its cost.
    static func liveSession(
        _ me: String, image: String, speech: String, scratch: String, index: Int, fps: Int
    ) throws -> LiveRun {
        let out = scratch + "/live\(index).json"
        let result = try ChildProcess.run(
            me,
            [
                "live", "--image", image, "--audio", speech, "-o", scratch + "/live\(index).mp4", "--resolution",
                "720p",
                "--fps", String(fps), "--json",
            ], stdoutPath: out)
        guard result.status == 0 else {
            throw MouthpieceError(.internalError, "mouthpiece live failed (status \(result.status)).")
        }
        let figures = try JSONDecoder().decode(LiveFigures.self, from: Data(contentsOf: URL(fileURLWithPath: out)))
        return LiveRun(figures: figures, cpuSeconds: result.cpuSeconds)
    }

    func runLive() throws {
        try Terminal.run(json: json) {
            let scratch = try makeScratch()
            defer { try? FileManager.default.removeItem(atPath: scratch) }
            let speech = try audio ?? makeSpeech(in: scratch, seconds: 10)
            let me = try executablePath()
            let livePS = 25
            let image = image
            @Sendable func session(_ index: Int) throws -> LiveRun {
                try Self.liveSession(me, image: image, speech: speech, scratch: scratch, index: index, fps: livePS)
            }
            // A first session makes the face models' cache, as any first use does; untimed.
            _ = try session(0)
            var levels: [[String: Any]] = []
            var sustained = 0
            if !json {
                print("\nlive sessions at 720p25, 16 kHz audio in 20 ms chunks at real-time pace, one process each")
                print(
                    "  sessions  first fragment (median, worst)  frame time  fps    dropped  mouth lag  CPU a session")
            }
            for count in 1...max(1, liveSessions) {
                // A thread each, all at once (concurrentPerform would run only as many as there are cores).
                let runs = Mutex<[Int: Result<LiveRun, any Error>]>([:])
                let group = DispatchGroup()
                for i in 0..<count {
                    group.enter()
                    Thread.detachNewThread {
                        let outcome = Result { try session(i + 1) }
                        runs.withLock { $0[i] = outcome }
                        group.leave()
                    }
                }
                group.wait()
                let done = try runs.withLock { all in try (0..<count).map { try all[$0]!.get() } }
                let first = done.compactMap(\.figures.firstFragmentMs).sorted()
                let keepsUp = done.allSatisfy { $0.keepsUp(fps: livePS) }
                if keepsUp { sustained = count }
                let frameMs = median(done.map(\.figures.frameMs))
                let level: [String: Any] = [
                    "sessions": count, "first_fragment_ms_median": median(first),
                    "first_fragment_ms_max": first.last ?? 0,
                    "frame_ms_median": frameMs, "fps_min": done.map(\.figures.fps).min() ?? 0,
                    "dropped_frames": done.map(\.figures.droppedFrames).reduce(0, +),
                    "frames": done.map(\.figures.frames).reduce(0, +),
                    "mouth_lag_ms_median": median(done.compactMap(\.figures.mouthLagMs)),
                    "stream_delay_ms_median": median(done.map(\.figures.streamDelayMs)),
                    "cpu_s_per_session": median(done.map(\.cpuSeconds)), "real_time": keepsUp,
                    // The frame's render and encode against its period: the reference a live frame must beat.
                    "frame_time_of_period": frameMs / (1000 / Double(livePS)),
                ]
                levels.append(level)
                if !json {
                    func column(_ text: String, _ width: Int) -> String {
                        text.padding(toLength: width, withPad: " ", startingAt: 0)
                    }
                    let firstText = "\(median(first).formatted(0)) ms, \((first.last ?? 0).formatted(0)) ms"
                    let dropped = done.map(\.figures.droppedFrames).reduce(0, +)
                    let lag = median(done.compactMap(\.figures.mouthLagMs))
                    var line = "  " + column(String(count), 8) + "  " + column(firstText, 31)
                    line +=
                        "  " + column("\(frameMs.formatted(1)) ms", 10)
                        + column((done.map(\.figures.fps).min() ?? 0).formatted(2), 7)
                    line += column(String(dropped), 9) + column("\(lag.formatted(0)) ms", 11)
                    line += "\(median(done.map(\.cpuSeconds)).formatted(2)) s" + (keepsUp ? "" : "   (behind)")
                    print(line)
                }
                if !keepsUp { break }
            }
            if json {
                Terminal.printJSON(["live": levels, "sessions_in_real_time": sustained, "fps": livePS])
            } else {
                print("  sessions kept in real time at once: \(sustained)")
            }
        }
    }
}
