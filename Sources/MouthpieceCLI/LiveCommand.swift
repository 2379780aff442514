import ArgumentParser
import Foundation
import MouthpieceCore
import Pipeline
import Render
import Speech

/// `mouthpiece live`: a portrait speaking audio as it streams in, written as fragmented MP4.
struct LiveCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "live",
        abstract: "Stream a talking portrait as the audio arrives (fragmented MP4, as a live session sends).",
        discussion: """
            The audio is fed at real-time pace in 20 ms chunks through the same session a WebSocket \
            client gets: the avatar idles for --lead-in seconds, speaks the audio, and the stream ends \
            once it has played. `--audio -` reads raw PCM16 mono at --sample-rate from standard input \
            as it comes; `-o -` writes the stream to standard output (`mouthpiece live ... -o - | ffplay -`). \
            With --json the session's figures are printed at the end (on standard error when the \
            stream goes to standard output).
            """)

    @Option(name: .long, help: "Portrait photo (JPEG, PNG or WebP).")
    var image: String

    @Option(name: .long, help: "Speech audio file, or - for raw PCM16 mono at --sample-rate on standard input.")
    var audio: String?

    @Option(name: .long, help: "Or a text to speak (espeak-ng).")
    var text: String?

    @Option(name: .long, help: "Language of --text.")
    var language: String = Script.defaultLanguage

    @Option(name: [.short, .long], help: "Output path (fragmented MP4), or - for standard output.")
    var output: String

    @Option(help: "Short side of the stream: 480p, 720p or 1080p.")
    var resolution: String = "720p"

    @Option(help: "Frames per second: 20, 24, 25 or 30.")
    var fps: Int = 25

    @Option(name: .customLong("sample-rate"), help: "Audio rate in and out: 16000 or 24000.")
    var sampleRate: Int = 16_000

    @Option(help: "How far the mouth may hear ahead, in milliseconds.")
    var lookahead: Double = 100

    @Option(name: .customLong("lead-in"), help: "Seconds of idle stream before the audio starts.")
    var leadIn: Double = 0.5

    @Option(help: "Seed for blinks and head motion.")
    var seed: UInt64 = 0

    @Flag(help: "Print the session's figures as JSON.")
    var json = false

    func settings() throws -> LiveSettings {
        var settings = LiveSettings()
        guard let resolution = Resolution(rawValue: resolution.lowercased()) else {
            throw MouthpieceError(
                .invalidParameter, "resolution must be one of 480p, 720p, 1080p; got \(self.resolution).",
                field: "resolution")
        }
        settings.resolution = resolution
        settings.fps = fps
        settings.sampleRate = sampleRate
        settings.lookahead = lookahead / 1000
        settings.seed = seed
        try settings.validate()
        return settings
    }

    func run() async throws {
        let toStdout = output == "-"
        try await Terminal.run(json: json) {
            guard (audio == nil) != (text == nil) else {
                throw MouthpieceError(.invalidParameter, "Give either --audio or --text.", field: "audio")
            }
            guard (0...30).contains(leadIn) else {
                throw MouthpieceError(.invalidParameter, "lead-in must be 0 to 30 s.", field: "lead_in")
            }
            let settings = try settings()
            let script = try text.map { text in
                let script = Script(text: text, language: language)
                try SpeechSynthesizer.check(script)
                return script
            }
            let feed = try audio.flatMap { $0 == "-" ? nil : try LiveFeed(path: $0, sampleRate: settings.sampleRate) }
            let session = try LiveSession(imagePath: image, analyser: .dlibOnce, settings: settings)
            let recorder = toStdout ? nil : try LiveRecorder(path: output)
            let sending = Task {
                try await Task.sleep(for: .seconds(leadIn))
                if let feed {
                    try await feed.play(into: session)
                } else if let script {
                    try session.say(script)
                } else {
                    try Self.pipeStandardInput(into: session)
                }
                session.end()
            }
            session.start()
            var summary: LiveFigures?
            var failure: LiveEvent?
            while let out = await session.next() {
                switch out {
                case .initSegment(let bytes), .fragment(let bytes):
                    if let recorder { try recorder.write(bytes) } else { FileHandle.standardOutput.write(Data(bytes)) }
                case .event(let event):
                    if event.type == .ended { summary = event.stats }
                    if event.type == .error { failure = event }
                }
            }
            if case .failure(let error) = await sending.result {
                recorder?.discard()
                throw error
            }
            if let failure {
                recorder?.discard()
                throw MouthpieceError(
                    MouthpieceError.Code(rawValue: failure.code ?? "") ?? .internalError, failure.message ?? "failed")
            }
            try recorder?.commit()
            guard let summary else { return }
            if json {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
                let text = String(decoding: try encoder.encode(summary), as: UTF8.self) + "\n"
                if toStdout { Terminal.writeErr(text) } else { print(text, terminator: "") }
            } else {
                let line =
                    "\(toStdout ? "streamed" : "wrote \(output)"): \(session.width)x\(session.height), "
                    + "\(summary.frames) frames, \(summary.droppedFrames) dropped, first fragment "
                    + "\(summary.firstFragmentMs.map { "\(Int($0)) ms" } ?? "-") after the first chunk\n"
                Terminal.writeErr(line)
            }
        }
    }

    /// Raw PCM16 from standard input, pushed as it arrives.
    static func pipeStandardInput(into session: LiveSession) throws {
        let input = FileHandle.standardInput
        var carry: [UInt8] = []
        while true {
            let data = input.availableData
            if data.isEmpty { break }
            carry += data
            let whole = carry.count & ~1
            try session.push(pcm16: Array(carry[..<whole]))
            carry.removeFirst(whole)
        }
    }
}
