#!/usr/bin/env bash
# Builds the daemon and the CLI into artifacts/, both Native AOT: artifacts/workspacesd/workspacesd, artifacts/bin/ws.
set -euo pipefail
cd "$(dirname "$0")/.."
dotnet publish daemon/workspacesd.csproj -c Release -o artifacts/workspacesd --nologo -v quiet
dotnet publish client/ws/ws.csproj -c Release -o artifacts/bin --nologo -v quiet
rm -f artifacts/bin/*.dbg artifacts/bin/*.pdb artifacts/workspacesd/*.dbg artifacts/workspacesd/*.pdb artifacts/workspacesd/*.staticwebassets.*
echo "built artifacts/workspacesd/workspacesd and artifacts/bin/ws" >&2
