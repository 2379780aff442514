import ArgumentParser
import Foundation
import MouthpieceCore

/// Output to the user: errors as one line with their code, progress as a bar on a terminal, JSON.
enum Terminal {
    static var stderrIsTerminal: Bool { isatty(2) == 1 }

    static func error(_ error: MouthpieceError, json: Bool) {
        // A field deep in a document (scenes[1].speakers[0].audio) is named when the message does not.
        let place =
            error.field.map { $0.contains("[") && !error.message.contains($0) ? " (at \($0))" : "" } ?? ""
        writeErr("error[\(error.code.rawValue)]: \(error.message)\(place)\n")
        if json {
            var body: [String: Any] = ["code": error.code.rawValue, "message": error.message]
            if let field = error.field { body["field"] = field }
            printJSON(["error": body])
        }
    }

    static func warning(_ code: String, _ message: String) { writeErr("warning[\(code)]: \(message)\n") }

    static func writeErr(_ text: String) { FileHandle.standardError.write(Data(text.utf8)) }

    /// Prints a typed value as JSON (keys sorted, pretty).
    static func printJSON<T: Encodable>(encoding value: T) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        print(String(decoding: try encoder.encode(value), as: UTF8.self))
    }

    static func printJSON(_ object: Any) {
        guard
            let data = try? JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys]),
            let text = String(data: data, encoding: .utf8)
        else { return }
        print(text)
    }

    /// Runs `body`, turning any failure into a one-line error and the right exit status.
    static func run(json: Bool, _ body: () throws -> Void) throws {
        do {
            try body()
        } catch {
            try report(error, json: json)
        }
    }

    static func run(json: Bool, _ body: () async throws -> Void) async throws {
        do {
            try await body()
        } catch {
            try report(error, json: json)
        }
    }

    /// Prints `error` (with its stable code) and exits with its status.
    static func report(_ error: any Error, json: Bool) throws -> Never {
        do {
            throw error
        } catch let error as MouthpieceError {
            Terminal.error(error, json: json)
            throw ExitCode(error.exitStatus)
        } catch let status as ExitCode {
            throw status
        } catch {
            Terminal.error(MouthpieceError(.internalError, "\(error)"), json: json)
            throw ExitCode(1)
        }
    }
}

/// A progress bar redrawn in place on stderr, at most ten times a second.
final class ProgressBar {
    private var lastDraw = ContinuousClock.now - .seconds(1)
    private let enabled: Bool
    private let started = ContinuousClock.now

    init(enabled: Bool) { self.enabled = enabled }

    func update(label: String, done: Int, total: Int, force: Bool = false) {
        guard enabled else { return }
        let now = ContinuousClock.now
        guard force || now - lastDraw >= .milliseconds(100) else { return }
        lastDraw = now
        let width = 30
        let fraction = total > 0 ? Double(done) / Double(total) : 0
        let filled = Int(fraction * Double(width))
        let bar = String(repeating: "#", count: filled) + String(repeating: "-", count: width - filled)
        let seconds = (now - started).inSeconds
        Terminal.writeErr(
            "\r\(label) [\(bar)] \(Int(fraction * 100))% \(done)/\(total) frames, \(seconds.formatted(1)) s  ")
    }

    /// A status line without a bar, for stages that have no frame count.
    func message(_ text: String) {
        guard enabled else { return }
        Terminal.writeErr("\r\(text)")
    }

    func finish() {
        guard enabled else { return }
        Terminal.writeErr("\n")
    }
}
