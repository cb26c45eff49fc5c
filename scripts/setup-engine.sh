#!/usr/bin/env bash
# Make sure a docker engine answers and that the offline test image exists.
#
# 1. If `$DOCKER version` reaches a daemon, use it.
# 2. Otherwise, as root with apt-get: install docker.io and busybox-static when
#    they are missing, start dockerd in the background (setsid, own log and
#    pidfile under $BOTTLE_ENGINE_STATE), wait until it answers, and leave the
#    marker `started-by-bottle` so scripts/stop-engine.sh knows it may stop it.
#    Without root or apt-get, say what to do and exit 1.
# 3. Import the test image from a static busybox. Nothing is pulled: the tests
#    must work with no registry.
#
# Idempotent: rerunning it with an engine up and the image present changes nothing.
#
# Environment:
#   DOCKER               docker client to run (default: docker)
#   DOCKERD              daemon to start (default: dockerd)
#   BOTTLE_ENGINE_STATE  state dir for dockerd.log, dockerd.pid and the marker
#                        (default: /tmp/bottle-engine)
#   BOTTLE_ENGINE_WAIT   seconds to wait for a started daemon (default: 60)
#   BOTTLE_TEST_IMAGE    image to import (default: bottle-test-bundle:latest)
#   BOTTLE_BUSYBOX       static busybox to build the image from (default: the
#                        one busybox-static installs)
set -euo pipefail

DOCKER="${DOCKER:-docker}"
DOCKERD="${DOCKERD:-dockerd}"
STATE_DIR="${BOTTLE_ENGINE_STATE:-/tmp/bottle-engine}"
WAIT_SECS="${BOTTLE_ENGINE_WAIT:-60}"
IMAGE="${BOTTLE_TEST_IMAGE:-bottle-test-bundle:latest}"

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
MARKER="$STATE_DIR/started-by-bottle"
PIDFILE="$STATE_DIR/dockerd.pid"
LOGFILE="$STATE_DIR/dockerd.log"

# Applets the test image links to busybox. The first eight are what the tests
# rely on; the rest make debugging a bundle by hand less painful.
APPLETS=(sh httpd sleep cat env nc ls echo wget true false mkdir rm ps id printf test)

log() { printf 'setup-engine: %s\n' "$*" >&2; }
die() {
    log "error: $*"
    exit 1
}

# Prints the server version and succeeds only if a daemon answers.
engine_version() {
    local version
    version="$("$DOCKER" version --format '{{.Server.Version}}' 2>/dev/null)" || return 1
    [[ -n "$version" ]] || return 1
    printf '%s\n' "$version"
}

is_root() { [[ "$(id -u)" -eq 0 ]]; }
have() { command -v "$1" >/dev/null 2>&1; }
can_install() { is_root && have apt-get; }

# Succeeds if $1 is a statically linked executable.
is_static() {
    local f="$1" out
    [[ -f "$f" && -x "$f" ]] || return 1
    if have file; then
        out="$(file -L "$f")" || return 1
        [[ "$out" == *"statically linked"* || "$out" == *"static-pie linked"* ]]
    elif have readelf; then
        out="$(readelf -lW "$f" 2>/dev/null)" || return 1
        [[ "$out" != *INTERP* ]]
    elif have ldd; then
        out="$(ldd "$f" 2>&1 || true)"
        [[ "$out" == *"not a dynamic executable"* || "$out" == *"statically linked"* ]]
    else
        log "warning: none of file, readelf or ldd is installed; cannot verify that $f is static"
        return 1
    fi
}

# Prints the path of a static busybox, or fails.
find_busybox() {
    local candidate
    for candidate in ${BOTTLE_BUSYBOX:+"$BOTTLE_BUSYBOX"} /usr/bin/busybox /bin/busybox; do
        if is_static "$candidate"; then
            printf '%s\n' "$candidate"
            return 0
        fi
    done
    return 1
}

# Pid of the dockerd this tooling started, if it is still alive.
# The dockerd processes that are alive: a zombie, left by a daemon whose parent
# never reaped it, neither answers nor holds /var/lib/docker, so it does not count.
live_dockerd_pids() {
    local pid
    for pid in $(pgrep -x dockerd 2>/dev/null || true); do
        [[ "$(ps -o stat= -p "$pid" 2>/dev/null)" == Z* ]] || printf '%s ' "$pid"
    done
}

