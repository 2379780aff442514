import ArgumentParser
import Foundation
import MouthpieceCore
import Pipeline
import Speech

/// `mouthpiece lipsync`: a video of a person + new audio (or a script) -> the same video saying it.
struct LipSyncCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lipsync",
        abstract: "Re-lip-sync a video of a person to new audio or a script.",
        discussion: """
            Video: MP4, MOV, WebM or MKV (H.264, HEVC, VP8/9, AV1), any frame rate, up to 10 min and \
            3840x2160. The output keeps the video's frames, size and frame rate; only the lower face \
            changes, with mouths taken from the video itself. Frames without a usable face are kept \
            as they are. The original audio is replaced.
            """)

    @Option(help: "Video of the person (MP4, MOV, WebM, MKV).")
    var video: String

    @Option(help: "New speech audio (MP3, WAV, M4A, OGG, FLAC, WebM).")
    var audio: String?

    @Option(help: "Or a script to speak (espeak-ng).")
    var text: String?

    @Option(help: "espeak-ng language for --text (see `mouthpiece voices`).")
    var language: String = Script.defaultLanguage

    @Option(help: "Voice variant for --text.")
    var voice: String?

    @Option(name: [.short, .long], help: "Output MP4 path.")
    var output: String

    @Option(
        name: .customLong("sync-mode"),
        help:
            "When lengths differ: cut (the shorter wins), loop, bounce (forward then backward) or silence (pad the audio)."
    )
    var syncMode: String = "bounce"

    @Option(name: .customLong("face-index"), help: "Which face to follow when there are several (0 = strongest).")
    var faceIndex: Int?

    @Option(help: "Mouth amplitude, 0 to 2.")
    var expressiveness: Double = 1

    @Option(name: .customLong("lip-lead"), help: "How far the lips lead the sound, in milliseconds (40 to 100).")
    var lipLead: Double = 60

    @Option(help: "libx264 preset (ultrafast ... veryslow).")
    var preset: String = "veryfast"

    @Option(help: "libx264 constant rate factor (lower = better, larger).")
    var crf: Int = 20

    @Flag(help: "Print a JSON summary (or error) on stdout.")
    var json = false

    @Flag(help: "No progress bar.")
    var quiet = false

    func run() throws {
        try Terminal.run(json: json) {
            let mode = try SyncMode.parse(syncMode, field: "sync-mode")
            let sound: RenderJob.Sound
            switch (audio, text) {
            case (let audio?, nil): sound = .audio(path: audio)
            case (nil, let text?):
                let script = Script(text: text, language: language, voice: voice)
                try script.validate()
                sound = .script(script)
            default:
                throw MouthpieceError(.invalidParameter, "Give either --audio or --text.", field: "audio")
            }
            var options = try RenderOptions.parse(
                resolution: nil, fps: nil, aspect: nil, seed: nil, expressiveness: expressiveness, faceIndex: faceIndex,
                lipLeadMilliseconds: lipLead)
            guard (0...51).contains(crf) else {
                throw MouthpieceError(.invalidParameter, "crf must be between 0 and 51.", field: "crf")
            }
            options.encoderPreset = preset
            options.crf = crf
            var job = LipSyncJob(videoPath: video, sound: sound, outputPath: output, syncMode: mode, options: options)
            job.provenance = try CommandLineProvenance.stamp()
            let bar = ProgressBar(enabled: !quiet && Terminal.stderrIsTerminal)
            let summary = try job.run {
                bar.show($0, analysing: "following the face and measuring the voice...", label: "lip-syncing")
            }
            bar.finish()
            try CommandLineProvenance.writeSidecar(summary.provenance, besides: summary.output)
            if json {
                Terminal.printJSON(ClipOptions.summaryObject(summary))
            } else {
                let total = summary.timings.first { $0.stage == "total" }?.seconds ?? 0
                print(
                    "wrote \(summary.output): \(summary.width)x\(summary.height), \(summary.frames) frames, "
                        + "\(summary.duration.formatted(2)) s, \(summary.bytes / 1024) KiB in \(total.formatted(2)) s")
            }
        }
    }
}
