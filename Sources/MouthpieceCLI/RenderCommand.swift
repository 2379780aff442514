import ArgumentParser
import Foundation
import MouthpieceCore
import Pipeline

/// The output and motion options `render` and `animate` share.
struct ClipOptions: ParsableArguments {
    @Option(name: .long, help: "Portrait photo (JPEG, PNG or WebP).")
    var image: String?

    @Option(
        name: .long,
        help: ArgumentHelp(
            "Or a short video of the person speaking (MP4, MOV, WebM, MKV): a clone of any length.",
            discussion:
                "The clip's own motion plays forward and backward between moments where the head is at rest; the mouths come from the clip. The output keeps the clip's size and frame rate."
        ))
    var video: String?

    @Option(name: [.short, .long], help: "Output MP4 path.")
    var output: String

    @Option(help: "Short side of the output: 480p, 720p or 1080p.")
    var resolution: String = "720p"

    @Option(help: "Frames per second: 24, 25, 30, 48, 50 or 60.")
    var fps: Int = 30

    @Option(help: "original, 16:9, 9:16 or 1:1 (face-centred crop, or padding if a crop would cut the head).")
    var aspect: String = "original"

    @Option(help: "Seed for blinks and head motion; the same seed gives the same frames.")
    var seed: UInt64 = 0

    @Option(help: "Mouth amplitude, 0 to 2.")
    var expressiveness: Double = 1

    @Option(name: .customLong("head-motion"), help: "Head motion amplitude, 0 (perfectly still) to 2.")
    var headMotion: Double = 1

    @Option(name: .customLong("face-index"), help: "Which face to animate when there are several (0 = strongest).")
    var faceIndex: Int?

    @Option(name: .customLong("lip-lead"), help: "How far the lips lead the sound, in milliseconds (40 to 100).")
    var lipLead: Double = 60

    @Option(
        name: .customLong("contact-sheet"),
        help: "Also write a PNG grid of 12 frames from across the clip, cropped to the face.")
    var contactSheet: String?

    @Option(help: "libx264 preset (ultrafast ... veryslow).")
    var preset: String = "veryfast"

    @Option(help: "libx264 constant rate factor (lower = better, larger).")
    var crf: Int = 20

    @Flag(help: "Print a JSON summary (or error) on stdout.")
    var json = false

    @Flag(help: "No progress bar.")
    var quiet = false

    func renderOptions() throws -> RenderOptions {
        var options = try RenderOptions.parse(
            resolution: resolution, fps: fps, aspect: aspect, seed: seed, expressiveness: expressiveness,
            faceIndex: faceIndex, headMotion: headMotion, lipLeadMilliseconds: lipLead)
        try Self.check(preset: preset)
        guard (0...51).contains(crf) else {
            throw MouthpieceError(.invalidParameter, "crf must be between 0 and 51.", field: "crf")
        }
        options.encoderPreset = preset
        options.crf = crf
        options.contactSheetPath = contactSheet
        return options
    }

    /// Refuses a libx264 preset that does not exist (before any work, with its field).
    static func check(preset: String) throws {
        let presets = ["ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower", "veryslow"]
        guard presets.contains(preset) else {
            throw MouthpieceError(
                .invalidParameter, "preset must be one of \(presets.joined(separator: ", ")).", field: "preset")
        }
    }

