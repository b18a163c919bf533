#!/usr/bin/env bash
# Install the test dependencies and run the whole test suite (the README's test command).
# Needs PostgreSQL on 127.0.0.1:5432 and Redis on 127.0.0.1:6379 (.ci/run starts them if down).
#   scripts/test.sh            ruff (lint, format check), then every test on two workers (what CI runs)
#   scripts/test.sh --fast     the fast tier: no PostgreSQL, Redis, consumer process or browser,
#                              on two workers, in under a minute (tests/conftest.py marks the tiers)
# Other arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
fast=false
if [ "${1:-}" = "--fast" ]; then
  fast=true
  shift
fi

# Browser tests drive Debian's Chromium (no browser is downloaded by the test tools);
# the seed's CLI loop test needs jq. The fast tier needs neither.
missing=()
$fast || command -v chromium >/dev/null 2>&1 || missing+=(chromium)
$fast || command -v jq >/dev/null 2>&1 || missing+=(jq)
$fast || command -v npm >/dev/null 2>&1 || missing+=(nodejs npm)
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}") >/dev/null
  else
    echo "missing: ${missing[*]} (sudo apt-get install -y ${missing[*]})" >&2
    exit 1
  fi
fi

python3 -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e '.[test]'
# The single sign-on tests start a real OpenID provider (npm oidc-provider on Debian's Node); the fast tier needs none.
if ! $fast && [ ! -d tests/oidc_provider/node_modules ]; then
  npm ci --prefix tests/oidc_provider --no-audit --no-fund --silent
fi
# Byte-compile the app once: the suite starts hundreds of processes (consumers, engines, gunicorn), and where
# PYTHONDONTWRITEBYTECODE is set (this machine kind sets it) each would compile every module again (0.2 s of CPU).
.venv/bin/python -m compileall -q -j 0 app bench tests wsgi.py >/dev/null
# Lint and format first (ruff, configured in pyproject.toml): a finding fails the run before any test.
.venv/bin/ruff check --quiet .
.venv/bin/ruff format --check --quiet .
# Two workers (pytest-xdist): every test has its own database, queue names and ports, and most of the
# suite waits on processes and servers: about 13 minutes for 1,850 tests here; worksteal keeps both workers busy to the end.
if $fast; then
  exec .venv/bin/python -m pytest -m fast -n 2 "$@"
fi
exec .venv/bin/python -m pytest -n 2 --dist worksteal "$@"
