#!/usr/bin/env bash
# Stop the dockerd that scripts/setup-engine.sh started, and only that one.
#
# setup-engine.sh leaves the marker $BOTTLE_ENGINE_STATE/started-by-bottle when
# it starts a daemon. Without the marker this script does nothing, so an engine
# the user runs is never touched. Safe to run any number of times.
#
# Environment:
#   BOTTLE_ENGINE_STATE  state dir (default: /tmp/bottle-engine)
#   BOTTLE_ENGINE_STOP_WAIT  seconds to wait for a clean exit (default: 45)
set -euo pipefail

STATE_DIR="${BOTTLE_ENGINE_STATE:-/tmp/bottle-engine}"
STOP_WAIT="${BOTTLE_ENGINE_STOP_WAIT:-45}"
MARKER="$STATE_DIR/started-by-bottle"
PIDFILE="$STATE_DIR/dockerd.pid"

log() { printf 'stop-engine: %s\n' "$*" >&2; }

if [[ ! -e "$MARKER" ]]; then
    log "no $MARKER: the engine was not started by this tooling; leaving it alone"
    exit 0
fi

# dockerd writes its own pidfile; the marker holds the pid from launch time in
# case dockerd died or had not written the pidfile yet.
pid=""
if [[ -s "$PIDFILE" ]]; then
    pid="$(<"$PIDFILE")"
fi
if [[ ! "$pid" =~ ^[0-9]+$ ]]; then
    pid="$(sed -n 's/^pid=\([0-9][0-9]*\)$/\1/p' "$MARKER")"
fi

# A zombie (exited, not yet reaped by whoever adopted it) counts as gone.
alive() {
    kill -0 "$1" 2>/dev/null || return 1
    local stat
    stat="$(cat "/proc/$1/stat" 2>/dev/null)" || return 0
    stat="${stat##*) }"
    [[ "${stat:0:1}" != Z ]]
}

if [[ -z "$pid" ]] || ! alive "$pid"; then
    log "dockerd${pid:+ (pid $pid)} is not running; removing the marker"
    rm -f "$MARKER"
    exit 0
fi

# A stale pid may have been reused by an unrelated process: check that its
# name is that of the daemon setup-engine.sh started (the kernel keeps 15 chars).
daemon="$(sed -n 's/^daemon=//p' "$MARKER")"
daemon="$(basename "${daemon:-dockerd}")"
comm="$(cat "/proc/$pid/comm" 2>/dev/null || ps -o comm= -p "$pid" 2>/dev/null || true)"
if [[ -z "$comm" || "$comm" != "${daemon:0:15}" ]]; then
    log "pid $pid is '$comm', not $daemon; not killing it, removing the stale marker"
    rm -f "$MARKER"
    exit 0
fi

log "stopping dockerd (pid $pid)"
kill -TERM "$pid"
deadline=$((SECONDS + STOP_WAIT))
while alive "$pid"; do
    if ((SECONDS >= deadline)); then
        log "dockerd (pid $pid) still running after ${STOP_WAIT}s; sending SIGKILL"
        kill -KILL "$pid" 2>/dev/null || true
        sleep 1
        break
    fi
    sleep 0.5
done
if alive "$pid"; then
    log "error: dockerd (pid $pid) did not exit"
    exit 1
fi
rm -f "$MARKER"
log "dockerd stopped"
