"""Claim+complete round trips with pgqueuer, the reference for stdnet's queue benchmark.

Enqueues JOBS no-op jobs, then runs CONNECTIONS consumers, each on its own asyncpg connection,
each looping dequeue(batch) -> log_jobs(successful) until the queue is empty. This is the same
work as stdnet's claim+complete loop in QueueBenchmark. Prints one line of JSON.

usage: python3 queue_roundtrip_pgqueuer.py DATABASE_URL JOBS CONNECTIONS BATCH
"""

import asyncio
import json
import sys
import time
import uuid
from datetime import timedelta

import asyncpg
from pgqueuer.adapters.drivers.asyncpg import AsyncpgDriver
from pgqueuer.adapters.persistence.queries import Queries
from pgqueuer.ports.repository import EntrypointExecutionParameter


async def main(url: str, jobs: int, connections: int, batch: int) -> None:
    setup = await asyncpg.connect(url)
    queries = Queries(AsyncpgDriver(setup))
    if not await queries.schema_is_installed():
        await queries.install()
    await queries.clear_queue()
    for start in range(0, jobs, 1000):
        count = min(1000, jobs - start)
        await queries.enqueue(["noop"] * count, [None] * count, [0] * count)

    entrypoints = {"noop": EntrypointExecutionParameter(concurrency_limit=0)}

    async def consume() -> int:
        connection = await asyncpg.connect(url)
        consumer = Queries(AsyncpgDriver(connection))
        manager_id = uuid.uuid4()
        done = 0
        while True:
            claimed = await consumer.dequeue(
                batch_size=batch,
                entrypoints=entrypoints,
                queue_manager_id=manager_id,
                global_concurrency_limit=None,
                heartbeat_timeout=timedelta(seconds=60),
            )
            if not claimed:
                break
            await consumer.log_jobs([(job, "successful", None) for job in claimed])
            done += len(claimed)
        await connection.close()
        return done

    started = time.perf_counter()
    counts = await asyncio.gather(*(consume() for _ in range(connections)))
    elapsed = time.perf_counter() - started
    await setup.close()
    print(json.dumps({"jobs": sum(counts), "seconds": elapsed}))


if __name__ == "__main__":
    url, jobs, connections, batch = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    asyncio.run(main(url, jobs, connections, batch))
