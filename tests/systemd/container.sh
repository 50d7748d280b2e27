#!/usr/bin/env bash
# Boots a real systemd (PID 1) in a systemd-nspawn container whose root is an overlay of the host's /,
# for integration tests of systemd services. Needs root, systemd-container and util-linux.
#
#   container.sh up NAME                         boot; returns once multi-user is reached (running/degraded)
#   container.sh exec NAME CMD [ARG...]          run CMD inside as root; stdio and exit code pass through
#   container.sh cp NAME HOSTPATH CONTAINERPATH  copy a file or directory in (like cp -a; parents created)
#   container.sh down NAME                       power off, unmount, remove everything; idempotent
#   container.sh leader NAME                     print the host PID of the container's PID 1
#   container.sh log NAME [LINES]                print the console log (default: all of it)
#
# Environment:
#   WS_CT_BOOT_TIMEOUT=60    seconds `up` waits for the container's systemd
#   WS_CT_STOP_TIMEOUT=30    seconds `down` waits for a clean poweroff before killing
#   WS_CT_NETWORK=private    private: own network namespace (loopback only); host: share the host's
#                            (careful: services inside, e.g. libvirtd's default network, then act on it)
#   WS_CT_CGROUP_RW=1        make the container's cgroup v1 controllers writable, so resource limits
#                            (CPUQuota=, MemoryMax=, TasksMax=) are really applied; 0: nspawn's default
#                            (controllers read-only: properties are accepted but NOT enforced)
#   WS_CT_EXEC_MODE=scope    scope: `exec` runs CMD in a transient scope of the container's systemd, so
#                            it lives in the container's cgroup tree like a login would;
#                            raw: plain nsenter (works even while the container's systemd is not up)
#   WS_CT_MASK="a.service"   units to mask in the container (none by default)
#   WS_CT_NSPAWN_ARGS="..."  extra systemd-nspawn arguments (word-split)
#
# How (and why) it works on a host WITHOUT systemd as PID 1 (e.g. a sandbox init):
# - `--register=no --keep-unit`: otherwise nspawn asks the host's machined/systemd over the host's
#   system bus and fails ("Failed to open system bus", or with a bus but no systemd on it "Failed to
#   allocate scope"). With both flags nspawn never touches D-Bus, so no host dbus-daemon is needed.
# - nspawn is first moved into a fresh cgroup `ws-NAME` in every hierarchy, below the caller's own
#   cgroup, so each container has its own cgroup namespace root (nspawn --keep-unit would otherwise
#   create `payload`/`supervisor` right in the caller's cgroup, shared by every container).
# - nspawn mounts cgroup v1 controllers read-only in the container; systemd then treats them as
#   unavailable and silently ignores CPUQuota= etc. We remount them read-write (only the container's
#   own subtree is visible through its cgroup namespace) and `systemctl daemon-reexec` so systemd
#   re-probes its controllers.
set -euo pipefail

BASE=/var/tmp/ws-containers
BOOT_TIMEOUT=${WS_CT_BOOT_TIMEOUT:-60}
STOP_TIMEOUT=${WS_CT_STOP_TIMEOUT:-30}
NETWORK=${WS_CT_NETWORK:-private}
CGROUP_RW=${WS_CT_CGROUP_RW:-1}
EXEC_MODE=${WS_CT_EXEC_MODE:-scope}
CT_PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

log() { echo "container.sh: $*" >&2; }
die() { log "$*"; exit 1; }

usage() {
  sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
}

check_name() {
  # A machine name nspawn accepts, and safe to use in paths.
  [[ ${1:-} =~ ^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$ ]] || die "invalid container name '${1:-}'"
}

