"""The layers hold: front doors reach only services, jobs never reach back into services,
the SHAR client and the job machinery stay behind the services, and no modules import
each other in a circle (function-level imports included)."""

from __future__ import annotations

import ast
from pathlib import Path

APP = Path(__file__).resolve().parents[2] / "app"
# app.python_api is the door of code beside the app (workers, plug-ins): the same rules hold for it.
FRONT_DOORS = ("app.web", "app.admin", "app.api", "app.cli", "app.python_api")


def _module_name(path: Path) -> str:
    parts = path.relative_to(APP.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports() -> dict[str, set[str]]:
    modules = {_module_name(path) for path in APP.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for path in APP.rglob("*.py"):
        name = _module_name(path)
        package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
        found: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                found.update(alias.name for alias in node.names if alias.name.startswith("app"))
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    base = ".".join(
                        package.split(".")[: len(package.split(".")) - node.level + 1] + ([base] if base else [])
                    )
                if base.startswith("app"):
                    # `from P import m` with m a module needs m; a name defined in P needs P.
                    for alias in node.names:
                        found.add(f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base)
        graph[name] = found
    return {name: {i for i in targets if i in modules and i != name} for name, targets in graph.items()}


def _under(module: str, *packages: str) -> bool:
    return any(module == p or module.startswith(p + ".") for p in packages)


def test_front_doors_reach_only_services_and_the_error_tree() -> None:
    forbidden = ("app.shar", "app.jobs", "app.jobs.queues", "app.tasks", "app.sharlite", "app.lifecycle.changes")
    wrong = {
        (m, i) for m, targets in _imports().items() if _under(m, *FRONT_DOORS) for i in targets if _under(i, *forbidden)
    }
    assert wrong == set()


def test_front_doors_run_no_sql() -> None:
    offenders = [
        str(p)
        for door in FRONT_DOORS
        for p in _door_files(door)
        if "db.session" in p.read_text() or "from sqlalchemy import" in p.read_text() or "select(" in p.read_text()
    ]
    assert offenders == []


def _door_files(door: str) -> list[Path]:
    path = APP.parent / door.replace(".", "/")
    return list(path.rglob("*.py")) if path.is_dir() else [path.with_suffix(".py")]


def test_job_machinery_never_imports_what_it_runs() -> None:
    wrong = {
        (m, i)
        for m, targets in _imports().items()
        if _under(m, "app.jobs")
        for i in targets
        if _under(i, "app.services", "app.tasks", *FRONT_DOORS)
    }
    assert wrong == set()


def test_data_and_machinery_never_reach_up_to_a_door() -> None:
    """Models, security, jobs, events, notifications and webhooks never import a page, the API or the
    CLI (a rate limit's 429 page is the web's error handler, not the limiter's)."""
    lower = (
        "app.models",
        "app.security",
        "app.jobs",
        "app.lifecycle.events",
        "app.notifications",
        "app.webhooks",
        "app.plugins",
        "app.shar",
        "app.lifecycle.states",
        "app.lifecycle.changes",
        "app.core.config",
        "app.core.extensions",
        "app.core.errors",
    )
    wrong = {
        (m, i) for m, targets in _imports().items() if _under(m, *lower) for i in targets if _under(i, *FRONT_DOORS)
    }
    assert wrong == set()


def test_health_is_one_package() -> None:
    """Liveness, readiness, SHAR's stored health, heartbeats read and the scrape's gauges live in
    app.services.health; the probes' routes (/healthz, /readyz, /metrics) are app.api.probes."""
    assert not (APP / "liveness.py").exists() and not (APP / "services" / "observability.py").exists()
    package = APP / "services" / "health"
    assert {p.stem for p in package.glob("*.py")} >= {"liveness", "readiness", "shar", "heartbeats", "gauges"}
    assert "def consumer_alive" not in (APP / "jobs" / "heartbeat.py").read_text()


def test_services_never_import_front_doors_or_tasks() -> None:
    wrong = {
        (m, i)
        for m, targets in _imports().items()
        if _under(m, "app.services")
        for i in targets
        if _under(i, "app.tasks", *FRONT_DOORS)
    }
    assert wrong == set()


def test_pure_libraries_stay_pure() -> None:
    graph = _imports()
    assert {i for m, t in graph.items() if _under(m, "app.bpmn") for i in t if not _under(i, "app.bpmn")} == set()
    assert {
        i for m, t in graph.items() if _under(m, "app.sharlite") for i in t if not _under(i, "app.sharlite", "app.bpmn")
    } == set()
    assert {i for m, t in graph.items() if m == "app.lifecycle.states" for i in t} == set()


def test_functions_and_modules_stay_small() -> None:
    """No function over 60 lines and no module over 500 in app/ (after `ruff format`, which keeps
    lines at 120 characters, so code cannot hide in long lines)."""
    too_long = []
    for path in APP.rglob("*.py"):
        text = path.read_text()
        if text.count("\n") > 500:
            too_long.append(f"{path.relative_to(APP.parent)}: {text.count(chr(10))} lines")
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.end_lineno - node.lineno >= 60:
                too_long.append(f"{path.relative_to(APP.parent)}:{node.lineno} {node.name}")
    assert too_long == []


def test_no_import_circles() -> None:
    graph = _imports()
    # Every edge counts, a package's own assembly included: models.x -> status -> app.models
    # (-> models.x) is a circle.
    edges = graph
    cycles: list[list[str]] = []
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == 1:
                cycles.append(stack[stack.index(nxt) :] + [nxt])
            elif nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = 2

    for module in sorted(edges):
        if module not in state:
            visit(module)
    assert cycles == []
