#!/usr/bin/env bash
# Installs what TokenWatch needs on a Debian machine that already has Swift 6.x:
#   scripts/install-deps.sh          build and run (libcurl, SQLite, CA certificates)
#   scripts/install-deps.sh --test   also what the tests use (aiosmtpd, a real SMTP server)
set -euo pipefail

packages=(libcurl4-openssl-dev libsqlite3-dev sqlite3 ca-certificates pkg-config)
sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi

missing=()
for package in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if [ "${#missing[@]}" -gt 0 ]; then
    export DEBIAN_FRONTEND=noninteractive
    $sudo apt-get update -qq
    $sudo apt-get install -y -qq "${missing[@]}"
fi

if [ "${1:-}" = "--test" ]; then
    if ! python3 -c 'import aiosmtpd' 2>/dev/null; then
        python3 -m pip install --quiet aiosmtpd || python3 -m pip install --quiet --break-system-packages aiosmtpd
    fi
fi
