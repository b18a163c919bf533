"""How cheap are the polled fragments? Times them against the full list page, in one run.

    .venv/bin/python bench/polling_partials.py [--rows 300] [--rounds 200]

Prints the mean time per request of each endpoint and its ratio to the full
/workflows page measured in the same run (the baseline). Not part of the test run.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from flask_migrate import upgrade  # noqa: E402

from app import create_app  # noqa: E402
from app.extensions import db  # noqa: E402
from app.models import User, Workflow  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=200)
    args = parser.parse_args()
    tmp = tempfile.mkdtemp()
    app = create_app(instance_dir=tmp, database_url=f"sqlite:///{tmp}/bench.db", secret_key="bench",
                     log_level="WARNING", shar_log_level="WARNING")
    app.config["WTF_CSRF_ENABLED"] = False
    with app.app_context():
        upgrade()
        user = User(email="bench@example.com", role="admin")
        user.set_password("bench-pass")
        db.session.add(user)
        db.session.add_all(Workflow(name=f"Flow{n:04d}", version=1, bpmn_xml="<x/>", bpmn_sha256=str(n),
                                    status="creating" if n % 10 == 0 else "active") for n in range(args.rows))
        db.session.commit()
        badge_id = db.session.query(Workflow.id).filter_by(status="creating").first()[0]
    client = app.test_client()
    client.post("/login", data={"email": "bench@example.com", "password": "bench-pass"})
    rows_etag = client.get("/workflows/_rows").headers["ETag"]
    badge_etag = client.get(f"/workflows/_badge/{badge_id}").headers["ETag"]
    cases = {
        "full page /workflows (baseline)": ("/workflows", {}),
        "list fragment, changed (200)": ("/workflows/_rows", {}),
        "list fragment, unchanged (304)": ("/workflows/_rows", {"If-None-Match": rows_etag}),
        "one badge, changed (200)": (f"/workflows/_badge/{badge_id}", {}),
        "one badge, unchanged (304)": (f"/workflows/_badge/{badge_id}", {"If-None-Match": badge_etag}),
    }
    results = {}
    for label, (url, headers) in cases.items():
        samples = []
        for _ in range(args.rounds):
            started = time.perf_counter()
            response = client.get(url, headers=headers)
            samples.append(time.perf_counter() - started)
            assert response.status_code in (200, 304), (url, response.status_code)
        results[label] = (statistics.mean(samples), response.status_code, len(response.get_data()))
    baseline = results["full page /workflows (baseline)"][0]
    print(f"{args.rows} workflows, {args.rounds} requests each (Flask test client, SQLite)")
    for label, (mean, status, size) in results.items():
        print(f"{label:34s} {mean * 1000:8.2f} ms  {size:8d} bytes  HTTP {status}  ratio {mean / baseline:5.2f}")


if __name__ == "__main__":
    main()
