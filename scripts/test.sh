#!/usr/bin/env bash
# The test command: builds everything (a warning in our own code fails the build), then runs
# the unit and integration tests — real SQLite files, a real PostgreSQL started by the tests,
# libcurl against the Graph simulator on loopback, a real SMTP server (aiosmtpd), and the built
# binary run end to end — then validates the Kubernetes manifests against the schema.
set -euo pipefail
cd "$(dirname "$0")/.."

log=$(mktemp)
trap 'rm -f "$log"' EXIT
swift build --build-tests 2>&1 | tee "$log"
# Dependencies' warnings are theirs; ours must be none.
if grep -E "^$(pwd)/(Sources|Tests)/.*: warning:" "$log"; then
    echo "error: the build has warnings in Sources/ or Tests/ (listed above)" >&2
    exit 1
fi
swift test --skip-build "$@"
# The binary-level tests again with the store on PostgreSQL (a throw-away server the tests start):
# every suite built on PipelineHarness then runs against a fresh PostgreSQL database.
TOKENWATCH_TEST_STORE=postgres swift test --skip-build --filter TokenWatchIntegrationTests
scripts/validate-kubernetes.sh
# Formatting is part of green: the toolchain's swift-format with .swift-format.
scripts/check-format.sh Sources Tests Package.swift
