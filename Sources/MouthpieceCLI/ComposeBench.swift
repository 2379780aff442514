import Foundation
import Media
import MouthpieceCore
import Pipeline

/// `mouthpiece bench --compose`: compositions of 2 and of many scenes (single and side-by-side
/// scenes, colour and blurred backgrounds, cross-fades), each a fresh `mouthpiece compose`
/// process, against `mouthpiece render` of one scene's speech in the same run: time per output
/// second, and peak memory, which should not grow with the number of scenes.
extension BenchCommand {
    func runCompose() throws {
        try Terminal.run(json: json) {
            let scratch = try makeScratch()
            defer { try? FileManager.default.removeItem(atPath: scratch) }
            let speech = try audio ?? makeSpeech(in: scratch, seconds: 4)
            let me = try executablePath()
            let counts = [2, max(3, composeScenes)]
            for count in counts {
                try writeComposition(scenes: count, speech: speech, to: scratch + "/scenes\(count).json")
            }
            var commands: [(name: String, path: String, arguments: [String])] = [
                ("render", me, renderArguments(speech, scratch + "/render.mp4"))
            ]
            for count in counts {
                commands.append(
                    (
                        "\(count) scenes", me,
                        [
                            "compose", scratch + "/scenes\(count).json", "-o", scratch + "/scenes\(count).mp4",
                            "--preset", preset, "--json", "--quiet",
                        ]
                    ))
            }
            let figures = try alternate(commands, scratch: scratch).0.map(\.figures)
            func seconds(_ video: String) throws -> Double { try MediaProbe.probe(path: video).duration ?? .nan }
            let renderSeconds = try seconds(scratch + "/render.mp4")
            let perSecond = figures[0].wall / renderSeconds
            let rows = try counts.enumerated().map { k, count in
                let f = figures[k + 1]
                let length = try seconds(scratch + "/scenes\(count).mp4")
                return ComposeRow(
                    scenes: count, outputSeconds: length, wall: f.wall, cpu: f.cpu, peakMib: f.peak,
                    wallPerOutputSecond: f.wall / length, ratioToRender: f.wall / length / perSecond)
            }
            let growth = figures[2].peak / figures[1].peak - 1
            if json {
                let encoder = JSONEncoder()
                encoder.keyEncodingStrategy = .convertToSnakeCase
                encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
                let figures = ComposeFigures(
                    render: .init(outputSeconds: renderSeconds, wall: figures[0].wall, peakMib: figures[0].peak),
                    compositions: rows, peakGrowth: growth, runs: runs)
                print(String(decoding: try encoder.encode(figures), as: UTF8.self))
                return
            }
            print("compositions at \(resolution) \(fps) fps, \(preset), medians of \(runs) alternating runs:")
            print(
                "  render (one scene)   \(renderSeconds.formatted(2)) s of video in \(figures[0].wall.formatted(2)) s, "
                    + "peak \(figures[0].peak.formatted(0)) MiB")
            for row in rows {
                print(
                    "  \(row.scenes) scenes".padding(toLength: 23, withPad: " ", startingAt: 0)
                        + "\(row.outputSeconds.formatted(2)) s of video in \(row.wall.formatted(2)) s "
                        + "(\(row.ratioToRender.formatted(2))x render's time per second), "
                        + "peak \(row.peakMib.formatted(0)) MiB")
            }
            print("  peak memory growth \(counts[0]) -> \(counts[1]) scenes: \((growth * 100).formatted(1)) %")
        }
    }

    /// One composition's figures.
    struct ComposeRow: Encodable {
        let scenes: Int
        let outputSeconds: Double
        let wall: Double
        let cpu: Double
        let peakMib: Double
        let wallPerOutputSecond: Double
        let ratioToRender: Double
    }

    /// What `--compose --json` prints.
    struct ComposeFigures: Encodable {
        struct Render: Encodable {
            let outputSeconds: Double
            let wall: Double
            let peakMib: Double
        }
        let render: Render
        let compositions: [ComposeRow]
        let peakGrowth: Double
        let runs: Int
    }

    /// `count` scenes of `speech`: a single speaker on a colour, cross-fading into the two side by
    /// side (one listening) on the portrait's background blurred, and so on.
    func writeComposition(scenes count: Int, speech: String, to path: String) throws {
        // Absolute paths: the spec is read from the scratch folder.
        let image = URL(fileURLWithPath: self.image).path
        let speech = URL(fileURLWithPath: speech).path
        let scenes: [Composition.Scene] = (0..<count).map { n in
            n % 2 == 0
                ? .init(
                    speakers: [.init(image: image, audio: speech)], background: .init(color: "#203a5c"),
                    transition: n == count - 1 ? nil : .init(type: .crossfade, seconds: 0.5))
                : .init(
                    speakers: [.init(image: image), .init(image: image, audio: speech)], layout: .sideBySide,
                    background: .init(blur: true))
        }
        let composition = Composition(scenes: scenes, resolution: resolution, fps: fps, aspect: aspect, captions: .none)
        try AtomicFile.write(Array(try JSONEncoder().encode(composition)), to: path)
    }
}
