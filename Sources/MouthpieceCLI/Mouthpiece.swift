import ArgumentParser
import Foundation

/// The `mouthpiece` command line.
@main
struct Mouthpiece: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mouthpiece",
        abstract: "Turn a portrait and a voice into a lip-synced talking-head MP4, on the CPU.",
        subcommands: [
            RenderCommand.self, AnimateCommand.self, InspectCommand.self, EvalCommand.self, BenchCommand.self,
            SayCommand.self, SpeakCommand.self, VoicesCommand.self, ServeCommand.self, WorkerCommand.self,
            MigrateCommand.self,
            KeysCommand.self, LipSyncCommand.self, VerifyCommand.self, PlansCommand.self, LiveCommand.self,
            ComposeCommand.self,
        ]
    )

    /// As ArgumentParser's own, except that a wrong argument is reported like every other bad
    /// input: `error[invalid_parameter]: ...` on stderr and exit status 2.
    static func main() async {
        do {
            var command = try parseAsRoot()
            if var command = command as? AsyncParsableCommand {
                try await command.run()
            } else {
                try command.run()
            }
        } catch let error
            where !(error is ExitCode) && !(error is CleanExit)
            && exitCode(for: error) == .validationFailure
        {
            Terminal.writeErr(
                "error[invalid_parameter]: \(message(for: error))\n"
                    + "Run `mouthpiece help` or add --help for the usage.\n")
            Foundation.exit(2)
        } catch {
            exit(withError: error)
        }
    }
}
