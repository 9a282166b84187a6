#!/usr/bin/env bash
# Opens a running `convkit serve` page at URL#selftest in headless Chromium: the page draws an
# image, sends it through the code a dropped file takes (/v1/predict, then /v1/explain), renders
# the top 5 and the Grad-CAM overlay, and marks <body data-selftest="ok">. Checks that mark and
# that the console shows no error; optionally saves a screenshot.
#   scripts/check_serve_chromium.sh http://127.0.0.1:PORT/ [SCREENSHOT.png]
# Exit 0: all good; 1: a check failed (what failed is printed); 2: no chromium here.
set -euo pipefail
url="${1%#*}#selftest"
browser=$(command -v chromium || command -v chromium-browser || true)
if [[ -z $browser ]]; then
  echo "check_serve_chromium: chromium is not installed (scripts/install_deps.sh installs it)"
  exit 2
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# --no-sandbox: CI runs as root, where Chromium's sandbox refuses to start.
flags=(--headless --no-sandbox --disable-gpu --disable-dev-shm-usage --no-first-run
       --user-data-dir="$tmp/profile" --virtual-time-budget=20000 --enable-logging=stderr --v=0)
if ! timeout 120 "$browser" "${flags[@]}" --dump-dom "$url" >"$tmp/dom.html" 2>"$tmp/log.txt"; then
  echo "check_serve_chromium: chromium failed on $url:"
  tail -20 "$tmp/log.txt"
  exit 1
fi
if ! grep -q 'data-selftest="ok"' "$tmp/dom.html"; then
  echo "check_serve_chromium: $url: the page's self-test did not pass"
  grep -o '<body[^>]*>' "$tmp/dom.html" || true
  grep -o '<div id="error">[^<]*' "$tmp/dom.html" || true
  tail -5 "$tmp/log.txt"
  exit 1
fi
if grep -E 'Uncaught|CONSOLE.*(rror|failed)' "$tmp/log.txt"; then
  echo "check_serve_chromium: $url: the console reported the lines above"
  exit 1
fi
if [[ $# -ge 2 ]]; then
  timeout 120 "$browser" "${flags[@]}" --hide-scrollbars --window-size=1000,700 \
    --screenshot="$(realpath -m "$2")" "$url" >/dev/null 2>&1
fi
top=$(grep -o 'data-top="[^"]*"' "$tmp/dom.html" | head -1)
cam=$(grep -o 'data-cam="[^"]*"' "$tmp/dom.html" | head -1)
echo "check_serve_chromium: $url: self-test ok ($top, $cam), no console errors"
