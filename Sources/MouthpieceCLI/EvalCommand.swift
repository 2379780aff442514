import ArgumentParser
import MouthpieceCore
import Pipeline

/// `mouthpiece eval`: lip-sync figures measured from a clip's own pixels and sound.
struct EvalCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval",
        abstract: "Re-detect the face on every frame of an MP4: mouth against audio, blinks, head motion.")

    @Argument(help: "MP4 files to measure.")
    var videos: [String]

    @Flag(help: "Print JSON on stdout.")
    var json = false

    func run() throws {
        try Terminal.run(json: json) {
            var rows: [[String: Any]] = []
            for path in videos {
                let e = try ClipEvaluation.evaluate(video: path)
                if json {
                    rows.append([
                        "video": path, "frames": e.frames, "faces_lost": e.facesLost,
                        "correlation_lag0": e.correlationAtZero, "best_lag": e.bestLag,
                        "opening_silence": e.openingInSilence, "opening_speech": e.openingInSpeech,
                        "blinks_per_minute": e.blinksPerMinute, "nose_motion": e.noseMotion,
                        "correlation_by_lag": Dictionary(
                            uniqueKeysWithValues: e.correlationByLag.map { (String($0.lag), $0.r) }),
                    ])
                } else {
                    print(
                        "\(path): \(e.frames) frames, face lost in \(e.facesLost); "
                            + "r(lag 0) = \(e.correlationAtZero.formatted(3)), best lag \(e.bestLag); "
                            + "opening silence \(e.openingInSilence.formatted(3)) vs speech "
                            + "\(e.openingInSpeech.formatted(3)); \(e.blinksPerMinute.formatted(1)) blinks/min; "
                            + "nose motion \(e.noseMotion.formatted(4)) iod")
                }
            }
            if json { Terminal.printJSON(rows) }
        }
    }
}
