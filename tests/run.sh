#!/usr/bin/env bash
# The test command (README, CI): installs prerequisites, builds the test guest, runs every test
# — unit and integration, real QEMU guests under TCG — and ends with "N passed, N failed".
set -euo pipefail
cd "$(dirname "$0")/.."

# Test what ships: the Native AOT daemon and CLI.
source tests/prepare.sh
export WORKSPACES_DEB=$PWD/$(packaging/build-deb.sh)

out=$(mktemp)
trap 'rm -f "$out"' EXIT
set +e
dotnet test Workspaces.sln -c Release --nologo --logger "console;verbosity=normal" 2>&1 | tee "$out"
status=${PIPESTATUS[0]}
set -e

# dotnet test's own summary ("Total tests: N", "Passed: N", "Failed: N") becomes the plain closing line.
count() { grep -E "^\s+$1: +[0-9]+\s*$" "$out" | tail -n1 | grep -oE '[0-9]+' || echo 0; }
passed=$(count Passed) failed=$(count Failed) skipped=$(count Skipped)
if ((status != 0 && failed == 0)); then failed=1; echo "the build or the test host failed before tests could report" >&2; fi
echo "${passed:-0} passed, ${failed:-0} failed, ${skipped:-0} skipped"
exit "$status"
