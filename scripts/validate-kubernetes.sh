#!/usr/bin/env bash
# Validates every manifest in deploy/kubernetes against the Kubernetes OpenAPI schema with
# kubernetes-validate (PyPI; scripts/install-deps.sh --test installs it). --strict also
# refuses fields the schema does not know — a misspelt or misplaced key that kubectl apply
# would drop without a word. Exits non-zero when any file fails (or the tool is missing).
#
#   scripts/validate-kubernetes.sh                          # against Kubernetes 1.30
#   KUBERNETES_VERSION=1.33.0 scripts/validate-kubernetes.sh
#
# 1.30 is the oldest version the manifests are written for: backoffLimitPerIndex and the
# FailIndex pod failure action (beta and on by default since 1.29) and the CronJob timeZone.
set -euo pipefail
cd "$(dirname "$0")/.."

version="${KUBERNETES_VERSION:-1.30.0}"
if ! command -v kubernetes-validate >/dev/null 2>&1; then
    echo "validate-kubernetes: kubernetes-validate is not installed: run scripts/install-deps.sh --test" >&2
    exit 2
fi
shopt -s nullglob
files=(deploy/kubernetes/*.yaml deploy/kubernetes/*.yml)
if [ "${#files[@]}" -eq 0 ]; then
    echo "validate-kubernetes: no manifests in deploy/kubernetes" >&2
    exit 1
fi
# One invocation for all files; it exits non-zero when any resource in any file fails.
if kubernetes-validate --strict --quiet --kubernetes-version "$version" "${files[@]}"; then
    echo "validate-kubernetes: ${#files[@]} files valid against Kubernetes $version (strict)"
else
    echo "validate-kubernetes: the manifests above do not validate against Kubernetes $version" >&2
    exit 1
fi
