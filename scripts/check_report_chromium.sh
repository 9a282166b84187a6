#!/usr/bin/env bash
# Opens a `convkit report` page in headless Chromium and checks that it renders, that every image
# on it loads, and that the console shows no message (an error or a failed load); optionally saves
# a screenshot.
#   scripts/check_report_chromium.sh REPORT/index.html [SCREENSHOT.png]
# Exit 0: all good; 1: a check failed (what failed is printed); 2: no chromium here.
set -euo pipefail
page=$(realpath "$1")
browser=$(command -v chromium || command -v chromium-browser || true)
if [[ -z $browser ]]; then
  echo "check_report_chromium: chromium is not installed (scripts/install_deps.sh installs it)"
  exit 2
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# --no-sandbox: CI runs as root, where Chromium's sandbox refuses to start.
flags=(--headless --no-sandbox --disable-gpu --disable-dev-shm-usage --no-first-run
       --user-data-dir="$tmp/profile" --virtual-time-budget=10000 --enable-logging=stderr --v=0)
if ! timeout 120 "$browser" "${flags[@]}" --dump-dom "file://$page" >"$tmp/dom.html" 2>"$tmp/log.txt"; then
  echo "check_report_chromium: chromium failed on $page:"
  tail -20 "$tmp/log.txt"
  exit 1
fi
if ! grep -q 'data-images-ok="yes"' "$tmp/dom.html"; then
  echo "check_report_chromium: $page: not every image loaded, or the page's check did not run"
  grep -o '<body[^>]*>' "$tmp/dom.html" || true
  exit 1
fi
images=$(grep -o 'data-images="[0-9]*"' "$tmp/dom.html" | head -1 | tr -dc 0-9)
if grep -E 'CONSOLE|Uncaught|ERR_FILE_NOT_FOUND' "$tmp/log.txt"; then
  echo "check_report_chromium: $page: the console reported the lines above"
  exit 1
fi
if [[ $# -ge 2 ]]; then
  timeout 120 "$browser" "${flags[@]}" --hide-scrollbars --window-size=1280,2200 \
    --screenshot="$(realpath -m "$2")" "file://$page" >/dev/null 2>&1
fi
echo "check_report_chromium: $page renders, $images images load, no console messages"
