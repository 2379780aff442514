import ArgumentParser
import Foundation
import Media
import MouthpieceCore
import Pipeline

/// `mouthpiece bench`: Mouthpiece against a plain ffmpeg encode of the same still, side by side.
struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Time a render against an ffmpeg encode of the still portrait, alternating runs.",
        discussion: """
            Each run is a fresh process, as a user would start it. The reference is \
            ffmpeg encoding the framed still (decoded and converted once, then looped) with the speech, \
            at the same size, frame rate, libx264 preset and crf, with AAC audio. Prints medians, their ratio, per-stage times and peak memory; \
            --memory adds 30 s and 180 s clips to check that memory stays flat.
            """)

    @Option(help: "Portrait.")
    var image = "samples/astronaut.png"

    @Option(help: "Speech; by default 10 s spoken by espeak-ng.")
    var audio: String?

    @Option(help: "Alternating runs of each.")
    var runs = 5

    @Option var resolution = "1080p"
    @Option var fps = 48
    @Option var aspect = "16:9"
    @Option var preset = "ultrafast"
    @Option var crf = 20

    @Option(help: "The ffmpeg command-line tool for the reference encode.")
    var ffmpeg = "/usr/bin/ffmpeg"

    @Flag(help: "Also render 30 s and 180 s clips and compare their peak memory.")
    var memory = false

    @Option(help: "The preset of the --memory renders (the product's default).")
    var memoryPreset = "veryfast"

    @Option(
        help: ArgumentHelp(
            "Bench lip-sync of a video instead: the clip is first made 10 s of 1920x1080 at 30 fps (looped, scaled, padded).",
            discussion: "The reference is ffmpeg re-encoding the same clip with the speech, same preset and crf."))
    var video: String?

    @Flag(
        help: ArgumentHelp(
            "Bench live sessions instead: first-fragment latency, mouth lag, frame rate, and how many 720p25 sessions run at once in real time.",
            discussion: "Each session is a `mouthpiece live` process fed --audio at real-time pace."))
    var live = false

    @Option(name: .customLong("live-sessions"), help: "With --live: try up to this many sessions at once.")
    var liveSessions = 6

    @Flag(
        help: ArgumentHelp(
            "Bench compositions instead: 2 scenes and --compose-scenes scenes against one render, time per output second and peak memory."
        ))
    var compose = false

    @Option(name: .customLong("compose-scenes"), help: "With --compose: the larger composition's scene count.")
    var composeScenes = 20

    @Flag(
        help: ArgumentHelp(
            "Bench the voices instead: each installed voice's real-time factor (synthesis time / speech length) on these cores, against espeak-ng's."
        ))
    var voices = false

    @Flag(help: "Print the figures as JSON.")
    var json = false

    func validate() throws {
        guard runs >= 1 else { throw ValidationError("--runs must be at least 1.") }
    }

    func run() throws {
        if live { return try runLive() }
        if compose { return try runCompose() }
        if voices { return try runVoices() }
        if video != nil { return try runVideo() }
        try Terminal.run(json: json) {
            let options = try RenderOptions.parse(
                resolution: resolution, fps: fps, aspect: aspect, seed: nil, expressiveness: nil, faceIndex: nil)
            let scratch = try makeScratch()
            defer { try? FileManager.default.removeItem(atPath: scratch) }
            let speech = try audio ?? makeSpeech(in: scratch, seconds: 10)
            let still = scratch + "/still.png"
            let job = RenderJob(imagePath: image, audioPath: speech, outputPath: scratch + "/out.mp4", options: options)
            let frame = try job.stillFrame()
            try AtomicFile.write(try ImageEncoder.png(frame), to: still)
            let me = try executablePath()

            // One untimed render first: it makes the face models' cache (as any first use does)
            // and gives our own frames, decoded once to raw YUV for the encode-only floor.
            let warmUp = try ChildProcess.run(me, renderArguments(speech, scratch + "/warm.mp4"))
            guard warmUp.status == 0 else { throw MouthpieceError(.internalError, "The first render failed.") }
            let raw = scratch + "/frames.yuv"
            try runTool(
                ffmpeg,
                ["-v", "error", "-y", "-i", scratch + "/warm.mp4", "-f", "rawvideo", "-pix_fmt", "yuv420p", raw])
            let encodeOnly = [
                "-v", "error", "-y", "-f", "rawvideo", "-pix_fmt", "yuv420p", "-s", "\(frame.width)x\(frame.height)",
                "-framerate", String(fps), "-i", raw, "-i", speech, "-map", "0:v", "-map", "1:a", "-c:v", "libx264",
                "-preset", preset, "-crf", String(crf), "-c:a", "aac", "-shortest", "-movflags", "+faststart",
                scratch + "/encoded.mp4",
            ]
            let (runsByName, stages) = try alternate(
                [
                    ("ffmpeg, framed still", ffmpeg, referenceArguments(still, speech, scratch + "/ref.mp4")),
                    ("ffmpeg, our frames", ffmpeg, encodeOnly),
                    ("mouthpiece render", me, renderArguments(speech, scratch + "/out.mp4")),
                ], scratch: scratch)
            try? FileManager.default.removeItem(atPath: raw)
            let info = try MediaProbe.probe(path: scratch + "/out.mp4")
            let floor = runsByName[0].figures, encoded = runsByName[1].figures, ours = runsByName[2].figures
            var figures: [String: Any] = [
                "size": "\(frame.width)x\(frame.height)", "fps": fps, "preset": preset, "crf": crf,
                "clip_seconds": info.duration, "runs": runs,
                "ffmpeg_median_s": floor.wall, "ffmpeg_cpu_median_s": floor.cpu,
                "encode_only_median_s": encoded.wall, "encode_only_cpu_median_s": encoded.cpu,
                "mouthpiece_median_s": ours.wall, "mouthpiece_cpu_median_s": ours.cpu,
                "ratio": ours.wall / floor.wall, "cpu_ratio": ours.cpu / floor.cpu,
                "encode_only_ratio": ours.wall / encoded.wall, "encode_only_cpu_ratio": ours.cpu / encoded.cpu,
                "ffmpeg_peak_mib": floor.peak, "encode_only_peak_mib": encoded.peak, "mouthpiece_peak_mib": ours.peak,
                "stages_median_s": stages.mapValues { median($0) },
            ]
            if !json {
                print(
                    "\n\(frame.width)x\(frame.height) \(fps) fps, \(info.duration.formatted(2)) s clip, "
                        + "libx264 \(preset) crf \(crf), \(runs) alternating runs, medians")
                print("                          wall      CPU       peak")
                for (name, command) in runsByName {
                    print(
                        "  \(name.padding(toLength: 22, withPad: " ", startingAt: 0))  "
                            + "\(command.wall.formatted(2)) s    \(command.cpu.formatted(2)) s    "
                            + "\(command.peak.formatted(0)) MiB")
                }
                print(
                    "  against the framed still:     wall \((ours.wall / floor.wall).formatted(3)), "
                        + "CPU \((ours.cpu / floor.cpu).formatted(3))")
                print(
                    "  against our frames' encode:   wall \((ours.wall / encoded.wall).formatted(3)), "
                        + "CPU \((ours.cpu / encoded.cpu).formatted(3))")
                let order = [
                    "decode_image", "face_analysis", "voice_analysis", "prepare", "first_frame",
                    "first_frame_since_process_start", "render", "encode", "total",
                ]
                for stage in order where stages[stage] != nil {
                    print(
                        "    \(stage.padding(toLength: 32, withPad: " ", startingAt: 0)) \(median(stages[stage]!).formatted(3)) s"
                    )
                }
            }
            if memory {
                var peaks: [String: Double] = [:]
                for seconds in [30, 180] {
                    let long = scratch + "/long\(seconds).wav"
                    try runTool(
                        ffmpeg, ["-v", "error", "-y", "-stream_loop", "-1", "-i", speech, "-t", String(seconds), long])
                    let render = try ChildProcess.run(
                        me, renderArguments(long, scratch + "/long.mp4", preset: memoryPreset))
                    guard render.status == 0 else {
                        throw MouthpieceError(.internalError, "mouthpiece render of \(seconds) s failed.")
                    }
                    peaks["\(seconds)s"] = render.peakMiB
                    if !json {
                        print(
                            "  \(seconds) s clip (\(memoryPreset)): \(render.seconds.formatted(1)) s wall, "
                                + "peak \(render.peakMiB.formatted(1)) MiB")
                    }
                }
                let growth = peaks["180s"]! / peaks["30s"]! - 1
                figures["memory_preset"] = memoryPreset
                figures["peak_mib_by_length"] = peaks
                figures["peak_growth_30_to_180"] = growth
                if !json { print("  peak memory growth 30 s -> 180 s: \((growth * 100).formatted(1)) %") }
            }
            if json { Terminal.printJSON(figures) }
        }
    }

    /// `--video`: `mouthpiece lipsync` against ffmpeg re-encoding the same clip with the speech.
    func runVideo() throws {
        try Terminal.run(json: json) {
            let scratch = try makeScratch()
            defer { try? FileManager.default.removeItem(atPath: scratch) }
            let speech = try audio ?? makeSpeech(in: scratch, seconds: 10)
            let clip = scratch + "/clip.mp4"
            try runTool(
                ffmpeg,
                [
                    "-v", "error", "-y", "-stream_loop", "-1", "-i", video!, "-t", "10", "-an", "-vf",
                    "scale=-2:1080:flags=lanczos,pad=1920:1080:(ow-iw)/2:0,fps=30,format=yuv420p", "-c:v", "libx264",
                    "-preset", "veryfast", "-crf", "18", clip,
                ])
            let me = try executablePath()
            let (runsByName, stages) = try alternate(
                [
                    (
                        "ffmpeg re-encode", ffmpeg,
                        [
                            "-v", "error", "-y", "-i", clip, "-i", speech, "-map", "0:v", "-map", "1:a", "-c:v",
                            "libx264", "-preset", preset, "-crf", String(crf), "-c:a", "aac", "-shortest",
                            "-movflags", "+faststart", scratch + "/ref.mp4",
                        ]
                    ),
                    (
                        "mouthpiece lipsync", me,
                        [
                            "lipsync", "--video", clip, "--audio", speech, "-o", scratch + "/out.mp4", "--sync-mode",
                            "cut", "--preset", preset, "--crf", String(crf), "--json", "--quiet",
                        ]
                    ),
                ], scratch: scratch)
            let theirs = runsByName[0].figures, ours = runsByName[1].figures
            let info = try MediaProbe.probe(path: scratch + "/out.mp4")
            let ratio = ours.wall / theirs.wall
            let cpuRatio = ours.cpu / theirs.cpu
            if json {
                Terminal.printJSON([
                    "size": "1920x1080", "fps": 30, "preset": preset, "crf": crf, "clip_seconds": info.duration,
                    "runs": runs, "ffmpeg_median_s": theirs.wall, "mouthpiece_median_s": ours.wall,
                    "ratio": ratio, "cpu_ratio": cpuRatio, "ffmpeg_peak_mib": theirs.peak,
                    "mouthpiece_peak_mib": ours.peak,
                    "stages_median_s": stages.mapValues { median($0) },
                ])
                return
            }
            print(
                "\n1920x1080 30 fps, \(info.duration.formatted(2)) s re-lip-synced, libx264 \(preset) crf \(crf), "
                    + "\(runs) alternating runs")
            print("  ffmpeg re-encode     median \(theirs.wall.formatted(2)) s, peak \(theirs.peak.formatted(0)) MiB")
            print("  mouthpiece lipsync   median \(ours.wall.formatted(2)) s, peak \(ours.peak.formatted(0)) MiB")
            print("  ratio                wall \(ratio.formatted(3)), CPU \(cpuRatio.formatted(3))")
            for stage in ["face_tracking", "voice_analysis", "mouth_selection", "render", "encode", "total"]
            where stages[stage] != nil {
                print(
                    "    \(stage.padding(toLength: 15, withPad: " ", startingAt: 0)) \(median(stages[stage]!).formatted(3)) s"
                )
            }
        }
    }

    /// One command's runs in figures: medians of wall and CPU time, the highest peak memory.
    struct RunFigures {
        let wall: Double
        let cpu: Double
        let peak: Double
    }

    /// Runs each command in turn, `runs` rounds: each command's figures, and our per-stage times
    /// (from `--json`, for the commands that are this binary).
    func alternate(_ commands: [(name: String, path: String, arguments: [String])], scratch: String) throws -> (
        [(name: String, figures: RunFigures)], stages: [String: [Double]]
    ) {
        let me = try executablePath()
        var results = [[ChildProcess.Result]](repeating: [], count: commands.count)
        var stages: [String: [Double]] = [:]
        for run in 0..<runs {
            var line: [String] = []
            for (i, command) in commands.enumerated() {
                let ours = command.path == me
                let result = try ChildProcess.run(
                    command.path, command.arguments, stdoutPath: ours ? scratch + "/summary.json" : nil)
                guard result.status == 0 else {
                    throw MouthpieceError(.internalError, "\(command.name) failed (exit \(result.status)).")
                }
                results[i].append(result)
                if ours {
                    for (stage, seconds) in try timings(scratch + "/summary.json") {
                        stages[stage, default: []].append(seconds)
                    }
                }
                line.append("\(command.name) \(result.seconds.formatted(2)) s")
            }
            if !json { print("run \(run + 1)/\(runs): " + line.joined(separator: ", ")) }
        }
        let figures = results.map {
            RunFigures(
                wall: median($0.map(\.seconds)), cpu: median($0.map(\.cpuSeconds)), peak: $0.map(\.peakMiB).max() ?? 0)
        }
        return (zip(commands.map(\.name), figures).map { ($0, $1) }, stages)
    }

    func referenceArguments(_ still: String, _ speech: String, _ output: String) -> [String] {
        // The still is decoded and converted to YUV once, then repeated: the floor for any encoder
        // of this size, rate and preset.
        [
            "-v", "error", "-y", "-framerate", String(fps), "-i", still, "-i", speech, "-filter_complex",
            "[0:v]format=yuv420p,loop=loop=-1:size=1:start=0[v]", "-map", "[v]", "-map", "1:a",
            "-c:v", "libx264", "-preset", preset, "-crf", String(crf), "-c:a", "aac", "-shortest",
            "-movflags", "+faststart", output,
        ]
    }

    func renderArguments(_ speech: String, _ output: String, preset: String? = nil) -> [String] {
        [
            "render", "--image", image, "--audio", speech, "-o", output, "--resolution", resolution, "--fps",
            String(fps), "--aspect", aspect, "--preset", preset ?? self.preset, "--crf", String(crf), "--json",
            "--quiet",
        ]
    }

    /// A folder of this process's own for the bench's files (the caller removes it).
    func makeScratch() throws -> String {
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent(
            "mouthpiece-bench-\(ProcessInfo.processInfo.processIdentifier)"
        ).path
        try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
        return scratch
    }

    func makeSpeech(in directory: String, seconds: Int) throws -> String {
        let raw = directory + "/speech-raw.wav"
        let text = """
            The quick brown fox jumps over the lazy dog. Peter Piper picked a peck of pickled peppers. \
            She sells sea shells by the sea shore, and the shells she sells are surely sea shells.
            """
        try runTool("/usr/bin/espeak-ng", ["-v", "en-us", "-s", "150", "-w", raw, text])
        let exact = directory + "/speech.wav"
        try runTool(ffmpeg, ["-v", "error", "-y", "-i", raw, "-af", "apad", "-t", String(seconds), exact])
        return exact
    }

    func runTool(_ path: String, _ arguments: [String]) throws {
        guard try ChildProcess.run(path, arguments).status == 0 else {
            throw MouthpieceError(.internalError, "\(path) failed.")
        }
    }

    func timings(_ summaryPath: String) throws -> [String: Double] {
        let data = try Data(contentsOf: URL(fileURLWithPath: summaryPath))
        let object = try JSONSerialization.jsonObject(with: data) as? [String: Any]
        return object?["timings"] as? [String: Double] ?? [:]
    }

    func executablePath() throws -> String {
        let path = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")
        return path
    }

    func median(_ values: [Double]) -> Double {
        let sorted = values.sorted()
        guard !sorted.isEmpty else { return .nan }
        return sorted.count % 2 == 1
            ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
    }
}
