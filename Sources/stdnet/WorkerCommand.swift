// `stdnet worker`: runs a worker.
import Foundation
import MemoryPolicy
import NeuralEngine
import ServiceSupport
import STDNet
import Wire
import Worker

enum WorkerCommand: Command {
    static let name = "worker"
    static let summary = "run a worker that executes jobs for one or more coordinators"
    static let usage = """
        usage: stdnet worker [OPTIONS]

        Connects to the coordinators, runs the jobs they send and reports back. Holds no database
        credentials and no state beyond the jobs it runs. Stops on SIGTERM or SIGINT: takes no new
        work, lets running jobs finish within the shutdown timeout and hands back the rest.

          --coordinator URLS         comma-separated coordinator worker endpoints (env STDNET_COORDINATORS; default \(Endpoints.worker))
          --concurrency N            jobs run at once (env STDNET_WORKER_CONCURRENCY; default 1)
          --name NAME                unique worker name, also its lease owner (env STDNET_WORKER_NAME; default HOST-PID)
          --heartbeat SECONDS        heartbeat interval (env STDNET_HEARTBEAT; default 1)
          --shutdown-timeout SECONDS time running jobs get to finish when stopping (env STDNET_SHUTDOWN_TIMEOUT; default 30)
          --model DIR                STD-Net model folder (config.json, model.safetensors) for analyze jobs
                                     (env STDNET_MODEL; default the shipped Models/std-net, looked up in the
                                     current folder and beside the stdnet build)
          --no-model                 run no analyze jobs (no-op and track jobs only)
        \(loggingUsage)
        """

    static func run(_ arguments: inout Arguments) throws -> Int32 {
        restartWithPassiveOpenMPWaitUnlessSet()
        // The network allocates the same activation sizes for every window.
        keepFreedMemoryForReuse()
        var configuration = WorkerConfiguration()
        let coordinators = try arguments.option("coordinator", environment: "STDNET_COORDINATORS") ?? Endpoints.worker
        configuration.coordinators = coordinators.split(separator: ",").map { String($0).trimmingCharacters(in: .whitespaces) }
        configuration.concurrency = try arguments.integer("concurrency", environment: "STDNET_WORKER_CONCURRENCY", default: 1)
        configuration.name = try arguments.option("name", environment: "STDNET_WORKER_NAME") ?? WorkerConfiguration.defaultName()
        guard !configuration.name.isEmpty else { throw UsageError("--name expects a worker name, got an empty one") }
        configuration.heartbeatInterval = try arguments.seconds("heartbeat", environment: "STDNET_HEARTBEAT", default: .seconds(1), positive: true)
        configuration.shutdownTimeout = try arguments.seconds("shutdown-timeout", environment: "STDNET_SHUTDOWN_TIMEOUT", default: .seconds(30))
        let noModel = try arguments.flag("no-model")
        // With --no-model, STDNET_MODEL is not read, so only a --model on the command line conflicts.
        let givenModel = try arguments.option("model", environment: noModel ? nil : "STDNET_MODEL")
        if noModel, let givenModel {
            throw UsageError("--model \(givenModel) and --no-model contradict each other: give --model DIR to run analyze jobs, or --no-model to run none")
        }
        let modelFolder = noModel ? nil : givenModel ?? shippedModelFolder()
        let logger = try parseLogger(&arguments, component: "worker")
        try arguments.finish()
        guard configuration.concurrency >= 1 else { throw UsageError("--concurrency must be at least 1, got \(configuration.concurrency)") }
        guard !configuration.coordinators.isEmpty else { throw UsageError("--coordinator needs at least one endpoint") }

        let shutdown = ShutdownRequest()
        shutdown.installSignalHandlers()
        var handlers: [any JobHandler] = [NoopJobHandler(), TrackJobHandler()]
        if let modelFolder {
            var isFolder: ObjCBool = false
            guard FileManager.default.fileExists(atPath: modelFolder, isDirectory: &isFolder), isFolder.boolValue else {
                throw UsageError("model folder \(modelFolder) does not exist; give a folder written by 'stdnet train' (config.json and model.safetensors)")
            }
            for file in ["config.json", "model.safetensors"] where !FileManager.default.fileExists(atPath: "\(modelFolder)/\(file)") {
                throw UsageError("model folder \(modelFolder) has no \(file); give a folder written by 'stdnet train' (config.json and model.safetensors)")
            }
            let model = try STDNetModel.load(from: URL(fileURLWithPath: modelFolder))
            configuration.modelVersion = "\(model.configuration.architecture.rawValue):\(modelFolder)"
            let settings = model.configuration
            logger.info("model loaded", ["model": configuration.modelVersion,
                                         "spacing_mm": settings.spacing.map { String($0) }.joined(separator: ","),
                                         "window": settings.slidingWindow.map { String($0) }.joined(separator: ","),
                                         "lesion_threshold": settings.lesionThreshold.map { String($0) } ?? "none (most probable class)"])
            handlers.append(AnalyzeJobHandler(model: model))
        }
        if !handlers.contains(where: { $0.kinds.contains("analyze") }) {
            logger.warning("no model loaded: this worker runs no analyze jobs", ["hint": "give --model DIR, or build from a clone that has Models/std-net"])
        }
        let worker = try Worker(configuration: configuration, handlers: handlers, logger: logger)
        worker.run(until: shutdown)
        shutDownZeroMQ()
        return 0
    }
}

/// Finds the shipped model: Models/std-net in the current folder, else in the nearest folder
/// above the running binary that has one (the repository a build under .build/ came from).
func shippedModelFolder() -> String? {
    func model(in folder: URL) -> String? {
        let candidate = folder.appendingPathComponent("Models/std-net")
        return FileManager.default.fileExists(atPath: candidate.appendingPathComponent("model.safetensors").path) ? candidate.path : nil
    }
    if let found = model(in: URL(fileURLWithPath: FileManager.default.currentDirectoryPath)) { return found }
    var folder = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
    while folder.path != "/" {
        if let found = model(in: folder) { return found }
        folder = folder.deletingLastPathComponent()
    }
    return nil
}
