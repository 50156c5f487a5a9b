#!/usr/bin/env bash
# Times one 4-phase window of 64 x 128 x 128 voxels through STD-Net and the early-fusion baseline,
# on the engine (release WindowBenchmark) and on the PyTorch reference
# (Benchmarks/pytorch_reference.py), with the same full-size random weights and 2 threads each.
# Every measurement is its own process under /usr/bin/time -v, so peak memory is that process's
# maximum resident set size. The two tools alternate, so both see the same machine load.
#
# Usage: Benchmarks/pytorch_vs_engine.sh [ROUNDS] [RUNS]
#   ROUNDS  processes per tool and architecture, alternating (default 2)
#   RUNS    timed forward passes per process after one warm-up (default 3)
# Needs: swift build -c release --product WindowBenchmark; python3 with torch and safetensors.
set -euo pipefail

rounds=${1:-2}
runs=${2:-3}
threads=2
root=$(cd "$(dirname "$0")/.." && pwd)
engine="$root/.build/release/WindowBenchmark"
models=${MODELS:-/tmp/stdnet-window-models}

if [[ ! -x "$engine" ]]; then
    echo "missing $engine: run 'swift build -c release --product WindowBenchmark' first" >&2
    exit 1
fi
if [[ ! -f "$models/std-net/model.safetensors" ]]; then
    "$engine" save-random "$models"
fi

# oneDNN's OpenMP threads. The engine's own loops use Dispatch on the machine's cores, and its
# matrix products inside those loops run on one thread each.
export OMP_NUM_THREADS=$threads

# Runs one measurement and prints its key=value line followed by the peak RSS from time -v.
measure() {
    local log
    log=$(mktemp)
    /usr/bin/time -v "$@" 2> "$log" | tr '\n' ' '
    echo "time_v_max_rss_mb=$(awk -F': ' '/Maximum resident set size/ { printf "%.0f", $2 / 1024 }' "$log")"
    rm -f "$log"
}

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), load average $(cut -d' ' -f1-3 /proc/loadavg)"
for round in $(seq 1 "$rounds"); do
    for architecture in std-net early-fusion; do
        measure "$engine" time "$models/$architecture" --runs "$runs"
        measure python3 "$root/Benchmarks/pytorch_reference.py" time "$models/$architecture" --runs "$runs" --threads "$threads"
    done
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