our_dockerd_pid() {
    local pid
    [[ -s "$PIDFILE" ]] || return 1
    pid="$(<"$PIDFILE")"
    [[ "$pid" =~ ^[0-9]+$ ]] || return 1
    kill -0 "$pid" 2>/dev/null || return 1
    printf '%s\n' "$pid"
}

apt_updated=0
apt_install() {
    if [[ "$apt_updated" -eq 0 ]]; then
        log "running apt-get update"
        DEBIAN_FRONTEND=noninteractive apt-get update >&2
        apt_updated=1
    fi
    log "running apt-get install -y $*"
    DEBIAN_FRONTEND=noninteractive apt-get install -y "$@" >&2
}

explain_no_engine() {
    local why="$1"
    cat >&2 <<EOF
setup-engine: error: no docker engine answers: $why
  client: $DOCKER$(have "$DOCKER" || printf ' (not found on PATH)')
  DOCKER_HOST: ${DOCKER_HOST:-(unset: the local default socket)}
Do one of these, then run this script again:
  - install Docker Engine, e.g. as root on Debian or Ubuntu:
        apt-get install -y docker.io busybox-static
  - start the daemon: sudo systemctl start docker   (or: sudo dockerd &)
  - point DOCKER_HOST at an engine that is running, e.g.
        export DOCKER_HOST=unix:///run/user/\$UID/docker.sock   (rootless docker)
  - or set DOCKER to a docker-compatible client that reaches one
EOF
    exit 1
}

# Fails with advice unless the engine the client looks for is one that a local
# dockerd can provide: the default socket, or DOCKER_HOST=unix://PATH.
check_startable() {
    case "${DOCKER_HOST:-}" in
        "" | unix://*) ;;
        *) explain_no_engine "DOCKER_HOST=$DOCKER_HOST is not a local socket, so this script cannot start that engine" ;;
    esac
    if [[ -n "${DOCKER_CONTEXT:-}" && "$DOCKER_CONTEXT" != default ]]; then
        explain_no_engine "DOCKER_CONTEXT=$DOCKER_CONTEXT selects an engine this script does not manage"
    fi
}

