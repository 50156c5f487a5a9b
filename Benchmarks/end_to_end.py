"""End-to-end no-op jobs: stdnet (coordinator + workers over ZeroMQ) against pgqueuer 1.6
consumers, on one private PostgreSQL in the same run, with 1, 2 and 4 worker processes.

Throughput: JOBS jobs are submitted at once; jobs/s is JOBS over the wall-clock time from the
submission to the last committed result (polled every 5 ms on the database).
Latency: LATENCY_JOBS jobs are submitted one at a time, 20 ms apart, on an idle queue; the
submit-to-start latency is the time from the enqueue transaction to the claim (stdnet,
jobs.attempted_at - jobs.created_at, both on the database clock) or to the start of the
handler (pgqueuer, handler clock minus the job's created column).

Needs release builds of stdnet (`swift build -c release --product stdnet`) and pgqueuer,
asyncpg and psycopg from PyPI. Prints a Markdown table.

usage: python3 Benchmarks/end_to_end.py [JOBS] [LATENCY_JOBS]
"""

import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

import psycopg

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
STDNET = os.path.join(ROOT, ".build", "release", "stdnet")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def fresh_database(server: str, name: str) -> str:
    with psycopg.connect(server, autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        admin.execute(f"CREATE DATABASE {name}")
    return server.rsplit("/", 1)[0] + "/" + name


def wait_for(url: str, query: str, expected: int, timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    with psycopg.connect(url, autocommit=True) as connection:
        while time.monotonic() < deadline:
            if connection.execute(query).fetchone()[0] == expected:
                return
            time.sleep(0.005)
    raise TimeoutError(f"{query} did not reach {expected}")


def measure_stdnet(server: str, workers: int, jobs: int, latency_jobs: int) -> tuple[float, float, float]:
    url = fresh_database(server, f"stdnet_e2e_{workers}")
    environment = dict(os.environ, STDNET_DATABASE_URL=url, STDNET_MIGRATIONS=os.path.join(ROOT, "Migrations"),
                       STDNET_LOG_LEVEL="warning")
    subprocess.run([STDNET, "migrate"], env=environment, check=True, stdout=subprocess.DEVNULL)
    worker_endpoint = f"tcp://127.0.0.1:{free_port()}"
    client_endpoint = f"tcp://127.0.0.1:{free_port()}"
    processes = [subprocess.Popen([STDNET, "coordinator", "--worker-endpoint", worker_endpoint,
                                   "--client-endpoint", client_endpoint], env=environment)]
    processes += [subprocess.Popen([STDNET, "worker", "--coordinator", worker_endpoint, "--concurrency", "16",
                                    "--name", f"bench-{index}"], env=environment) for index in range(workers)]
    try:
        time.sleep(1.0)
        started = time.monotonic()
        subprocess.run([STDNET, "submit", "--noop", str(jobs), "--coordinator", client_endpoint],
                       env=environment, check=True, stdout=subprocess.DEVNULL)
        wait_for(url, "SELECT count(*) FROM jobs WHERE state = 'succeeded'", jobs)
        rate = jobs / (time.monotonic() - started)

        with psycopg.connect(url, autocommit=True) as connection:
            connection.execute("TRUNCATE jobs CASCADE")
        for _ in range(latency_jobs):
            subprocess.run([STDNET, "submit", "--noop", "1", "--coordinator", client_endpoint],
                           env=environment, check=True, stdout=subprocess.DEVNULL)
            time.sleep(0.02)
        wait_for(url, "SELECT count(*) FROM jobs WHERE state = 'succeeded'", latency_jobs)
        with psycopg.connect(url) as connection:
            delays = [row[0] for row in connection.execute(
                "SELECT extract(epoch FROM attempted_at - created_at) * 1000 FROM jobs").fetchall()]
        return rate, percentile(delays, 0.5), percentile(delays, 0.99)
    finally:
        for process in processes:
            process.send_signal(signal.SIGTERM)
        for process in processes:
            process.wait(timeout=30)


def measure_pgqueuer(server: str, workers: int, jobs: int, latency_jobs: int) -> tuple[float, float, float]:
    url = fresh_database(server, f"pgqueuer_e2e_{workers}")
    subprocess.run([sys.executable, "-c", f"""
import asyncio, asyncpg
from pgqueuer import AsyncpgDriver, Queries
async def main():
    connection = await asyncpg.connect({url!r})
    await Queries(AsyncpgDriver(connection)).install()
asyncio.run(main())
"""], check=True)
    latency_file = tempfile.mktemp(prefix="pgqueuer-latency-")
    processes = [subprocess.Popen([sys.executable, os.path.join(ROOT, "Benchmarks", "end_to_end_pgqueuer_worker.py"),
                                   url, latency_file], stderr=subprocess.DEVNULL) for _ in range(workers)]
    enqueue = f"""
import asyncio, asyncpg, sys
from pgqueuer import AsyncpgDriver, Queries
async def main(count):
    connection = await asyncpg.connect({url!r})
    queries = Queries(AsyncpgDriver(connection))
    for start in range(0, count, 1000):
        n = min(1000, count - start)
        await queries.enqueue(["noop"] * n, [None] * n, [0] * n)
asyncio.run(main(int(sys.argv[1])))
"""
    try:
        time.sleep(1.5)
        started = time.monotonic()
        subprocess.run([sys.executable, "-c", enqueue, str(jobs)], check=True)
        wait_for(url, "SELECT count(*) FROM pgqueuer_log WHERE status = 'successful'", jobs)
        rate = jobs / (time.monotonic() - started)

        open(latency_file, "w").close()
        for _ in range(latency_jobs):
            subprocess.run([sys.executable, "-c", enqueue, "1"], check=True)
            time.sleep(0.02)
        wait_for(url, "SELECT count(*) FROM pgqueuer_log WHERE status = 'successful'", jobs + latency_jobs)
        time.sleep(0.2)
        delays = [float(line) for line in open(latency_file) if line.strip()]
        return rate, percentile(delays, 0.5), percentile(delays, 0.99)
    finally:
        for process in processes:
            process.send_signal(signal.SIGTERM)
        for process in processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
        if os.path.exists(latency_file):
            os.remove(latency_file)


def main() -> None:
    jobs = int(sys.argv[1]) if len(sys.argv) > 1 else 5000
    latency_jobs = int(sys.argv[2]) if len(sys.argv) > 2 else 200
    data = tempfile.mkdtemp(prefix="stdnet-e2e-postgres-")
    port = free_port()
    subprocess.run([STDNET, "database", "start", "--data", data, "--port", str(port)], check=True, stdout=subprocess.DEVNULL)
    server = f"postgresql://postgres@127.0.0.1:{port}/stdnet"
    try:
        print(f"{jobs} jobs for throughput, {latency_jobs} jobs for latency\n")
        print("| workers | stdnet jobs/s | pgqueuer jobs/s | ratio | stdnet p50 / p99 ms | pgqueuer p50 / p99 ms |")
        print("| ---: | ---: | ---: | ---: | ---: | ---: |")
        for workers in (1, 2, 4):
            ours = measure_stdnet(server, workers, jobs, latency_jobs)
            reference = measure_pgqueuer(server, workers, jobs, latency_jobs)
            print(f"| {workers} | {ours[0]:.0f} | {reference[0]:.0f} | {ours[0] / reference[0]:.2f} "
                  f"| {ours[1]:.1f} / {ours[2]:.1f} | {reference[1]:.1f} / {reference[2]:.1f} |", flush=True)
    finally:
        subprocess.run([STDNET, "database", "stop", "--data", data, "--port", str(port)], stdout=subprocess.DEVNULL)
        subprocess.run(["rm", "-rf", data])


if __name__ == "__main__":
    main()
