"""The CSV export streams (#24): 200,000 instances on PostgreSQL are written through a server-side
cursor in batches, so the memory it takes stays flat, far under what holding the rows would take.

Two measures: tracemalloc's peak of Python objects while the first chunks are made, and the
process's resident peak (VmHWM, reset first), which also counts what the driver buffers in C: a
client-side cursor would hold the whole result there, unseen by tracemalloc."""

from __future__ import annotations

import time
import tracemalloc
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from app.core.extensions import db
from app.models import Workflow
from app.services import exports
from app.services.actors import CLI
from app.services.instance_listing import InstanceFilter
from tests.support.databases import pg_available, postgres_database
from tests.support.stack import build_app

ROWS = 200_000
NOTE = "x" * 300
TRACED = 20  # chunks of exports.BATCH rows  # each row carries a few hundred bytes, as real variables do


def _peak_rss_reset() -> None:
    Path("/proc/self/clear_refs").write_text("5")  # resets VmHWM to the current RSS


def _rss_kb(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise AssertionError(f"no {field} in /proc/self/status")


@pytest.mark.services
def test_200000_rows_export_in_flat_memory(overrides: dict[str, Any]) -> None:
    if not pg_available():
        pytest.fail("PostgreSQL is not reachable on 127.0.0.1:5432; .ci/run starts it")
    with postgres_database() as url:
        app = build_app(**{**overrides, "database_url": url})
        with app.app_context():
            workflow = Workflow(name="Bulk", version=1, bpmn_xml="<x/>", bpmn_sha256="h", summary={}, status="active")
            db.session.add(workflow)
            db.session.commit()
            started = time.monotonic()
            # One statement: generate_series makes the rows inside PostgreSQL.
            db.session.execute(
                text(
                    "INSERT INTO workflow_instances (id, workflow_id, status, variables, current_activities,"
                    " launch_requests, created_at, updated_at, progressed_at)"
                    " SELECT gen_random_uuid()::text, :workflow, 'completed',"
                    " jsonb_build_object('orderId', '=A' || n, 'amount', n, 'note', CAST(:note AS text)),"
                    " '[\"end\"]', 0, now() - n * interval '1 second', now(), now()"
                    " FROM generate_series(1, :rows) AS n"
                ),
                {"workflow": workflow.id, "note": NOTE, "rows": ROWS},
            )
            db.session.commit()
            chunks = exports.list_csv(
                InstanceFilter(workflow="Bulk"), actor=CLI, columns="orderId, amount, note", sort="oldest"
            )
            _peak_rss_reset()
            rss_before = _rss_kb("VmRSS")
            # Objects are traced over the first TRACED chunks only (tracing slows every allocation several
            # times): a load-all approach has every row in memory before its first chunk is out.
            tracemalloc.start()
            size = lines = 0
            first = last = ""
            peak = 0
            for number, chunk in enumerate(chunks):
                size += len(chunk)
                lines += chunk.count("\r\n")
                first = first or chunk[:400]
                last = chunk or last
                if number == TRACED:
                    peak = tracemalloc.get_traced_memory()[1]
                    tracemalloc.stop()
            rss_growth_mb = (_rss_kb("VmHWM") - rss_before) / 1024
            elapsed = time.monotonic() - started
            db.session.remove()
            db.engine.dispose()

    assert lines == ROWS + 1  # the header and every row
    assert first.startswith("id,workflow,version,status,") and ",'=A200000,200000," in first  # oldest first, defused
    assert ",'=A1,1," in last
    # The output is about 100 MB; the rows as Python objects would be several times that. Streaming
    # holds a batch: a few MB of objects, and no whole result buffered by the driver.
    assert size > 80_000_000
    assert 0 < peak < 8_000_000, f"tracemalloc peak {peak / 1e6:.1f} MB"
    assert rss_growth_mb < 40, f"resident peak grew {rss_growth_mb:.0f} MB"
    assert elapsed < 50, f"took {elapsed:.0f} s"
