#!/usr/bin/env bash
# The soak test for MINUTES (default 30): four workers doing random lifecycle actions on real guests
# while the daemon is killed every ~2 minutes; then every workspace must start, every image verify,
# and nothing may leak. The test command (tests/run.sh) runs the same test for 5 minutes.
#   tests/soak/run.sh [MINUTES]
set -euo pipefail
cd "$(dirname "$0")/../.."
source tests/prepare.sh
export WORKSPACES_SOAK_MINUTES=${1:-30}
exec dotnet test tests/Workspaces.Tests -c Release --nologo --filter "FullyQualifiedName~SoakTests" --logger "console;verbosity=detailed"
