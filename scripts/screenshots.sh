#!/usr/bin/env bash
# Screenshots of the demo's report in headless Chromium, for docs/ and for looking at:
#   docs/report.png          the report at 1440 px wide
#   docs/report-mobile.png   the report at 390 px (a phone)
#   docs/report-print.png    the first page of its PDF print (Chromium --print-to-pdf, pdftoppm)
#   docs/report-index.png    reports/index.html after two runs, at 1440 px
# and prints document.documentElement.scrollWidth at 390 px (it must be <= 390).
#
#   scripts/screenshots.sh [OUTDIR]          (default: docs)
#   REPORT=path/to/report.html scripts/screenshots.sh /tmp/shots   (any report instead of the demo's)
#
# Needs chromium and pdftoppm (poppler-utils): scripts/install-deps.sh --test installs both.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-docs}
mkdir -p "$out"
chromium=$(command -v chromium || command -v chromium-browser || command -v google-chrome) \
    || { echo "no chromium: apt-get install chromium (or scripts/install-deps.sh --test)" >&2; exit 2; }
command -v pdftoppm >/dev/null || { echo "no pdftoppm: apt-get install poppler-utils" >&2; exit 2; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
browser=("$chromium" --headless --no-sandbox --disable-gpu --hide-scrollbars --force-device-scale-factor=1)

report=${REPORT:-}
if [ -z "$report" ]; then
    swift build --product tokenwatch >/dev/null
    bin="$(swift build --show-bin-path)/tokenwatch"
    # Two demo runs in one directory: the second report's index has a trend.
    "$bin" demo --dir "$work/demo" >/dev/null 2>&1
    "$bin" demo --dir "$work/demo" >"$work/demo.txt" 2>/dev/null
    report=$(sed -n 's/^report: *//p' "$work/demo.txt")
fi
[ -f "$report" ] || { echo "no report at '$report'" >&2; exit 1; }

# Headless Chromium makes no window narrower than 500 px: the phone view is the report in a
# 390 px iframe (media queries follow the iframe's width), cut to 390 px.
phone() {  # phone HTML HEIGHT: a page showing the report at 390 px in an iframe
    printf '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>390 px</title><style>body{margin:0}iframe{display:block;border:0;width:390px;height:%spx}</style></head><body><iframe id="f" src="file://%s"></iframe>%s</body></html>' \
        "$2" "$1" "${3:-}"
}
# Tall windows, so the screenshots show the header, the companies and the first pages.
"${browser[@]}" --window-size=1440,2200 --screenshot="$out/report.png" "file://$report" 2>/dev/null
phone "$report" 3200 >"$work/phone.html"
"${browser[@]}" --allow-file-access-from-files --window-size=500,3200 --screenshot="$work/phone.png" \
    "file://$work/phone.html" 2>/dev/null
python3 scripts/crop-png.py "$work/phone.png" "$out/report-mobile.png" 390
"${browser[@]}" --no-pdf-header-footer --print-to-pdf="$work/report.pdf" "file://$report" 2>/dev/null
pdftoppm -png -r 100 -f 1 -l 1 "$work/report.pdf" "$work/print"
mv "$work"/print-*1.png "$out/report-print.png"
index="$(dirname "$report")/index.html"
if [ -f "$index" ]; then
    "${browser[@]}" --window-size=1440,1400 --screenshot="$out/report-index.png" "file://$index" 2>/dev/null
fi

# The width check: the iframe's document measured from the outer page, written into the DOM.
probe='<script>document.getElementById("f").addEventListener("load",function(){var p=document.createElement("p");p.id="probe";p.textContent=this.contentDocument.documentElement.scrollWidth+" "+this.contentWindow.innerWidth;document.body.appendChild(p);});</script>'
phone "$report" 900 "$probe" >"$work/probe.html"
read -r width viewport < <("${browser[@]}" --allow-file-access-from-files --window-size=500,900 \
    --virtual-time-budget=3000 --dump-dom "file://$work/probe.html" 2>/dev/null \
    | sed -n 's|.*<p id="probe">\([0-9]*\) \([0-9]*\)</p>.*|\1 \2|p')
echo "at ${viewport:-?} px: document.documentElement.scrollWidth = ${width:-?}"
echo "wrote $out/report.png $out/report-mobile.png $out/report-print.png${index:+ $out/report-index.png}"
[ -n "$width" ] && [ "$width" -le 390 ]
