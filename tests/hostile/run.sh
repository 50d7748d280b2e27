#!/usr/bin/env bash
# Replays the corpus of hostile requests (long, malformed, truncated, stalled, garbled; as root and as an
# admitted user) against a fresh daemon and checks: no 5xx, other clients answered throughout, RSS back
# within 10%, nothing left behind. The test command runs it too; this runs it alone, with its report.
set -euo pipefail
cd "$(dirname "$0")/../.."
source tests/prepare.sh
exec dotnet test tests/Workspaces.Tests -c Release --nologo --filter "FullyQualifiedName~HostileReplayTests" --logger "console;verbosity=detailed"