# Starts dockerd in its own session and waits until it answers.
start_engine() {
    local -a host_args=()
    if [[ -n "${DOCKER_HOST:-}" ]]; then
        host_args=(-H "$DOCKER_HOST")
        mkdir -p "$(dirname "${DOCKER_HOST#unix://}")"
    fi

    local pid
    if pid="$(our_dockerd_pid)"; then
        log "dockerd started earlier by this tooling (pid $pid) is still running; waiting for it"
    else
        # A second daemon on the same data root would fight the first over
        # /var/lib/docker and the bridge, so refuse instead of starting one.
        local others
        others="$(live_dockerd_pids)"
        if [[ -n "$others" ]]; then
            explain_no_engine "a dockerd is already running (pid ${others% }) but does not answer here; point DOCKER_HOST at its socket, or stop it"
        fi

        mkdir -p "$STATE_DIR"
        rm -f "$PIDFILE"
        log "starting $DOCKERD in the background (log: $LOGFILE)"
        # A background job of a non-interactive shell is not a process-group
        # leader, so setsid execs without forking and $! is dockerd itself.
        setsid "$DOCKERD" --pidfile "$PIDFILE" ${host_args[@]+"${host_args[@]}"} \
            </dev/null >>"$LOGFILE" 2>&1 &
        pid=$!
        # Leave the marker at once: if anything below fails, stop-engine.sh
        # can still find and stop this daemon.
        printf 'pid=%s\ndaemon=%s\nstarted=%s\n' \
            "$pid" "$DOCKERD" "$(date -u +%Y-%m-%dT%H:%M:%SZ)" >"$MARKER"
    fi

    local deadline=$((SECONDS + WAIT_SECS)) version
    until version="$(engine_version)"; do
        if ! kill -0 "$pid" 2>/dev/null; then
            log "dockerd (pid $pid) exited; last lines of $LOGFILE:"
            tail -n 20 "$LOGFILE" >&2 || true
            rm -f "$MARKER"
            die "the docker daemon did not start"
        fi
        if ((SECONDS >= deadline)); then
            log "dockerd (pid $pid) did not answer within ${WAIT_SECS}s; last lines of $LOGFILE:"
            tail -n 20 "$LOGFILE" >&2 || true
            "$SCRIPT_DIR/stop-engine.sh" || true
            die "the docker daemon did not answer in time"
        fi
        sleep 0.5
    done
    log "dockerd (pid $pid) answers: server version $version"
}

ensure_engine() {
    local version
    if version="$(engine_version)"; then
        if [[ -e "$MARKER" ]]; then
            log "using the engine this tooling started earlier: server version $version"
        else
            log "using the engine that is already running: server version $version"
        fi
        return 0
    fi

    if ! can_install; then
        if ! is_root; then
            explain_no_engine "this script is not running as root, so it cannot install or start one"
        fi
        explain_no_engine "apt-get is not available, so this script cannot install one"
    fi

    check_startable

    # docker.io provides `dockerd` and `docker`; a custom DOCKER or DOCKERD
    # path is the user's to provide.
    local -a pkgs=()
    if ! have "$DOCKERD" || { [[ "$DOCKER" == docker ]] && ! have docker; }; then
        pkgs+=(docker.io)
    fi
    if ! find_busybox >/dev/null; then
        pkgs+=(busybox-static)
    fi
    if ((${#pkgs[@]})); then
        apt_install "${pkgs[@]}"
        # On a host with systemd, installing docker.io starts the daemon: give
        # it a moment rather than start a second one.
        local tries=0
        while ((tries++ < 20)); do
            if version="$(engine_version)"; then
                log "the engine answers after installation: server version $version"
                return 0
            fi
            [[ -n "$(live_dockerd_pids)" ]] || break
            sleep 0.5
        done
    else
        log "dockerd and a static busybox are installed; skipping apt-get"
    fi
    have "$DOCKERD" || die "cannot find $DOCKERD, the docker daemon"
    have "$DOCKER" || die "cannot find $DOCKER, the docker client"
    have setsid || die "setsid (util-linux) is needed to start dockerd in the background"
    start_engine
}

ensure_image() {
    if "$DOCKER" image inspect "$IMAGE" >/dev/null 2>&1; then
        log "test image $IMAGE is present"
        return 0
    fi

    local busybox
    if ! busybox="$(find_busybox)"; then
        if can_install; then
            apt_install busybox-static
            busybox="$(find_busybox)" || die "no statically linked busybox found after installing busybox-static"
        else
            die "the test image needs a statically linked busybox; install busybox-static (apt-get install -y busybox-static) or set BOTTLE_BUSYBOX"
        fi
    fi

    local applet have_applets
    have_applets="$("$busybox" --list)"
    for applet in "${APPLETS[@]:0:8}"; do
        grep -qx -- "$applet" <<<"$have_applets" || die "$busybox has no '$applet' applet"
    done

    log "building $IMAGE from $busybox"
    local tmp
    tmp="$(mktemp -d "${TMPDIR:-/tmp}/bottle-rootfs.XXXXXX")"
    # shellcheck disable=SC2064 # expand $tmp now: it is local to this function
    trap "rm -rf '$tmp'" EXIT
    local rootfs="$tmp/rootfs"
    mkdir -p "$rootfs/bin" "$rootfs/www" "$rootfs/etc" "$rootfs/tmp"
    chmod 1777 "$rootfs/tmp"
    cp "$busybox" "$rootfs/bin/busybox"
    chmod 0755 "$rootfs/bin/busybox"
    for applet in "${APPLETS[@]}"; do
        if grep -qx -- "$applet" <<<"$have_applets"; then
            ln -s busybox "$rootfs/bin/$applet"
        fi
    done
    printf 'bottle test bundle\n' >"$rootfs/www/index.html"
    printf 'root:x:0:0:root:/:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n' >"$rootfs/etc/passwd"
    printf 'root:x:0:\nnogroup:x:65534:\n' >"$rootfs/etc/group"

    # Files in the image belong to root whoever runs this script.
    local -a owner=()
    if tar --version 2>/dev/null | grep -q 'GNU tar'; then
        owner=(--owner=0 --group=0 --numeric-owner)
    fi
    tar ${owner[@]+"${owner[@]}"} -C "$rootfs" -c . |
        "$DOCKER" import \
            -c 'CMD ["/bin/httpd","-f","-p","8080","-h","/www"]' \
            -c 'EXPOSE 8080' \
            - "$IMAGE" >/dev/null
    log "imported test image $IMAGE"
}

ensure_engine
ensure_image
