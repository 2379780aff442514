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
    var runs = 3

    @Option var resolution = "1080p"
    @Option var fps = 48
    @Option var aspect = "16:9"
    @Option var preset = "ultrafast"
    @Option var crf = 20

    @Option(help: "The ffmpeg command-line tool for the reference encode.")
    var ffmpeg = "/usr/bin/ffmpeg"

    @Flag(help: "Also render 30 s and 180 s clips and compare their peak memory.")
    var memory = false

    @Option(
        help: ArgumentHelp(
            "Bench lip-sync of a video instead: the clip is first made 10 s of 1920x1080 at 30 fps (looped, scaled, padded).",
            discussion: "The reference is ffmpeg re-encoding the same clip with the speech, same preset and crf."))
    var video: String?

    @Flag(help: "Print the figures as JSON.")
    var json = false

    func run() throws {
        if video != nil { return try runVideo() }
        try Terminal.run(json: json) {
            let options = try RenderOptions.parse(
                resolution: resolution, fps: fps, aspect: aspect, seed: nil, expressiveness: nil, faceIndex: nil)
            let scratch = FileManager.default.temporaryDirectory.appendingPathComponent(
                "mouthpiece-bench-\(ProcessInfo.processInfo.processIdentifier)"
            ).path
            try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(atPath: scratch) }
            let speech = try audio ?? makeSpeech(in: scratch, seconds: 10)
            let still = scratch + "/still.png"
            let job = RenderJob(imagePath: image, audioPath: speech, outputPath: scratch + "/out.mp4", options: options)
            let frame = try job.stillFrame()
            try AtomicFile.write(try ImageEncoder.png(frame), to: still)
            let me = try executablePath()

            let (ours, theirs, ourPeak, theirPeak, stages) = try alternate(
                reference: referenceArguments(still, speech, scratch + "/ref.mp4"),
                ours: renderArguments(speech, scratch + "/out.mp4"), scratch: scratch, names: ("ffmpeg", "mouthpiece"))
            let info = try MediaProbe.probe(path: scratch + "/out.mp4")
            let ratio = median(ours) / median(theirs)
            var figures: [String: Any] = [
                "size": "\(frame.width)x\(frame.height)", "fps": fps, "preset": preset, "crf": crf,
                "clip_seconds": info.duration, "runs": runs,
                "ffmpeg_median_s": median(theirs), "mouthpiece_median_s": median(ours), "ratio": ratio,
                "ffmpeg_peak_mib": theirPeak, "mouthpiece_peak_mib": ourPeak,
                "stages_median_s": stages.mapValues { median($0) },
            ]
            if !json {
                print(
                    "\n\(frame.width)x\(frame.height) \(fps) fps, \(info.duration.formatted(2)) s clip, "
                        + "libx264 \(preset) crf \(crf), \(runs) alternating runs")
                print(
                    "  ffmpeg still encode  median \(median(theirs).formatted(2)) s, peak \(theirPeak.formatted(0)) MiB"
                )
                print("  mouthpiece render    median \(median(ours).formatted(2)) s, peak \(ourPeak.formatted(0)) MiB")
                print("  ratio                \(ratio.formatted(3))")
                let order = [
                    "decode_image", "face_analysis", "decode_audio", "voice_analysis", "render", "encode", "total",
                ]
                for stage in order where stages[stage] != nil {
                    print(
                        "    \(stage.padding(toLength: 15, withPad: " ", startingAt: 0)) \(median(stages[stage]!).formatted(3)) s"
                    )
                }
            }
            if memory {
                var peaks: [String: Double] = [:]
                for seconds in [30, 180] {
                    let long = scratch + "/long\(seconds).wav"
                    try runTool(
                        ffmpeg, ["-v", "error", "-y", "-stream_loop", "-1", "-i", speech, "-t", String(seconds), long])
                    let render = try ChildProcess.run(me, renderArguments(long, scratch + "/long.mp4"))
                    guard render.status == 0 else {
                        throw MouthpieceError(.internalError, "mouthpiece render of \(seconds) s failed.")
                    }
                    peaks["\(seconds)s"] = render.peakMiB
                    if !json {
                        print(
                            "  \(seconds) s clip: \(render.seconds.formatted(1)) s wall, "
                                + "peak \(render.peakMiB.formatted(1)) MiB")
                    }
                }
                let growth = peaks["180s"]! / peaks["30s"]! - 1
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
            let scratch = FileManager.default.temporaryDirectory.appendingPathComponent(
                "mouthpiece-bench-\(ProcessInfo.processInfo.processIdentifier)"
            ).path
            try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
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
            let (ours, theirs, ourPeak, theirPeak, stages) = try alternate(
                reference: [
                    "-v", "error", "-y", "-i", clip, "-i", speech, "-map", "0:v", "-map", "1:a", "-c:v", "libx264",
                    "-preset", preset, "-crf", String(crf), "-c:a", "aac", "-shortest", "-movflags", "+faststart",
                    scratch + "/ref.mp4",
                ],
                ours: [
                    "lipsync", "--video", clip, "--audio", speech, "-o", scratch + "/out.mp4", "--sync-mode", "cut",
                    "--preset", preset, "--crf", String(crf), "--json", "--quiet",
                ], scratch: scratch, names: ("ffmpeg re-encode", "mouthpiece lipsync"))
            let info = try MediaProbe.probe(path: scratch + "/out.mp4")
            let ratio = median(ours) / median(theirs)
            if json {
                Terminal.printJSON([
                    "size": "1920x1080", "fps": 30, "preset": preset, "crf": crf, "clip_seconds": info.duration,
                    "runs": runs, "ffmpeg_median_s": median(theirs), "mouthpiece_median_s": median(ours),
                    "ratio": ratio, "ffmpeg_peak_mib": theirPeak, "mouthpiece_peak_mib": ourPeak,
                    "stages_median_s": stages.mapValues { median($0) },
                ])
                return
            }
            print(
                "\n1920x1080 30 fps, \(info.duration.formatted(2)) s re-lip-synced, libx264 \(preset) crf \(crf), "
                    + "\(runs) alternating runs")
            print("  ffmpeg re-encode     median \(median(theirs).formatted(2)) s, peak \(theirPeak.formatted(0)) MiB")
            print("  mouthpiece lipsync   median \(median(ours).formatted(2)) s, peak \(ourPeak.formatted(0)) MiB")
            print("  ratio                \(ratio.formatted(3))")
            for stage in ["face_tracking", "voice_analysis", "mouth_selection", "render", "encode", "total"]
            where stages[stage] != nil {
                print(
                    "    \(stage.padding(toLength: 15, withPad: " ", startingAt: 0)) \(median(stages[stage]!).formatted(3)) s"
                )
            }
        }
    }

    /// Runs ffmpeg with `reference` and this binary with `ours`, alternately, `runs` times: wall
    /// times, peak memory, and our per-stage times (from `--json`).
    func alternate(reference: [String], ours: [String], scratch: String, names: (String, String)) throws -> (
        ours: [Double], theirs: [Double], ourPeak: Double, theirPeak: Double, stages: [String: [Double]]
    ) {
        let me = try executablePath()
        var (mine, theirs, myPeak, theirPeak) = ([Double](), [Double](), 0.0, 0.0)
        var stages: [String: [Double]] = [:]
        for run in 0..<runs {
            let referenceRun = try ChildProcess.run(ffmpeg, reference)
            guard referenceRun.status == 0 else {
                throw MouthpieceError(.internalError, "The reference ffmpeg run failed.")
            }
            let ourRun = try ChildProcess.run(me, ours, stdoutPath: scratch + "/summary.json")
            guard ourRun.status == 0 else {
                throw MouthpieceError(.internalError, "\(names.1) failed (exit \(ourRun.status)).")
            }
            theirs.append(referenceRun.seconds)
            mine.append(ourRun.seconds)
            theirPeak = max(theirPeak, referenceRun.peakMiB)
            myPeak = max(myPeak, ourRun.peakMiB)
            for (stage, seconds) in try timings(scratch + "/summary.json") {
                stages[stage, default: []].append(seconds)
            }
            if !json {
                print(
                    "run \(run + 1)/\(runs): \(names.0) \(referenceRun.seconds.formatted(2)) s, "
                        + "\(names.1) \(ourRun.seconds.formatted(2)) s")
            }
        }
        return (mine, theirs, myPeak, theirPeak, stages)
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

    func renderArguments(_ speech: String, _ output: String) -> [String] {
        [
            "render", "--image", image, "--audio", speech, "-o", output, "--resolution", resolution, "--fps",
            String(fps), "--aspect", aspect, "--preset", preset, "--crf", String(crf), "--json", "--quiet",
        ]
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
