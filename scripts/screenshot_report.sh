#!/usr/bin/env bash
# Render an eventstudy HTML report in headless Chromium and save a PNG screenshot.
# Needs Debian's chromium (apt-get install -y chromium). Usage:
#   scripts/screenshot_report.sh results/demo/report.html report.png [HEIGHT]
set -euo pipefail
report=$(realpath "$1"); png=$(realpath -m "${2:-report.png}"); height=${3:-2400}
profile=$(mktemp -d)
chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run --disable-background-networking \
  --disable-component-update --disable-sync --user-data-dir="$profile" --hide-scrollbars \
  --window-size=1280,"$height" --screenshot="$png" "file://$report" >/dev/null 2>&1
rm -rf "$profile"
echo "$png"
