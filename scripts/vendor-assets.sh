#!/usr/bin/env bash
# Rebuild static/vendor from the npm registry. The copied files are committed, so nothing is
# fetched at run time (the machines have no internet); run this only to upgrade them.
set -euo pipefail
HTMX_VERSION=2.0.11
BPMN_JS_VERSION=18.31.1
AUTO_LAYOUT_VERSION=1.3.0
ESBUILD_VERSION=0.28.2
repo="$(cd "$(dirname "$0")/.." && pwd)"
build="$(mktemp -d)"
trap 'rm -rf "$build"' EXIT
cd "$build"
npm init -y >/dev/null
npm install --no-audit --no-fund "htmx.org@$HTMX_VERSION" "bpmn-js@$BPMN_JS_VERSION" \
  "bpmn-auto-layout@$AUTO_LAYOUT_VERSION" "esbuild@$ESBUILD_VERSION" >/dev/null
out="$repo/static/vendor"
rm -rf "$out/htmx" "$out/bpmn-js" "$out/bpmn-auto-layout"
mkdir -p "$out/htmx" "$out/bpmn-js" "$out/bpmn-auto-layout"
cp node_modules/htmx.org/dist/htmx.min.js "$out/htmx/"
cp node_modules/htmx.org/LICENSE "$out/htmx/LICENSE"
cp node_modules/bpmn-js/dist/bpmn-navigated-viewer.production.min.js "$out/bpmn-js/"
cp node_modules/bpmn-js/dist/assets/diagram-js.css node_modules/bpmn-js/dist/assets/bpmn-js.css "$out/bpmn-js/"
cp -r node_modules/bpmn-js/dist/assets/bpmn-font "$out/bpmn-js/"
cp node_modules/bpmn-js/LICENSE "$out/bpmn-js/LICENSE"
# bpmn-auto-layout ships ES modules only: bundle it (and bpmn-moddle, its one dependency tree) into
# one file that sets window.BpmnAutoLayout, so the page loads it with a plain <script src> (strict CSP).
echo 'import { layoutProcess } from "bpmn-auto-layout"; window.BpmnAutoLayout = { layoutProcess: layoutProcess };' > entry.js
./node_modules/.bin/esbuild entry.js --bundle --format=iife --minify --target=es2018 --legal-comments=eof \
  --outfile="$out/bpmn-auto-layout/bpmn-auto-layout.min.js"
echo "vendored htmx.org $HTMX_VERSION, bpmn-js $BPMN_JS_VERSION and bpmn-auto-layout $AUTO_LAYOUT_VERSION into $out"
echo "keep static/vendor/bpmn-auto-layout/LICENSE (MIT notices of the bundled packages)"
