#!/usr/bin/env bash
# Stop what scripts/setup-engine.sh started, and only that: podman's
# docker-compatible service, and dockerd (with its TLS endpoint, the remote path:
# stopping dockerd closes it). `socat` stops the unauthenticated TCP forward that
# older versions of setup-engine.sh started, if one is left.
#
# setup-engine.sh leaves a marker in $BOTTLE_ENGINE_STATE for each daemon it
# starts (`started-by-bottle` for dockerd, `podman-service.started-by-bottle`;
# older versions `socat.started-by-bottle`). Without its marker a daemon is left
# alone, so an engine the user runs is never touched. The certificates stay in
# the state dir for the next setup. Safe to run any number of times.
#
# Environment:
#   BOTTLE_ENGINE_STATE      state dir (default: /tmp/bottle-engine)
#   BOTTLE_ENGINE_STOP_WAIT  seconds to wait for a clean exit (default: 45)
#   BOTTLE_STOP_PARTS        which to stop, in order (default: "socat podman dockerd")
set -euo pipefail

STATE_DIR="${BOTTLE_ENGINE_STATE:-/tmp/bottle-engine}"
STOP_WAIT="${BOTTLE_ENGINE_STOP_WAIT:-45}"
PARTS="${BOTTLE_STOP_PARTS:-socat podman dockerd}"

log() { printf 'stop-engine: %s\n' "$*" >&2; }

# A zombie (exited, not yet reaped by whoever adopted it) counts as gone.
alive() {
    kill -0 "$1" 2>/dev/null || return 1
    local stat
    stat="$(cat "/proc/$1/stat" 2>/dev/null)" || return 0
    stat="${stat##*) }"
    [[ "${stat:0:1}" != Z ]]
}

# stop_marked NAME MARKER PIDFILE DEFAULT_DAEMON: stop the process the marker
# stands for. The pidfile (written by the daemon or by setup) wins over the pid
# the marker recorded at launch, in case the daemon had not written it yet.
stop_marked() {
    local name="$1" marker="$2" pidfile="$3" default_daemon="$4"
    if [[ ! -e "$marker" ]]; then
        log "no $marker: $name was not started by this tooling; leaving it alone"
        return 0
    fi
    local pid=""
    if [[ -s "$pidfile" ]]; then
        pid="$(<"$pidfile")"
    fi
    if [[ ! "$pid" =~ ^[0-9]+$ ]]; then
        pid="$(sed -n 's/^pid=\([0-9][0-9]*\)$/\1/p' "$marker")"
    fi
    if [[ -z "$pid" ]] || ! alive "$pid"; then
        log "$name${pid:+ (pid $pid)} is not running; removing the marker"
        rm -f "$marker"
        return 0
    fi

    # A stale pid may have been reused by an unrelated process: check that its
    # name is that of the daemon setup-engine.sh started (the kernel keeps 15 chars).
    local daemon comm
    daemon="$(sed -n 's/^daemon=//p' "$marker")"
    daemon="$(basename "${daemon:-$default_daemon}")"
    comm="$(cat "/proc/$pid/comm" 2>/dev/null || ps -o comm= -p "$pid" 2>/dev/null || true)"
    if [[ -z "$comm" || "$comm" != "${daemon:0:15}" ]]; then
        log "pid $pid is '$comm', not $daemon; not killing it, removing the stale marker"
        rm -f "$marker"
        return 0
    fi

    log "stopping $name (pid $pid)"
    kill -TERM "$pid"
    local deadline=$((SECONDS + STOP_WAIT))
    while alive "$pid"; do
        if ((SECONDS >= deadline)); then
            log "$name (pid $pid) still running after ${STOP_WAIT}s; sending SIGKILL"
            kill -KILL "$pid" 2>/dev/null || true
            sleep 1
            break
        fi
        sleep 0.2
    done
    if alive "$pid"; then
        log "error: $name (pid $pid) did not exit"
        return 1
    fi
    rm -f "$marker"
    log "$name stopped"
}

status=0
for part in $PARTS; do
    case "$part" in
        socat)
            # Only older setups started one: no marker, nothing to say.
            if [[ -e "$STATE_DIR/socat.started-by-bottle" ]]; then
                stop_marked "the socat forward" "$STATE_DIR/socat.started-by-bottle" "$STATE_DIR/socat.pid" socat || status=1
            fi
            ;;
        podman) stop_marked "podman system service" "$STATE_DIR/podman-service.started-by-bottle" "$STATE_DIR/podman-service.pid" podman || status=1 ;;
        dockerd) stop_marked dockerd "$STATE_DIR/started-by-bottle" "$STATE_DIR/dockerd.pid" dockerd || status=1 ;;
        *)
            log "error: unknown part '$part' in BOTTLE_STOP_PARTS (socat, podman, dockerd)"
            status=1
            ;;
    esac
done
exit "$status"