    /// Runs the job with a progress bar and prints the summary (or the error).
    func run(_ sound: RenderJob.Sound, adjust: (inout RenderOptions) -> Void = { _ in }) throws {
        try Terminal.run(json: json) {
            var options = try renderOptions()
            adjust(&options)
            let bar = ProgressBar(enabled: !quiet && Terminal.stderrIsTerminal)
            let run: ((RenderProgress) -> Void) throws -> RenderSummary
            switch (image, video) {
            case (let image?, nil):
                var job = RenderJob(imagePath: image, sound: sound, outputPath: output, options: options)
                // One portrait per process: the landmark model is freed before the encoder starts
                // (about 80 MB less at the peak of a 1080p render).
                job.analyser = .dlibOnce
                job.provenance = try CommandLineProvenance.stamp()
                run = { [job] in try job.run(progress: $0) }
            case (nil, let video?):
                guard !options.burnCaptions else {
                    throw MouthpieceError(
                        .invalidParameter, "Captions cannot be drawn into a video clone yet.", field: "burn_captions")
                }
                var job = LipSyncJob(videoPath: video, sound: sound, outputPath: output, options: options)
                job.clone = true
                job.provenance = try CommandLineProvenance.stamp()
                run = { [job] in try job.run(progress: $0) }
            default:
                throw MouthpieceError(.invalidParameter, "Give either --image or --video.", field: "image")
            }
            let startedAfter = ProcessClock.age()
            let summary = try run {
                bar.show($0, analysing: "analysing the portrait and the voice...", label: "rendering")
            }
            bar.finish()
            let sidecar = try CommandLineProvenance.writeSidecar(summary.provenance, besides: summary.output)
            for warning in summary.warnings where !json { Terminal.warning(warning.rawValue, warning.message) }
            if json {
                Terminal.printJSON(Self.summaryObject(summary, startedAfter: startedAfter))
            } else {
                let total = summary.timings.first { $0.stage == "total" }?.seconds ?? 0
                print(
                    "wrote \(summary.output): \(summary.width)x\(summary.height), \(summary.fps) fps, "
                        + "\(summary.frames) frames, \(summary.duration.formatted(2)) s, "
                        + "\(summary.bytes / 1024) KiB in \(total.formatted(2)) s")
                if !summary.captions.isEmpty && options.captionFiles {
                    let paths = Captions.paths(besides: summary.output)
                    print("captions: \(paths.srt), \(paths.vtt) (\(summary.captions.count) cues)")
                }
                if let sidecar { print("provenance: signed; record in the file and in \(sidecar)") }
            }
        }
    }

    /// The JSON summary. `startedAfter`: the process's age when the job started, which turns the
    /// job's `first_frame` into `first_frame_since_process_start` (what a user waits for).
    static func summaryObject(_ s: RenderSummary, startedAfter: Double? = nil) -> [String: Any] {
        var timings: [String: Double] = [:]
        for (stage, seconds) in s.timings { timings[stage] = (seconds * 1000).rounded() / 1000 }
        if let startedAfter, let first = timings["first_frame"] {
            timings["first_frame_since_process_start"] = ((startedAfter + first) * 1000).rounded() / 1000
        }
        var captions: [String: Any] = [:]
        if !s.captions.isEmpty {
            let paths = Captions.paths(besides: s.output)
            captions = ["srt": paths.srt, "vtt": paths.vtt, "cues": s.captions.count]
        }
        return [
            "captions": captions.isEmpty ? NSNull() : captions,
            "voice": s.voice as Any? ?? NSNull(),
            "output": s.output,
            "duration": s.duration,
            "frames": s.frames,
            "fps": s.fps,
            "width": s.width,
            "height": s.height,
            "bytes": s.bytes,
            "framing": s.framing.rawValue,
            "warnings": s.warnings.map { ["code": $0.rawValue, "message": $0.message] },
            "timings": timings,
            "provenance": s.provenance.map { _ in CommandLineProvenance.sidecarPath(besides: s.output) } as Any?
                ?? NSNull(),
        ]
    }
}

/// `mouthpiece render`: portrait + audio -> MP4.
struct RenderCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "render",
        abstract: "Render a lip-synced MP4 from a portrait and an audio file.",
        discussion: """
            Portraits: JPEG, PNG or WebP (up to 40 megapixels, 20 MB). Audio: MP3, WAV, M4A/AAC, \
            OGG (Vorbis or Opus), FLAC or WebM, 0.5 s to 30 min. Errors print one line \
            `error[code]: message` and exit with status 2 (bad input) or 1 (internal failure).
            """)

    @Option(name: .long, help: "Speech audio (MP3, WAV, M4A, OGG, FLAC, WebM).")
    var audio: String

    @OptionGroup var clip: ClipOptions

    func run() throws { try clip.run(.audio(path: audio)) }
}

/// `mouthpiece animate`: a living portrait without speech (blinks, head motion, breathing).
struct AnimateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "animate",
        abstract: "Animate a portrait without speech: blinks, small head motion, breathing (silent audio track).")

    @Option(help: "Length of the clip in seconds.")
    var duration: Double = 8

    @OptionGroup var clip: ClipOptions

    func run() throws { try clip.run(.silence(seconds: duration)) }
}

extension ProgressBar {
    /// Shows a render's progress: a message while analysing, then a bar labelled `label`.
    func show(_ progress: RenderProgress, analysing: String, label: String) {
        switch progress.stage {
        case .analysing: message(analysing)
        case .rendering: update(label: label, done: progress.framesDone, total: progress.frameCount)
        case .finishing: update(label: label, done: progress.framesDone, total: progress.frameCount, force: true)
        }
    }
}
