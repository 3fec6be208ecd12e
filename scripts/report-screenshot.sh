#!/usr/bin/env bash
# Renders a report.html in headless Chromium (Debian's `chromium`, installed if missing) to a
# PNG screenshot, and checks the screenshot shows more than a blank page.
#   scripts/report-screenshot.sh REPORT.html OUT.png
set -euo pipefail
html="$(realpath "${1:?usage: $0 REPORT.html OUT.png}")"
png="${2:?usage: $0 REPORT.html OUT.png}"

browser="$(command -v chromium || command -v chromium-browser || true)"
if [[ -z "$browser" ]]; then
  echo "report-screenshot.sh: installing Debian's chromium" >&2
  if [[ $(id -u) -ne 0 ]]; then sudo=sudo; else sudo=; fi
  $sudo apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq chromium >&2
  browser="$(command -v chromium)"
fi

# A tall window so the first charts are in the picture; --no-sandbox because CI runs as root.
"$browser" --headless --no-sandbox --disable-gpu --hide-scrollbars \
  --window-size=1100,2400 --screenshot="$png" "file://$html" >/dev/null 2>&1

size=$(stat -c %s "$png")
# A blank page of that size compresses to a few kB; charts make it far larger.
if (( size < 60000 )); then
  echo "report-screenshot.sh: $png is only $size bytes; the page looks blank" >&2
  exit 1
fi
echo "screenshot: $png ($size bytes)"