# Whether PID runs (a zombie does not: this host's init may reap its orphans late, kill -0 succeeds).
alive() {
  local stat
  stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
  stat=${stat##*) }
  [[ ${stat:0:1} != [ZX] ]]
}

# The host PID of nspawn, if it is still the nspawn we started (and not a zombie nobody reaped yet).
nspawn_pid() {
  local pid stat
  pid=$(cat "$T/nspawn.pid" 2>/dev/null) || return 1
  [[ $pid =~ ^[0-9]+$ ]] && stat=$(cat "/proc/$pid/stat" 2>/dev/null) || return 1
  [[ $stat == "$pid (systemd-nspawn) "[^ZX]* ]] || return 1
  echo "$pid"
}

# The container's PID 1 as seen from the host: nspawn's child running in another PID namespace.
find_leader() {
  local np c
  np=$(nspawn_pid) || return 1
  for c in $(cat "/proc/$np/task/"*/children 2>/dev/null); do
    if [[ $(readlink "/proc/$c/ns/pid" 2>/dev/null) != "$(readlink /proc/self/ns/pid)" ]]; then
      echo "$c"; return 0
    fi
  done
  return 1
}

# The recorded leader, if it still runs in this container's cgroup (also after nspawn died).
recorded_leader() {
  local l
  l=$(cat "$T/leader.pid" 2>/dev/null) || return 1
  [[ $l =~ ^[0-9]+$ ]] && grep -qF "/ws-$NAME/" "/proc/$l/cgroup" 2>/dev/null || return 1
  echo "$l"
}

leader_or_die() {
  local l
  l=$(find_leader) || die "container '$NAME' is not running (see: $0 up $NAME)"
  echo "$l"
}

# nsenter into every namespace of the container's PID 1, with a clean root environment.
# (setns into its mount namespace also sets / and the working directory to the container's root.)
# First join the container's root cgroup in each v1 controller hierarchy: otherwise the command stays
# in the caller's cgroups, outside the container's cgroup namespace ("/.." in /proc/self/cgroup), and
# systemd only moves processes in the controllers a unit uses. name=systemd and cgroup2 placement is
# left to the container's systemd (WS_CT_EXEC_MODE=scope).
ct_raw() {
  local l=$1; shift
  (
    if [[ -f $T/cgroups ]]; then
      while read -r kind d; do
        if [[ $kind == v1 ]]; then { echo "$BASHPID" > "$d/cgroup.procs"; } 2>/dev/null || true; fi
      done < "$T/cgroups"
    fi
    exec nsenter -t "$l" -a -- env -i PATH="$CT_PATH" HOME=/root USER=root LOGNAME=root SHELL=/bin/bash \
      LANG=C.UTF-8 TERM="${TERM:-dumb}" "$@"
  )
}

# systemctl is-system-running inside, bounded so a wedged bus cannot stall the caller.
ct_state() {
  timeout 5 nsenter -t "$1" -a -- env -i PATH="$CT_PATH" systemctl is-system-running 2>/dev/null || true
}

# Mount points at or below $T (string comparison: NAME may contain regex characters).
mounts_below() {
  local m
  findmnt -rn -o TARGET | while read -r m; do
    if [[ $m == "$T" || $m == "$T"/* ]]; then echo "$m"; fi
  done | sort -r
}

# Wait until the container's systemd reports running/degraded; fail early if nspawn died.
wait_running() {
  local deadline=$1 l state=""
  while :; do
    nspawn_pid >/dev/null || die "systemd-nspawn exited while booting"
    if l=$(find_leader); then
      state=$(ct_state "$l")
      case $state in running|degraded) echo "$state"; return 0 ;; esac
    fi
    ((SECONDS < deadline)) || die "timed out after ${BOOT_TIMEOUT}s (systemd state: '${state:-none}')"
    sleep 0.2
  done
}

# Creates ws-NAME below the current process's cgroup in every hierarchy (v1 controllers, the v1
# name=systemd one and the cgroup2 one) and moves the current process ($BASHPID) into them.
join_own_cgroups() {
  local line id ctrl path mnt parent d lines kind
  # Read /proc/self/cgroup completely first: it changes while we move, and reading it line by line
  # while moving garbles the lines.
  mapfile -t lines < /proc/self/cgroup
  for line in "${lines[@]}"; do
    IFS=: read -r id ctrl path <<<"$line"
    if [[ $id == 0 ]]; then
      if [[ $(stat -fc %T /sys/fs/cgroup) == cgroup2fs ]]; then mnt=/sys/fs/cgroup
      elif [[ -d /sys/fs/cgroup/unified ]]; then mnt=/sys/fs/cgroup/unified
      else continue; fi
    else
      mnt=/sys/fs/cgroup/${ctrl#name=}
      [[ -d $mnt ]] || mnt=$(findmnt -rn -t cgroup -o TARGET | while read -r m; do
        [[ ,$(findmnt -rn -o OPTIONS "$m"), == *,"$ctrl",* ]] && echo "$m" && break; done)
      [[ -n $mnt && -d $mnt ]] || { echo "no mount for cgroup hierarchy '$ctrl'" >&2; return 1; }
    fi
    parent=$mnt${path%/}
    d=$parent/ws-$NAME
    mkdir -p "$d"
    case $id:$ctrl in 0:*) kind=v2 ;; *:name=*) kind=named ;; *) kind=v1 ;; esac
    echo "$kind $d" >> "$T/cgroups"
    # A v1 cpuset child starts with no CPUs/memory nodes and refuses tasks until given some.
    if [[ -f $d/cpuset.cpus ]]; then
      cat "$parent/cpuset.cpus" > "$d/cpuset.cpus"
      cat "$parent/cpuset.mems" > "$d/cpuset.mems"
    fi
    echo "$BASHPID" > "$d/cgroup.procs"
  done
}

cmd_up() {
  T=$BASE/$NAME
  if [[ -e $T ]]; then
    nspawn_pid >/dev/null && die "container '$NAME' is already up"
    log "removing leftovers of an earlier '$NAME'"
    cmd_down
  fi
  # mkdir of $T is the atomic claim of the name (a concurrent `up NAME` fails here). Retry: a
  # concurrent `down` of another container may remove an empty $BASE in between.
  local i
  for ((i = 0; ; i++)); do
    mkdir -p "$BASE"
    mkdir "$T" 2>/dev/null && break
    [[ -e $T ]] && die "container '$NAME' is being created by someone else"
    ((i < 5)) || die "cannot create $T"
  done
  # shellcheck disable=SC2034  # read by the EXIT trap
  UP_OK=0  # global: bash may drop a function's locals before it runs the EXIT trap
  # On any failure below: show why, then undo everything.
  trap 'if ((UP_OK == 0)); then
          if [[ -s $T/console.log ]]; then log "console log (last 40 lines):"; tail -n 40 "$T/console.log" >&2; fi
          log "up failed; cleaning up"; cmd_down || true
        fi' EXIT
  trap 'exit 130' INT TERM HUP  # so that the EXIT trap cleans up on Ctrl-C too

  mkdir "$T/upper" "$T/work" "$T/merged"
  # Overlay of the host's root file system only: submounts (/proc, /sys, /dev, /run, /tmp, ...) are
  # not part of it; nspawn mounts fresh ones for the container. Writes go to $T/upper.
  mount -t overlay "ws-ct-$NAME" -o "lowerdir=/,upperdir=$T/upper,workdir=$T/work" "$T/merged"

  # Own identity: a fresh machine-id (also what D-Bus uses), and the name as hostname.
  systemd-id128 new > "$T/merged/etc/machine-id"
  rm -f "$T/merged/var/lib/dbus/machine-id"
  ln -s /etc/machine-id "$T/merged/var/lib/dbus/machine-id"
  echo "$NAME" > "$T/merged/etc/hostname"
  local u
  for u in ${WS_CT_MASK:-}; do ln -sfn /dev/null "$T/merged/etc/systemd/system/$u"; done

  local args=(-D "$T/merged" -b --machine="$NAME"
    --register=no --keep-unit         # no machined/systemd/D-Bus on the host (see top)
    --console=read-only               # console output to our log; "passive" would log nothing
    --link-journal=no
    --tmpfs="$BASE")                  # hide the host's container dirs (and this overlay's own upper)
  [[ $NETWORK == private ]] && args+=(--private-network)  # e.g. libvirtd inside must not touch host bridges
  [[ -c /dev/kvm ]] && args+=(--bind=/dev/kvm)           # QEMU inside may use KVM; TCG needs nothing
  # shellcheck disable=SC2206
  args+=(${WS_CT_NSPAWN_ARGS:-})

  (
    join_own_cgroups
    export TERM=dumb  # the container's systemd inherits it: a console log without colour codes
    # setsid: detach from the caller's session and terminal, so the container outlives the caller.
    # (We are not a process group leader here, so setsid execs in place and the PID stays nspawn's.)
    exec setsid systemd-nspawn "${args[@]}"
  ) > "$T/console.log" 2>&1 < /dev/null &
  local child=$! deadline=$((SECONDS + BOOT_TIMEOUT)) state l t0=$SECONDS
  echo "$child" > "$T/nspawn.pid"
  # Until the subshell has joined its cgroups and exec'd, its comm is not systemd-nspawn yet.
  while ! nspawn_pid >/dev/null; do
    alive "$child" || die "systemd-nspawn did not start"
    ((SECONDS < deadline)) || die "systemd-nspawn did not start within ${BOOT_TIMEOUT}s"
    sleep 0.05
  done
  state=$(wait_running "$deadline")
  l=$(find_leader)
  echo "$l" > "$T/leader.pid"

  if [[ $CGROUP_RW == 1 ]] && [[ -s $T/cgroups ]]; then
    # Remount the container's read-only cgroup v1 mounts read-write; safe because its cgroup
    # namespace root is our ws-NAME cgroup. Then let systemd re-probe (it checks writability at start).
    local m remounted=0
    for m in $(ct_raw "$l" findmnt -rn -t cgroup -O ro -o TARGET); do
      ct_raw "$l" mount -o remount,bind,rw,nosuid,nodev,noexec "$m"
      remounted=1
    done
    if ((remounted)); then
      ct_raw "$l" systemctl daemon-reexec
      state=$(wait_running "$deadline")
    fi
  fi

  if [[ $state == degraded ]]; then
    log "warning: container '$NAME' is degraded; failed units:"
    ct_raw "$l" systemctl --failed --no-legend --plain >&2 || true
  fi
  # shellcheck disable=SC2034
  UP_OK=1
  trap - EXIT INT TERM HUP
  log "container '$NAME' is $state after $((SECONDS - t0))s (leader pid $l, console log $T/console.log)"
}

cmd_exec() {
  T=$BASE/$NAME
  [[ ${1:-} == -- ]] && shift
  (($# > 0)) || die "exec: missing command"
  local l
  l=$(leader_or_die)
  if [[ $EXEC_MODE == scope ]]; then
    # systemd-run --scope execs CMD in place (stdio, environment and exit code unchanged) after
    # moving it into a new transient scope of the container's systemd.
    ct_raw "$l" systemd-run --scope --quiet --collect -- "$@"
  else
    ct_raw "$l" "$@"
  fi
}

cmd_cp() {
  T=$BASE/$NAME
  (($# == 2)) || die "cp: usage: cp NAME HOSTPATH CONTAINERPATH"
  local src=$1 dst=$2 l
  [[ -e $src ]] || die "cp: $src: no such file"
  [[ $dst == /* ]] || die "cp: CONTAINERPATH must be absolute"
  l=$(leader_or_die)
  # Through the container's mount namespace, not via $T/merged: the container mounts tmpfs on /tmp,
  # /run, ... and a file written under merged/tmp would be hidden there. Same semantics as cp -a:
  # into DST if it is a directory, else as DST.
  tar -C "$(dirname -- "$src")" --numeric-owner -cf - -- "$(basename -- "$src")" |
    ct_raw "$l" /bin/sh -ec '
      dst=$1 name=$2
      if [ -d "$dst" ]; then exec tar -C "$dst" --numeric-owner -xpf -; fi
      parent=$(dirname "$dst"); mkdir -p "$parent"
      tmp=$(mktemp -d "$parent/.ws-cp.XXXXXX")
      trap "rm -rf \"\$tmp\"" EXIT
      tar -C "$tmp" --numeric-owner -xpf -
      mv -fT "$tmp/$name" "$dst"' sh "$dst" "$(basename -- "$src")"
}

cmd_down() {
  T=$BASE/$NAME
  local np l i
  if np=$(nspawn_pid); then
    l=$(find_leader || true)
    # SIGTERM makes nspawn send SIGRTMIN+3 to the container's systemd: a clean poweroff.
    kill -TERM "$np" 2>/dev/null || true
    for ((i = 0; i < STOP_TIMEOUT * 5; i++)); do alive "$np" || break; sleep 0.2; done
    if alive "$np"; then
      log "'$NAME' did not power off within ${STOP_TIMEOUT}s; killing it"
      # Killing the container's PID 1 kills its whole PID namespace; nspawn then exits.
      if [[ -n $l ]]; then kill -KILL "$l" 2>/dev/null || true; fi
      for ((i = 0; i < 50; i++)); do alive "$np" || break; sleep 0.1; done
      kill -KILL "$np" 2>/dev/null || true
      for ((i = 0; i < 50; i++)); do alive "$np" || break; sleep 0.1; done
    fi
  elif l=$(recorded_leader); then
    # nspawn died (e.g. was SIGKILLed) but the container's systemd lives on, orphaned: power it off.
    log "systemd-nspawn of '$NAME' is gone but its container still runs; powering it off"
    kill -s RTMIN+3 "$l" 2>/dev/null || true
    for ((i = 0; i < STOP_TIMEOUT * 5; i++)); do alive "$l" || break; sleep 0.2; done
    kill -KILL "$l" 2>/dev/null || true
  fi

  # Remove our cgroups, deepest first (the container's systemd may have left slices behind).
  # Anything still in them is ours by construction: kill it.
  if [[ -f $T/cgroups ]]; then
    local kind d p
    while read -r kind d; do
      [[ -d $d ]] || continue
      for ((i = 0; i < 50; i++)); do
        find "$d" -depth -type d -exec rmdir {} + 2>/dev/null || true
        [[ -d $d ]] || break
        # shellcheck disable=SC2044  # PIDs: no spaces
        for p in $(find "$d" -name cgroup.procs -exec cat {} + 2>/dev/null); do kill -KILL "$p" 2>/dev/null || true; done
        sleep 0.1
      done
      if [[ -d $d ]]; then log "warning: could not remove cgroup $d"; fi
    done < "$T/cgroups"
  fi

  # nspawn's own runtime leftovers on the host (it leaves them when killed): the image lock, named
  # after the overlay root's device and inode, and its mount propagation dir.
  local nsd=/run/systemd/nspawn
  if mountpoint -q "$T/merged" 2>/dev/null; then
    rm -f "$nsd/locks/inode-$(stat -c '%d:%i' "$T/merged")"
  fi
  # (Not the parent dirs: a concurrently starting nspawn may be about to use them.)
  rmdir "$nsd/propagate/$NAME" 2>/dev/null || true

  # Unmount everything below $T (normally just the overlay), deepest first.
  if [[ -d $T ]]; then
    local m
    for ((i = 0; i < 20; i++)); do
      m=$(mounts_below | head -n1)
      [[ -n $m ]] || break
      # Busy right after nspawn exits is transient; after ~3 s detach it lazily.
      umount "$m" 2>/dev/null || { if ((i < 10)); then sleep 0.3; else umount -l "$m" || true; fi; }
    done
    [[ -z $(mounts_below) ]] || die "down: still mounted below $T: $(mounts_below | tr '\n' ' ')"
    # --one-file-system: never follow into a mount (the overlay shows the host's whole /).
    rm -rf --one-file-system -- "$T"
  fi
  rmdir "$BASE" 2>/dev/null || true
}

main() {
  (($# >= 2)) || usage
  (($(id -u) == 0)) || die "must run as root"
  local cmd=$1; NAME=$2; shift 2
  check_name "$NAME"
  T=$BASE/$NAME
  case $cmd in
    up) (($# == 0)) || usage; cmd_up ;;
    exec) cmd_exec "$@" ;;
    cp) cmd_cp "$@" ;;
    down) (($# == 0)) || usage; cmd_down ;;
    leader) leader_or_die ;;
    log) if (($# > 0)); then tail -n "$1" "$T/console.log"; else cat "$T/console.log"; fi ;;
    *) usage ;;
  esac
}

main "$@"
