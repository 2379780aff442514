import ArgumentParser
import Foundation
import MouthpieceCore
import Pipeline

/// `mouthpiece compose spec.json -o out.mp4`: several scenes, speakers, layouts and backgrounds.
struct ComposeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "compose",
        abstract: "Render a composition: scenes with one or more speakers, layouts, backgrounds and transitions.",
        discussion: """
            The spec is JSON (see docs/COMPOSITIONS.md): {"resolution", "fps", "aspect", "captions", \
            "music", "scenes": [{"speakers": [{"image" | "video", "audio" | "script", "start", \
            "channel"}], "layout", "background", "framing", "transition", "duration"}]}. Files are \
            paths relative to the spec. Every input is read and every face found before a frame is \
            rendered: a bad spec is refused with the field at fault (scenes[1].speakers[0].audio).
            """)

    @Argument(help: "The composition (JSON).")
    var spec: String

    @Option(name: [.short, .long], help: "Output MP4 path.")
    var output: String

    @Option(help: "libx264 preset (ultrafast ... veryslow).")
    var preset: String = "veryfast"

    @Flag(help: "Print a JSON summary (or error) on stdout.")
    var json = false

    @Flag(help: "No progress bar.")
    var quiet = false

    /// The JSON summary.
    struct Summary: Encodable {
        let output: String
        let duration: Double
        let frames: Int
        let fps: Int
        let width: Int
        let height: Int
        let bytes: Int
        let sceneStarts: [Double]
        let captions: Int
        let warnings: [String]

        enum CodingKeys: String, CodingKey {
            case output, duration, frames, fps, width, height, bytes, captions, warnings
            case sceneStarts = "scene_starts"
        }
    }

    func run() throws {
        try Terminal.run(json: json) {
            guard let data = FileManager.default.contents(atPath: spec) else {
                throw MouthpieceError(.inputNotFound, "The composition \(spec) cannot be read.", field: "spec")
            }
            let composition = try Composition.decode(data)
            let directory = URL(fileURLWithPath: spec).deletingLastPathComponent().path
            var job = try CompositionJob(
                composition: composition, outputPath: output, files: .local(relativeTo: directory))
            try ClipOptions.check(preset: preset)
            job.options.encoderPreset = preset
            job.provenance = try CommandLineProvenance.stamp()
            let bar = ProgressBar(enabled: !quiet && Terminal.stderrIsTerminal)
            let summary = try job.run { bar.show($0, analysing: "reading the scenes...", label: "rendering") }
            bar.finish()
            _ = try CommandLineProvenance.writeSidecar(summary.provenance, besides: summary.output)
            for warning in summary.warnings where !json { Terminal.warning(warning.rawValue, warning.message) }
            if json {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
                let body = Summary(
                    output: summary.output, duration: summary.duration, frames: summary.frames, fps: summary.fps,
                    width: summary.width, height: summary.height, bytes: summary.bytes,
                    sceneStarts: summary.sceneStarts, captions: summary.captions.count,
                    warnings: summary.warnings.map(\.rawValue))
                print(String(decoding: try encoder.encode(body), as: UTF8.self))
            } else {
                let starts = summary.sceneStarts.map { $0.formatted(2) }.joined(separator: ", ")
                print(
                    "wrote \(summary.output): \(summary.width)x\(summary.height), \(summary.fps) fps, "
                        + "\(summary.frames) frames, \(summary.duration.formatted(2)) s, \(summary.bytes / 1024) KiB; "
                        + "scenes start at \(starts) s")
                if !summary.captions.isEmpty && job.options.captionFiles {
                    let paths = Captions.paths(besides: summary.output)
                    print("captions: \(paths.srt), \(paths.vtt) (\(summary.captions.count) cues)")
                }
            }
        }
    }
}
