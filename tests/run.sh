#!/usr/bin/env bash
# The test command (README, CI): installs prerequisites, builds the test guest, runs every test
# — unit and integration, real QEMU guests under TCG — and ends with "N passed, N failed".
set -euo pipefail
cd "$(dirname "$0")/.."

packaging/install-deps.sh
tests/guest/build.sh >/dev/null
# Test what ships: the Native AOT daemon and CLI.
packaging/build.sh
export WORKSPACES_DAEMON=$PWD/artifacts/workspacesd/workspacesd WORKSPACES_CLI=$PWD/artifacts/bin/ws

out=$(mktemp)
trap 'rm -f "$out"' EXIT
set +e
dotnet test Workspaces.sln -c Release --nologo --logger "console;verbosity=normal" 2>&1 | tee "$out"
status=${PIPESTATUS[0]}
set -e

summary=$(grep -E 'Failed: +[0-9]+, Passed: +[0-9]+' "$out" | tail -n1)
failed=$(sed -E 's/.*Failed: +([0-9]+).*/\1/' <<<"$summary")
passed=$(sed -E 's/.*Passed: +([0-9]+).*/\1/' <<<"$summary")
skipped=$(sed -E 's/.*Skipped: +([0-9]+).*/\1/' <<<"$summary")
echo "${passed:-0} passed, ${failed:-0} failed, ${skipped:-0} skipped"
exit "$status"
