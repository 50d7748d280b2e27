#!/usr/bin/env bash
# The main job on its embedded default: install what is missing, build, start workspacesd, import
# the bundled test guest, launch a workspace from it and show its console until it is ready.
#   packaging/demo.sh          run the demo (again: it picks up where things are)
#   packaging/demo.sh stop     stop the demo workspace and the daemon (guests keep no state but their disks)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

state=${WORKSPACES_STATE_DIR:-/var/lib/workspaces}
run=${WORKSPACES_RUN_DIR:-/run/workspaces}
export WORKSPACES_SOCKET=$run/workspaces.sock
ws=$root/artifacts/bin/ws
pidfile=$run/workspacesd.pid
log=$run/workspacesd.log

# Alive, and really our daemon (a stale pid file may name a reused pid).
daemon_alive() { [[ -f $pidfile ]] && grep -qs workspacesd "/proc/$(cat "$pidfile")/cmdline"; }

if [[ ${1:-} == stop ]]; then
    "$ws" stop demo 2>/dev/null || true
    if daemon_alive; then kill "$(cat "$pidfile")"; echo "workspacesd stopped"; fi
    exit 0
fi

packaging/install-deps.sh
packaging/build.sh
guest=$(tests/guest/build.sh | tail -n1)

mkdir -p "$state" "$run"
if ! daemon_alive; then
    echo "starting workspacesd (state $state, socket $WORKSPACES_SOCKET, log $log)"
    setsid "$root/artifacts/workspacesd/workspacesd" --state-dir "$state" --socket "$WORKSPACES_SOCKET" >"$log" 2>&1 < /dev/null &
    echo $! >"$pidfile"
    for _ in $(seq 100); do "$ws" list >/dev/null 2>&1 && break; sleep 0.1; done
fi
"$ws" host

"$ws" image show demo-guest >/dev/null 2>&1 ||
    "$ws" image import demo-guest --kernel "$guest/vmlinuz" --initrd "$guest/initrd.img" \
        --disk "$guest/disk.qcow2" --cmdline "$(cat "$guest/cmdline")"
if ! "$ws" show demo >/dev/null 2>&1; then
    "$ws" launch demo-guest demo
elif [[ $("$ws" show demo --json) != *'"state":"Running"'* ]]; then
    "$ws" start demo
fi

echo "--- console of 'demo' until the guest says it is ready ---"
timeout 120 "$ws" console demo --until WORKSPACE-READY
echo "---"
"$ws" list
cat <<TEXT

The workspace 'demo' is running. Go on with ws (export WORKSPACES_SOCKET=$WORKSPACES_SOCKET):
  $ws list | show demo | pause demo | resume demo | stop demo | start demo
  $ws console demo          follow its serial console (Ctrl-C to leave)
  $ws events                watch lifecycle events
  $ws launch demo-guest NAME   another workspace from the same image
Stop everything with: packaging/demo.sh stop
TEXT
