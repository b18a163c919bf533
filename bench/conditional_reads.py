"""Row 3: max throughput of an unchanged instance read with If-None-Match (304) vs `/healthz`.

    .venv/bin/python -m bench.conditional_reads [--size tiny|default] [--connections 32]

Three reads, each answered 304 with the ETag of a first read: the API instance, the
instance's live fragment, and a workflow's badge fragment. wrk, 32 connections (the issue's
measurement; sessions up to 6 used 16). Rounds of
/healthz then each read (5 s each, 3 rounds): a single pass swung the ratios by ±0.15 on this
machine (the baseline drifted between its phase and the others), so each round's ratio is taken
against the /healthz of the same round and the median of the rounds is the figure.
Goal: each ≥ 0.7× /healthz requests per second.
"""

from __future__ import annotations

import statistics

from bench.stack import (
    create_workflow,
    note,
    result,
    running_stack,
    seed_instances,
    size_parser,
    wrk,
)


def main() -> None:
    parser = size_parser(__doc__ or "")
    parser.add_argument("--connections", type=int, default=32, help="wrk's connections (the issue measured 32)")
    args = parser.parse_args()
    seconds, rounds = {"tiny": (2, 1), "default": (5, 3), "large": (10, 5)}[args.size]
    with running_stack() as stack:
        workflow_id = create_workflow(stack)
        seed_instances(stack, workflow_id, 200)
        instance_id = stack.scalar("SELECT id FROM workflow_instances ORDER BY created_at DESC LIMIT 1")
        api, web = stack.api(), stack.web()
        cookie = {"Cookie": stack.cookie_header(web)}
        cases = {
            "API instance": (f"/api/shar/instances/{instance_id}", stack.auth, api),
            "live fragment": (f"/instances/{instance_id}/_live", cookie, web),
            "badge fragment": (f"/workflows/_badge/{workflow_id}", cookie, web),
        }
        etags = {label: client.get(path).headers["ETag"] for label, (path, _, client) in cases.items()}
        ratios: dict[str, list[float]] = {label: [] for label in cases}
        rates: dict[str, list[float]] = {label: [] for label in ["/healthz", *cases]}
        for round_number in range(1, rounds + 1):
            health = wrk(f"{stack.url}/healthz", seconds=seconds, connections=args.connections)
            rates["/healthz"].append(health.rate)
            line = [f"round {round_number}: /healthz {health.rate:.0f} req/s"]
            for label, (path, headers, _client) in cases.items():
                load = wrk(
                    f"{stack.url}{path}",
                    seconds=seconds,
                    connections=args.connections,
                    headers={**headers, "If-None-Match": etags[label]},
                    expect=304,
                )
                rates[label].append(load.rate)
                ratios[label].append(load.rate / health.rate)
                line.append(f"{label} {load.rate:.0f} ({load.rate / health.rate:.2f}x, p99 {load.p99_ms:.0f} ms)")
            note("; ".join(line))
        for label, (path, _, client) in cases.items():
            answer = client.get(path, headers={"If-None-Match": etags[label]}).status_code
            result(
                f"{label} 304 throughput (answers HTTP {answer})",
                f"{statistics.median(rates[label]):.0f} req/s",
                statistics.median(ratios[label]),
                f"/healthz of the same round ({statistics.median(rates['/healthz']):.0f} req/s; median of "
                f"{rounds} rounds of {args.connections} connections, "
                f"each {min(ratios[label]):.2f}-{max(ratios[label]):.2f}x)",
                ">= 0.7x",
            )


if __name__ == "__main__":
    main()
