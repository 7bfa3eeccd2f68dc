"""A SQLite writer for tests/test_faults.py to kill with SIGKILL in the middle of a burst.

`python tests/faults_writer.py URL ROUND` commits one transaction after another through
`storage.db.Database` and the outbox's own `enqueue`, each queuing `PER_COMMIT` messages keyed
`burst:ROUND:N:i`, and prints `N` (flushed) only after the commit returned: a line the parent
has read is a write SQLite acknowledged as durable (synchronous FULL, WAL).
"""

from __future__ import annotations

import asyncio
import sys

from storage.db import Database
from storage.models import RecipientKind
from storage.outbox import enqueue

PER_COMMIT = 3


async def burst(url: str, round_: str) -> None:
    db = Database(url)
    try:
        for n in range(100_000):
            async with db.session() as session:
                for i in range(PER_COMMIT):
                    await enqueue(session, chat_id=-1001, key=f"burst:{round_}:{n}:{i}",
                                  payload={"text": f"Tin nhắn {n}.{i} " + "ư" * 200},
                                  recipient=RecipientKind.GROUP)  # fmt: skip
                await session.commit()
            print(n, flush=True)
    finally:
        await db.dispose()


if __name__ == "__main__":
    asyncio.run(burst(sys.argv[1], sys.argv[2]))
