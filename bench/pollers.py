"""Row 4: 500 browsers polling an instance's live fragment every ~2 s, as htmx does (If-None-Match).

    .venv/bin/python -m bench.pollers [--size tiny|default]

Each browser has its own connection and polls on a 2 s beat from a random start. The
same browsers first poll /healthz (the baseline), then the live fragment, 20 s each.
Prints requests answered per second against the offered rate, and the p99 latency.
Goal: all served, p99 < 100 ms.
"""

from __future__ import annotations

import asyncio
import random
import re
import time
from urllib.parse import urlsplit

from bench.stack import (
    BROWSER_AGENT,
    Load,
    create_workflow,
    note,
    percentile,
    result,
    running_stack,
    seed_instances,
    size_parser,
)

INTERVAL = 2.0


def poll(url: str, headers: dict[str, str], browsers: int, seconds: float) -> tuple[Load, int]:
    """`browsers` pollers, one keep-alive connection each, GET `url` every INTERVAL s for `seconds`.

    A bare HTTP/1.1 client on asyncio streams: a few µs of CPU a request, so 500 browsers
    measure the server, not the client. When the server has closed the idle connection
    (keep-alive ran out), the browser reconnects and resends, as a browser does; those
    reconnects are counted. Returns the load and the reconnect count.
    """
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    request = (
        f"GET {parts.path} HTTP/1.1\r\nHost: {host}:{port}\r\n"
        + "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        + "\r\n"
    ).encode()

    async def run() -> tuple[Load, int]:
        latencies: list[float] = []
        finished: list[float] = []
        errors = reconnects = 0
        started = time.perf_counter()

        async def exchange(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> int:
            writer.write(request)
            await writer.drain()
            head = await reader.readuntil(b"\r\n\r\n")
            status = int(head.split(b" ", 2)[1])
            length = re.search(rb"(?i)\r\ncontent-length:\s*(\d+)", head)
            if length:
                await reader.readexactly(int(length.group(1)))
            if re.search(rb"(?i)\r\nconnection:\s*close", head):
                raise ConnectionResetError("server closes")
            return status

        async def browser() -> None:
            nonlocal errors, reconnects
            beat = started + random.uniform(0, INTERVAL)
            connection: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None
            while beat < started + seconds:
                await asyncio.sleep(max(0.0, beat - time.perf_counter()))
                began = time.perf_counter()
                for attempt in (1, 2):
                    try:
                        if connection is None:
                            connection = await asyncio.open_connection(host, port)
                        status = await asyncio.wait_for(exchange(*connection), 30)
                        errors += status not in (200, 304)
                        finished.append(time.perf_counter())
                        latencies.append(finished[-1] - began)
                        break
                    except (TimeoutError, OSError, asyncio.IncompleteReadError, ValueError, IndexError):
                        if connection is not None:
                            connection[1].close()
                        connection = None
                        if attempt == 2:
                            errors += 1
                        else:
                            reconnects += 1
                beat += INTERVAL
            if connection is not None:
                connection[1].close()

        await asyncio.gather(*(browser() for _ in range(browsers)))
        served = sum(1 for t in finished if t <= started + seconds)  # answered within the window
        return Load(
            served, seconds, 1000 * sum(latencies) / max(len(latencies), 1), 1000 * percentile(latencies, 99), errors
        ), reconnects

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
        headers = {
            "Cookie": stack.cookie_header(web),
            "HX-Request": "true",
            "If-None-Match": etag,
            "User-Agent": BROWSER_AGENT,
        }
        health, health_reconnects = poll(f"{stack.url}/healthz", {}, browsers, seconds)
        live, live_reconnects = poll(f"{stack.url}{path}", headers, browsers, seconds)
        for label, load, reconnects in (
            ("/healthz", health, health_reconnects),
            ("live fragment", live, live_reconnects),
        ):
            note(
                f"{label}: {load.rate:.0f} of {offered:.0f} req/s offered, mean {load.mean_ms:.0f} ms, "
                f"p99 {load.p99_ms:.0f} ms, {load.errors} errors, {reconnects} reconnects (keep-alive ran out)"
            )
        result(
            f"{browsers} browsers polling the live fragment every {INTERVAL:.0f} s",
            f"{live.rate:.0f} of {offered:.0f} req/s served, p99 {live.p99_ms:.0f} ms",
            live.rate / health.rate,
            f"/healthz polled alike: {health.rate:.0f} req/s, p99 {health.p99_ms:.0f} ms",
            "all served, p99 < 100 ms",
        )


if __name__ == "__main__":
    main()
