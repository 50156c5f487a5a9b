#!/usr/bin/env bash
# Claim+complete throughput of stdnet's JobQueue against pgqueuer on one private PostgreSQL,
# in the same run: 1, 4 and 8 connections, claim batches of 1 and 100, median of RUNS runs.
# Needs: a release build of QueueBenchmark, and pgqueuer and asyncpg from PyPI.
#
# usage: Benchmarks/queue_roundtrip.sh [RUNS]
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-3}

swift build -c release --product QueueBenchmark >/dev/null
swift build -c release --product stdnet >/dev/null
data=$(mktemp -d /tmp/stdnet-bench-postgres.XXXXXX)
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
trap '.build/release/stdnet database stop --data "$data" --port "$port" >/dev/null; rm -rf "$data"' EXIT
.build/release/stdnet database start --data "$data" --port "$port" >/dev/null
server="postgresql://postgres@127.0.0.1:$port/stdnet"

median_rate() {  # prints the median jobs/s of the JSON lines on standard input
    python3 -c 'import json, statistics, sys; print(round(statistics.median(json.loads(l)["jobs"] / json.loads(l)["seconds"] for l in sys.stdin)))'
}

echo "| claim batch | connections | jobs | stdnet jobs/s | pgqueuer 1.6 jobs/s | ratio |"
echo "| ---: | ---: | ---: | ---: | ---: | ---: |"
for batch in 1 100; do
    jobs=$([[ $batch == 1 ]] && echo 5000 || echo 20000)
    for connections in 1 4 8; do
        ours=$(for _ in $(seq "$runs"); do .build/release/QueueBenchmark "$server" Migrations "$jobs" "$connections" "$batch"; done | median_rate)
        reference=$(for _ in $(seq "$runs"); do python3 Benchmarks/queue_roundtrip_pgqueuer.py "$server" "$jobs" "$connections" "$batch"; done | median_rate)
        ratio=$(python3 -c "print(f'{$ours / $reference:.2f}')")
        echo "| $batch | $connections | $jobs | $ours | $reference | $ratio |"
    done
done
