"""Row 4: 500 browsers polling an instance's live fragment every ~2 s, as htmx does (If-None-Match).

    .venv/bin/python bench/pollers.py [--size tiny|default]

Each browser has its own connection and polls on a 2 s beat from a random start. The
same browsers first poll /healthz (the baseline), then the live fragment, 20 s each.
Prints requests answered per second against the offered rate, and the p99 latency.
Goal: all served, p99 < 100 ms.
"""
from __future__ import annotations

import asyncio
import random
import ssl
import time

import httpx

from stack import (Load, create_workflow, note, percentile, result, running_stack, seed_instances, size_parser)

INTERVAL = 2.0


def poll(url: str, headers: dict[str, str], browsers: int, seconds: float) -> Load:
    """`browsers` pollers, one connection each, GET `url` every INTERVAL s for `seconds`."""
    async def run() -> Load:
        latencies: list[float] = []
        finished: list[float] = []
        errors = 0
        # A client of its own per browser: one connection each (one shared pool of 500 costs the
        # client O(n) a request), all made before the clock starts, sharing one TLS context (unused).
        tls = ssl.create_default_context()
        clients = [httpx.AsyncClient(timeout=30, headers=headers, verify=tls) for _ in range(browsers)]
        started = time.perf_counter()

        async def browser(client: httpx.AsyncClient) -> None:
            nonlocal errors
            beat = started + random.uniform(0, INTERVAL)
            async with client:
                while beat < started + seconds:
                    await asyncio.sleep(max(0.0, beat - time.perf_counter()))
                    began = time.perf_counter()
                    try:
                        answer = await client.get(url)
                        errors += answer.status_code not in (200, 304)
                        finished.append(time.perf_counter())
                        latencies.append(finished[-1] - began)
                    except httpx.HTTPError:
                        errors += 1
                    beat += INTERVAL
        await asyncio.gather(*(browser(client) for client in clients))
        served = sum(1 for t in finished if t <= started + seconds)  # answered within the window
        return Load(served, seconds, 1000 * sum(latencies) / max(len(latencies), 1),
                    1000 * percentile(latencies, 99), errors)
    return asyncio.run(run())


def main() -> None:
    args = size_parser(__doc__ or "").parse_args()
    browsers, seconds = {"tiny": (20, 4), "default": (500, 20), "large": (500, 60)}[args.size]
    offered = browsers / INTERVAL
    with running_stack() as stack:
        workflow_id = create_workflow(stack)
        seed_instances(stack, workflow_id, 200)
        instance_id = stack.scalar("SELECT id FROM workflow_instances ORDER BY created_at DESC LIMIT 1")
        web = stack.web()
        path = f"/instances/{instance_id}/_live"
        etag = web.get(path).headers["ETag"]
        headers = {"Cookie": stack.cookie_header(web), "HX-Request": "true", "If-None-Match": etag}
        health = poll(f"{stack.url}/healthz", {}, browsers, seconds)
        live = poll(f"{stack.url}{path}", headers, browsers, seconds)
        for label, load in (("/healthz", health), ("live fragment", live)):
            note(f"{label}: {load.rate:.0f} of {offered:.0f} req/s offered, mean {load.mean_ms:.0f} ms, "
                 f"p99 {load.p99_ms:.0f} ms, {load.errors} errors")
        result(f"{browsers} browsers polling the live fragment every {INTERVAL:.0f} s",
               f"{live.rate:.0f} of {offered:.0f} req/s served, p99 {live.p99_ms:.0f} ms",
               live.rate / health.rate, f"/healthz polled alike: {health.rate:.0f} req/s, p99 {health.p99_ms:.0f} ms",
               "all served, p99 < 100 ms")


if __name__ == "__main__":
    main()
