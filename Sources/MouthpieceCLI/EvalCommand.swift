import ArgumentParser
import Foundation
import MouthpieceCore
import Pipeline

/// `mouthpiece eval`: lip-sync figures measured from a clip's own pixels and sound.
struct EvalCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval",
        abstract: "Re-detect the face on every frame of an MP4: mouth against audio, blinks, head motion.")

    @Argument(help: "MP4 files to measure.")
    var videos: [String] = []

    @Option(
        name: .customLong("suite"),
        help: ArgumentHelp(
            "Render every given portrait saying English, Spanish and German scripts (espeak-ng) into DIR and "
                + "measure each clip, with closures on the scripts' /p b m/.", valueName: "DIR"))
    var suite: String?

    @Option(name: .customLong("image"), help: "Portrait for --suite (repeat for several).")
    var images: [String] = []

    @Option(
        help: ArgumentHelp(
            "The footage the MP4s were made from (lipsync, or render --video with --clone): also compare with it.",
            valueName: "VIDEO"))
    var source: String?

    @Option(name: .customLong("sync-mode"), help: "With --source: the sync mode the lip-sync used.")
    var syncMode = "bounce"

    @Flag(help: "With --source: the MP4s are clones (render --video).")
    var clone = false

    @Flag(help: "Print JSON on stdout.")
    var json = false

    func run() throws {
        if let suite { return try runSuite(directory: suite) }
        try Terminal.run(json: json) {
            guard !videos.isEmpty else {
                throw MouthpieceError(.invalidParameter, "Give MP4 files to measure, or --suite DIR.", field: "videos")
            }
            var rows: [[String: Any]] = []
            let mode = try SyncMode.parse(syncMode, field: "sync-mode")
            for path in videos {
                let e = try ClipEvaluation.evaluate(video: path)
                let c = try source.map {
                    try FootageComparison.compare(output: path, source: $0, syncMode: mode, clone: clone)
                }
                if json {
                    var comparison: Any = NSNull()
                    if let c {
                        comparison =
                            [
                                "frames_with_source_face": c.framesWithSourceFace, "face_kept": c.faceKept,
                                "upper_face_psnr_lowest": c.upperFacePSNR.lowest,
                                "upper_face_psnr_median": c.upperFacePSNR.median,
                                "largest_step": c.largestStep.output, "source_largest_step": c.largestStep.source,
                                "step_ratio": c.stepRatio,
                            ] as [String: Any]
                    }
                    rows.append([
                        "source_comparison": comparison,
                        "video": path, "frames": e.frames, "faces_lost": e.facesLost,
                        "correlation_lag0": e.correlationAtZero, "best_lag": e.bestLag,
                        "opening_silence": e.openingInSilence, "opening_speech": e.openingInSpeech,
                        "blinks_per_minute": e.blinksPerMinute, "nose_motion": e.noseMotion,
                        "brow_motion": e.browMotion,
                        "correlation_by_lag": Dictionary(
                            uniqueKeysWithValues: e.correlationByLag.map { (String($0.lag), $0.r) }),
                    ])
                } else {
                    print(
                        "\(path): \(e.frames) frames, face lost in \(e.facesLost); "
                            + "r(lag 0) = \(e.correlationAtZero.formatted(3)), best lag \(e.bestLag); "
                            + "opening silence \(e.openingInSilence.formatted(3)) vs speech "
                            + "\(e.openingInSpeech.formatted(3)); \(e.blinksPerMinute.formatted(1)) blinks/min; "
                            + "nose motion \(e.noseMotion.formatted(4)) iod; "
                            + "head motion (brows) \(e.browMotion.formatted(4)) of the eye-corner distance")
                    if let c {
                        print(
                            "  against the source: face kept in \(c.faceKept)/\(c.framesWithSourceFace) frames that had one; "
                                + "upper face PSNR lowest \(c.upperFacePSNR.lowest.formatted(1)) dB, median "
                                + "\(c.upperFacePSNR.median.formatted(1)) dB; largest frame-to-frame change "
                                + "\(c.largestStep.output.formatted(2)) vs the source's \(c.largestStep.source.formatted(2)) "
                                + "(\(c.stepRatio.formatted(2))x)")
                    }
                }
            }
            if json { Terminal.printJSON(rows) }
        }
    }

    func runSuite(directory: String) throws {
        try Terminal.run(json: json) {
            guard !images.isEmpty else {
                throw MouthpieceError(.invalidParameter, "--suite needs at least one --image.", field: "image")
            }
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            if !json {
                print(
                    "| portrait | language | path | r(lag 0) | best lag | opening silence / speech | /p b m/ closed | faces lost | paths agree (r) | head motion |"
                )
                print("|---|---|---|---|---|---|---|---|---|---|")
            }
            var rows: [[String: Any]] = []
            _ = try LipSyncSuite(portraits: images, directory: directory).run { row in
                let e = row.evaluation
                let b = row.bilabials
                if json {
                    rows.append([
                        "portrait": row.portrait, "language": row.language, "path": row.path.rawValue,
                        "paths_agreement": row.agreement, "correlation_lag0": e.correlationAtZero,
                        "best_lag": e.bestLag, "opening_silence": e.openingInSilence,
                        "opening_speech": e.openingInSpeech, "bilabials_closed": b.closed, "bilabials": b.total,
                        "bilabial_median_share": b.medianShare, "faces_lost": e.facesLost,
                        "brow_motion": e.browMotion,
                    ])
                } else {
                    print(
                        "| \(row.portrait) | \(row.language) | \(row.path.rawValue) | \(e.correlationAtZero.formatted(3)) | \(e.bestLag) | "
                            + "\(e.openingInSilence.formatted(3)) / \(e.openingInSpeech.formatted(3)) "
                            + "(\((e.openingInSilence / e.openingInSpeech).formatted(2))) | \(b.closed)/\(b.total) "
                            + "(median \(b.medianShare.formatted(2))) | \(e.facesLost)/\(e.frames) | \(row.agreement.formatted(2)) | "
                            + "\(e.browMotion.formatted(3)) |"
                    )
                }
            }
            if json { Terminal.printJSON(rows) }
        }
    }
}
