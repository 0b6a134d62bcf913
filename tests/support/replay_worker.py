"""A separate process that verifies ES384 tokens and asks the shared replay cache about each one.

``python -m tests.support.replay_worker DATABASE_URL PUBLIC_KEY_PEM TOKENS_JSON START_AT`` prints the
jtis it accepted as a JSON list. ``START_AT`` (epoch seconds) lines several workers up on one moment.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from pathlib import Path

import jwt

from service.storage.db import make_engine
from service.storage.replay import DatabaseReplayCache
from tests.support.tokens import BASE, ISS, SERVICE_PATH


async def _accept_all(cache: DatabaseReplayCache, key: bytes, tokens: list[str]) -> list[str]:
    limit = asyncio.Semaphore(8)

    async def one(token: str) -> str | None:
        claims = jwt.decode(token, key, algorithms=["ES384"], audience=BASE + SERVICE_PATH, issuer=ISS)
        async with limit:
            fresh = await cache.check_and_store(claims["jti"], claims["iss"], float(claims["exp"]))
        return str(claims["jti"]) if fresh else None

    return [jti for jti in await asyncio.gather(*(one(t) for t in tokens)) if jti is not None]


def main(argv: list[str]) -> None:
    url, key_path, tokens_path, start_at = argv
    engine = make_engine(url)
    cache = DatabaseReplayCache(engine)
    key = Path(key_path).read_bytes()
    tokens = json.loads(Path(tokens_path).read_text())
    time.sleep(max(0.0, float(start_at) - time.time()))
    print(json.dumps(asyncio.run(_accept_all(cache, key, tokens))))
    engine.dispose()


if __name__ == "__main__":
    main(sys.argv[1:])
