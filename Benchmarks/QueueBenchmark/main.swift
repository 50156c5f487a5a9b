// Claim+complete round trips through stdnet's JobQueue, the counterpart of
// queue_roundtrip_pgqueuer.py. Enqueues JOBS no-op jobs into a freshly migrated database, then
// runs CONNECTIONS threads, each on its own connection, looping claim(BATCH) -> complete until
// the queue is empty. Prints one line of JSON.
//
// usage: QueueBenchmark SERVER_URL MIGRATIONS_DIR JOBS CONNECTIONS BATCH
import Foundation
import JobStore

let arguments = CommandLine.arguments
guard arguments.count == 6, let jobCount = Int(arguments[3]), let connections = Int(arguments[4]),
      let batch = Int(arguments[5]) else {
    FileHandle.standardError.write(Data("usage: QueueBenchmark SERVER_URL MIGRATIONS_DIR JOBS CONNECTIONS BATCH\n".utf8))
    exit(2)
}
let serverURL = arguments[1]

// A fresh database per run, so earlier runs leave no rows or bloat behind.
let databaseName = "queue_benchmark_\(getpid())"
let admin = try Connection(conninfo: serverURL)
try admin.execute("DROP DATABASE IF EXISTS \(databaseName)")
try admin.execute("CREATE DATABASE \(databaseName)")
let url = serverURL.replacingOccurrences(of: #"/[^/]*$"#, with: "/\(databaseName)", options: .regularExpression)
let setup = try Connection(conninfo: url)
try Migrator(connection: setup, migrations: Migrator.loadMigrations(from: URL(fileURLWithPath: arguments[2]))).migrate()
let producer = JobQueue(connection: setup)
for start in stride(from: 0, to: jobCount, by: 1000) {
    try producer.enqueue(batch: (start..<min(start + 1000, jobCount)).map { _ in NewJob(kind: "noop") })
}

final class Tally: @unchecked Sendable {
    private let lock = NSLock()
    private var total = 0
    func add(_ count: Int) { lock.withLock { total += count } }
    var value: Int { lock.withLock { total } }
}
let completed = Tally()
let group = DispatchGroup()
let started = ContinuousClock.now
for index in 0..<connections {
    group.enter()
    Thread.detachNewThread {
        defer { group.leave() }
        let queue = JobQueue(connection: try! Connection(conninfo: url))
        let owner = "benchmark-\(index)"
        var done = 0
        while true {
            let jobs = try! queue.claim(owner: owner, limit: batch, lease: .seconds(60))
            if jobs.isEmpty { break }
            if jobs.count == 1 {
                try! queue.complete(job: jobs[0].id, attempt: jobs[0].attempt, owner: owner)
            } else {
                _ = try! queue.complete(batch: jobs.map { ($0.id, $0.attempt, owner, "{}") })
            }
            done += jobs.count
        }
        completed.add(done)
    }
}
group.wait()
let elapsed = (ContinuousClock.now - started)
let seconds = elapsed / .seconds(1)
try admin.execute("DROP DATABASE \(databaseName) WITH (FORCE)")
print("{\"jobs\": \(completed.value), \"seconds\": \(seconds)}")
