"""`python -m app.sharlite`: run the local SHAR engine until SIGINT or SIGTERM."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import threading

from app.sharlite.server import EngineServer
from app.sharlite.variables import MAX_VARIABLES_BYTES


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m app.sharlite", description="A local SHAR gateway that runs BPMN.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--db", default="sharlite.db", help="SQLite file keeping workflows and instances")
    parser.add_argument("--task-delay", type=float, default=0.0, help="seconds each service task takes")
    parser.add_argument("--latency-ms", type=int, default=0, help="added to every response")
    parser.add_argument("--error-rate", type=float, default=0.0, help="fraction of API calls answered 500")
    parser.add_argument("--outage", action="store_true", help="start in outage: every API call answers 503")
    parser.add_argument(
        "--max-variables-bytes",
        type=int,
        default=MAX_VARIABLES_BYTES,
        help="an instance's variables as compact JSON: over it, the instance fails",
    )
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s sharlite %(message)s")
    server = EngineServer(
        args.db,
        args.host,
        args.port,
        task_delay=args.task_delay,
        latency_ms=args.latency_ms,
        error_rate=args.error_rate,
        outage=args.outage,
        engine_options={"max_variables_bytes": args.max_variables_bytes},
    ).start()
    logging.info("listening on %s (db %s)", server.url, args.db)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    # Started by `flask shar up` where prctl is missing (app.core.children, not imported: this
    # package stays pure): stop once that parent is gone, as Linux's parent-death signal would.
    watched = os.environ.pop("SHARBOARD_WATCH_PARENT", "")
    while not stop.wait(0.5):
        if watched.isdigit() and os.getppid() != int(watched):
            break
    server.stop()


if __name__ == "__main__":
    main()
