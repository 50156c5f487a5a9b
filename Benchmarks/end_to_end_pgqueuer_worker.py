"""One pgqueuer 1.6 consumer process for Benchmarks/end_to_end.py.

Processes 'noop' jobs until stopped; for every job it appends the delay from the job's creation
(database clock) to the start of its handler, in milliseconds, to LATENCY_FILE.

usage: python3 end_to_end_pgqueuer_worker.py DATABASE_URL LATENCY_FILE
"""

import asyncio
import sys
from datetime import datetime, timezone

import asyncpg
from pgqueuer import AsyncpgDriver, Queries, QueueManager


async def main(url: str, latency_file: str) -> None:
    connection = await asyncpg.connect(url)
    manager = QueueManager(Queries(AsyncpgDriver(connection)))
    output = open(latency_file, "a", buffering=1)

    @manager.entrypoint("noop")
    async def noop(job) -> None:
        delay = datetime.now(timezone.utc) - job.created
        output.write(f"{delay.total_seconds() * 1000:.3f}\n")

    await manager.run(batch_size=10)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2]))
