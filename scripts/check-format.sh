#!/usr/bin/env bash
# Checks Swift formatting against .swift-format without changing any file.
# Exits non-zero when swift-format reports a finding (or cannot run).
#
#   scripts/check-format.sh              # Sources, Tests and Package.swift
#   scripts/check-format.sh FILE|DIR...  # only these
#
# `make format` rewrites files in place; run it on your own files only.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$#" -eq 0 ]; then
    set -- Sources Tests Package.swift
fi

if ! swift format --version >/dev/null 2>&1; then
    echo "check-format: 'swift format' is not available in this toolchain" >&2
    exit 2
fi

if swift format lint --strict --recursive --parallel --configuration .swift-format "$@"; then
    echo "check-format: no findings"
else
    echo "check-format: formatting findings above; 'make format' (or 'swift format format -i FILE') fixes most" >&2
    exit 1
fi
