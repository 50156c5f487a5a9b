// `stdnet coordinator`: runs the coordinator service.
import Coordinator
import Foundation
import JobStore
import ServiceSupport
import Wire

enum CoordinatorCommand: Command {
    static let name = "coordinator"
    static let summary = "run a coordinator: the only process with database access"
    static let usage = """
        usage: stdnet coordinator [OPTIONS]

        Stores studies and job state in PostgreSQL and hands jobs to the workers that connect.
        Several coordinators may share one database. Stops on SIGTERM or SIGINT after the jobs in
        flight report back or the shutdown timeout passes.

          --database URL             PostgreSQL connection string (env STDNET_DATABASE_URL)
          --worker-endpoint URL      ZeroMQ endpoint to bind for workers (env STDNET_WORKER_BIND; default \(Endpoints.worker))
          --client-endpoint URL      ZeroMQ endpoint to bind for clients (env STDNET_CLIENT_BIND; default \(Endpoints.client))
          --name NAME                name in logs (env STDNET_COORDINATOR_NAME; default coordinator-PID)
          --lease SECONDS            lease of an attempt without heartbeat (env STDNET_LEASE; default 10)
          --heartbeat SECONDS        heartbeat interval; 3 missed make a worker dead (env STDNET_HEARTBEAT; default 1)
          --shutdown-timeout SECONDS wait for jobs in flight when stopping (env STDNET_SHUTDOWN_TIMEOUT; default 10)
          --upload-limit MB          maximum size in MiB that one upload in parts may stage in memory (env STDNET_UPLOAD_LIMIT; default 2048)
          --upload-total-limit MB    maximum size in MiB that all uploads together may stage in memory (env STDNET_UPLOAD_TOTAL_LIMIT; default 8192)
          --upload-idle-timeout SECONDS
                                     drop an upload that receives no part for this long (env STDNET_UPLOAD_IDLE_TIMEOUT; default 300)
        \(loggingUsage)
        """

    static func run(_ arguments: inout Arguments) throws -> Int32 {
        let database = try DatabaseOptions.parse(&arguments)
        var configuration = CoordinatorConfiguration(database: database.configuration)
        configuration.database.reconnectTimeout = .seconds(1)
        configuration.workerEndpoint = try arguments.option("worker-endpoint", environment: "STDNET_WORKER_BIND") ?? Endpoints.worker
        configuration.clientEndpoint = try arguments.option("client-endpoint", environment: "STDNET_CLIENT_BIND") ?? Endpoints.client
        configuration.name = try arguments.option("name", environment: "STDNET_COORDINATOR_NAME") ?? "coordinator-\(getpid())"
        configuration.lease = try arguments.seconds("lease", environment: "STDNET_LEASE", default: .seconds(10), positive: true)
        configuration.heartbeatInterval = try arguments.seconds("heartbeat", environment: "STDNET_HEARTBEAT", default: .seconds(1), positive: true)
        configuration.shutdownTimeout = try arguments.seconds("shutdown-timeout", environment: "STDNET_SHUTDOWN_TIMEOUT", default: .seconds(10))
        configuration.uploadLimit = try arguments.mebibytes("upload-limit", environment: "STDNET_UPLOAD_LIMIT", default: configuration.uploadLimit)
        configuration.uploadTotalLimit = try arguments.mebibytes("upload-total-limit", environment: "STDNET_UPLOAD_TOTAL_LIMIT",
                                                                 default: configuration.uploadTotalLimit)
        configuration.uploadIdleTimeout = try arguments.seconds("upload-idle-timeout", environment: "STDNET_UPLOAD_IDLE_TIMEOUT",
                                                                default: configuration.uploadIdleTimeout)
        let logger = try parseLogger(&arguments, component: "coordinator")
        try arguments.finish()
        PostgresNotices.handler = { message in logger.warning("PostgreSQL notice", ["message": message]) }
        guard configuration.lease > configuration.heartbeatInterval * 2 else {
            throw UsageError("--lease must be more than twice --heartbeat, or leases expire between heartbeats")
        }

        let shutdown = ShutdownRequest()
        shutdown.installSignalHandlers()
        let coordinator = try Coordinator(configuration: configuration, logger: logger)
        coordinator.run(until: shutdown)
        // BYE to the workers may still be queued in the closed socket: ending ZeroMQ waits for it
        // up to the socket's linger time, where exiting at once would drop it.
        shutDownZeroMQ()
        return 0
    }
}
