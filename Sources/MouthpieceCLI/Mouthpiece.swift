import ArgumentParser

/// The `mouthpiece` command line.
@main
struct Mouthpiece: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mouthpiece",
        abstract: "Turn a portrait and a voice into a lip-synced talking-head MP4, on the CPU.",
        subcommands: [
            RenderCommand.self, AnimateCommand.self, InspectCommand.self, EvalCommand.self, BenchCommand.self,
            SayCommand.self, VoicesCommand.self, ServeCommand.self, WorkerCommand.self, MigrateCommand.self,
            KeysCommand.self,
        ]
    )
}
