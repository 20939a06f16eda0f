"""The baseline: a bare ``httpx.AsyncClient`` loop sending a recorded list of requests, in order.

Run as a script (``python bench/bare_loop.py REQUESTS.json``) so it imports httpx and nothing
of ours: it is what a hand-written client costs for the same requests. Each answer is
decoded as JSON and the step's assertion checked, as the runner does. Probe bodies are
generated the way the scenario language defines them (``random.Random(seed)``, 1 MiB chunks);
the harness compares the echoed SHA-256 with the runner's, so a changed generator shows up.
"""

from __future__ import annotations

import asyncio
import json
import random
import sys
from collections.abc import AsyncIterator
from typing import Any

import httpx

_CHUNK = 1024 * 1024


async def _generated(size: int, seed: int) -> AsyncIterator[bytes]:
    rng = random.Random(seed)
    while size:
        n = min(_CHUNK, size)
        yield rng.randbytes(n)
        size -= n


def _lookup(doc: Any, path: str) -> Any:
    for alternative in path.split("|"):
        node = doc
        try:
            for part in alternative.split("."):
                node = node[int(part)] if isinstance(node, list) else node[part]
        except (KeyError, IndexError, ValueError, TypeError):
            continue
        return node
    raise AssertionError(f"{path} not found")


def _check(doc: Any, expect: dict[str, Any]) -> None:
    actual, op, expected = _lookup(doc, expect["path"]), expect["op"], expect["expected"]
    ok = {
        "equals": lambda: actual == expected or str(actual) == str(expected),
        "min": lambda: float(actual) >= float(expected),
        "max": lambda: float(actual) <= float(expected),
        "exists": lambda: True,
    }[op]()
    if not ok:
        raise AssertionError(f"{expect['path']}: {actual!r} fails {op} {expected!r}")


async def main(path: str) -> None:
    with open(path, encoding="utf-8") as handle:
        requests = json.load(handle)
    echoes = []
    async with httpx.AsyncClient(trust_env=False, timeout=60.0) as client:
        for entry in requests:
            if "payload" in entry:
                content: Any = _generated(entry["payload"]["size"], entry["payload"]["seed"])
            else:
                content = None if entry["body"] is None else entry["body"].encode()
            response = await client.request(entry["method"], entry["url"], headers=entry["headers"], content=content)
            response.raise_for_status()
            doc = response.json()
            for expect in entry.get("expect", ()):
                _check(doc, expect)
            if "payload" in entry:
                echoes.append("sha256:" + doc["sha256"])
    print(json.dumps({"requests": len(requests), "probe_sha256": echoes}))


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1]))
