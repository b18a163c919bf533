#!/usr/bin/env bash
# Rebuild static/vendor from the npm registry. The copied files are committed, so nothing is
# fetched at run time (the machines have no internet); run this only to upgrade them.
set -euo pipefail
HTMX_VERSION=2.0.11
BPMN_JS_VERSION=18.31.1
repo="$(cd "$(dirname "$0")/.." && pwd)"
build="$(mktemp -d)"
trap 'rm -rf "$build"' EXIT
cd "$build"
npm init -y >/dev/null
npm install --no-audit --no-fund "htmx.org@$HTMX_VERSION" "bpmn-js@$BPMN_JS_VERSION" >/dev/null
out="$repo/static/vendor"
rm -rf "$out/htmx" "$out/bpmn-js"
mkdir -p "$out/htmx" "$out/bpmn-js"
cp node_modules/htmx.org/dist/htmx.min.js "$out/htmx/"
cp node_modules/htmx.org/LICENSE "$out/htmx/LICENSE"
cp node_modules/bpmn-js/dist/bpmn-navigated-viewer.production.min.js "$out/bpmn-js/"
cp node_modules/bpmn-js/dist/assets/diagram-js.css node_modules/bpmn-js/dist/assets/bpmn-js.css "$out/bpmn-js/"
cp -r node_modules/bpmn-js/dist/assets/bpmn-font "$out/bpmn-js/"
cp node_modules/bpmn-js/LICENSE "$out/bpmn-js/LICENSE"
echo "vendored htmx.org $HTMX_VERSION and bpmn-js $BPMN_JS_VERSION into $out"
