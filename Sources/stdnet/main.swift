// Entry point: selects the subcommand and reports its errors on standard error.
import Foundation
import JobStore

let commands: [any Command.Type] = [
    DatabaseCommand.self,
    MigrateCommand.self,
    CoordinatorCommand.self,
    WorkerCommand.self,
    SubmitCommand.self,
    StatusCommand.self,
    CancelCommand.self,
    RetryCommand.self,
    HistoryCommand.self,
    ExportCommand.self,
    ConvertCommand.self,
    PhantomCommand.self,
    TrainCommand.self,
    EvaluateCommand.self,
]

@MainActor func printHelp() {
    print("stdnet: multiphase liver imaging on a distributed job queue (research software, not for clinical use)\n")
    print("usage: stdnet COMMAND [OPTIONS]\n\ncommands:")
    for command in commands {
        print("  \(command.name.padding(toLength: 12, withPad: " ", startingAt: 0)) \(command.summary)")
    }
    print("\nRun 'stdnet help COMMAND' for the options of one command.")
}

func standardError(_ text: String) {
    writeError(text + "\n")
}

var argv = Array(CommandLine.arguments.dropFirst())
guard let name = argv.first else {
    // No command is a usage error, so that a script that lost its arguments fails.
    printHelp()
    exit(2)
}
if ["help", "--help", "-h"].contains(name) && argv.count == 1 {
    printHelp()
    exit(0)
}
if name == "help" || name == "--help" || name == "-h" {
    if argv[1] == "help" {
        printHelp()
        exit(0)
    }
    guard let command = commands.first(where: { $0.name == argv[1] }) else {
        standardError("stdnet: unknown command '\(argv[1])'; run 'stdnet help' for the list")
        exit(2)
    }
    print(command.usage)
    exit(0)
}
guard let command = commands.first(where: { $0.name == name }) else {
    standardError("stdnet: unknown command '\(name)'; run 'stdnet help' for the list")
    exit(2)
}

// 'stdnet COMMAND --help' is the same as 'stdnet help COMMAND'.
if argv.dropFirst().contains(where: { $0 == "--help" || $0 == "-h" }) {
    print(command.usage)
    exit(0)
}
var arguments = Arguments(Array(argv.dropFirst()))
do {
    exit(try command.run(&arguments))
} catch let error as JobStoreError where error.isConnectionError && command != DatabaseCommand.self {
    // 'stdnet database' runs the server programs itself; its errors carry their own advice.
    standardError("stdnet \(name): \(error)\nCheck that PostgreSQL runs ('stdnet database start' starts the private one) and the connection string (--database or STDNET_DATABASE_URL; default \(DatabaseOptions.defaultURL)).")
    exit(1)
} catch let error as UsageError {
    standardError("stdnet \(name): \(error)\nRun 'stdnet \(name) --help' for its options.")
    exit(2)
} catch {
    standardError("stdnet \(name): \(error)")
    exit(1)
}
