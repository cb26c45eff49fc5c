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
# 4. Podman (unless BOTTLE_SETUP_PODMAN=0), as root: install podman, netavark
#    and runc with apt-get when missing; write the containers.conf drop-in
#    $BOTTLE_PODMAN_CONF that lets podman 4.3 run containers in an unprivileged
#    sandbox (see PODMAN-NOTES.md); copy the test image into podman's store
#    (`docker save | podman load`, else import it from the same busybox); start
#    `podman system service` on $BOTTLE_PODMAN_SOCKET for the docker CLI.
# 5. The remote path (unless BOTTLE_SETUP_REMOTE=0): a socat forward from
#    127.0.0.1:$BOTTLE_REMOTE_PORT to the docker socket, so that
#    DOCKER_HOST=tcp://127.0.0.1:PORT exercises the docker CLI's TCP transport.
#
# Daemons it starts (podman service, socat) get a pidfile and a marker in
# $BOTTLE_ENGINE_STATE, like dockerd, so scripts/stop-engine.sh stops exactly them.
# A part that cannot be set up fails the script. On success it prints, on
# stdout, the engine endpoints it set up, for scripts/test.sh:
#   BOTTLE_REMOTE_HOST=tcp://127.0.0.1:23750
#   BOTTLE_PODMAN_SOCKET=unix:///run/bottle-podman.sock
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
#   BOTTLE_SETUP_PODMAN  0 = leave podman alone (default: 1)
#   PODMAN               podman CLI (default: podman)
#   BOTTLE_PODMAN_CONF   the drop-in to write
#                        (default: /etc/containers/containers.conf.d/50-bottle.conf)
#   BOTTLE_PODMAN_SUBNET podman's default network, off 10.88.0.0/16 and off
#                        bottle's pool 10.213.0.0/16 (default: 10.87.0.0/24)
#   BOTTLE_PODMAN_SOCKET podman's docker-compatible socket
#                        (default: unix:///run/bottle-podman.sock)
#   BOTTLE_SETUP_REMOTE  0 = no TCP forward (default: 1)
#   BOTTLE_REMOTE_PORT   loopback port of the forward (default: 23750)
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

    rootfs_tar |
        "$DOCKER" import "${IMPORT_CHANGES[@]}" - "$IMAGE" >/dev/null
    log "imported test image $IMAGE"
}

# Builds the test image's root file system from a static busybox and writes it
# as a tar stream to stdout.
rootfs_tar() {
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

    log "building the test image from $busybox"
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
    tar ${owner[@]+"${owner[@]}"} -C "$rootfs" -c .
}

# The image's config, for `docker import` and `podman import`.
IMPORT_CHANGES=(-c 'CMD ["/bin/httpd","-f","-p","8080","-h","/www"]' -c 'EXPOSE 8080')

# ---------------------------------------------------------------------------
# Podman

SETUP_PODMAN="${BOTTLE_SETUP_PODMAN:-1}"
PODMAN="${PODMAN:-podman}"
PODMAN_CONF="${BOTTLE_PODMAN_CONF:-/etc/containers/containers.conf.d/50-bottle.conf}"
PODMAN_SUBNET="${BOTTLE_PODMAN_SUBNET:-10.87.0.0/24}"
PODMAN_SOCKET="${BOTTLE_PODMAN_SOCKET:-unix:///run/bottle-podman.sock}"
PODMAN_MARKER="$STATE_DIR/podman-service.started-by-bottle"
PODMAN_PIDFILE="$STATE_DIR/podman-service.pid"
PODMAN_LOG="$STATE_DIR/podman-service.log"

# What podman 4.3.1 needs to run a container here, each line found by trying:
# - the sandbox has no CAP_SYS_RESOURCE, and podman asks for nofile 1048576:
#   `crun: setrlimit RLIMIT_NOFILE: Operation not permitted` (nproc 65536 fails too);
# - crun 1.8.1 then fails on `cgroups in hybrid mode`: runc and cgroupfs work;
# - no journald: events go to a file;
# - podman's default network 10.88.0.0/16 makes every candidate of a pool inside
#   it fail with `subnet … is already used on the host or by another config`.
podman_conf() {
    cat <<EOF
# Written by bottle's scripts/setup-engine.sh; rewritten when it differs.
[containers]
default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]

[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"

[network]
network_backend = "netavark"
default_subnet = "$PODMAN_SUBNET"
EOF
}

ensure_podman_installed() {
    local -a pkgs=()
    have "$PODMAN" || pkgs+=(podman)
    [[ -x /usr/lib/podman/netavark ]] || have netavark || pkgs+=(netavark)
    have runc || pkgs+=(runc)
    if ((${#pkgs[@]})); then
        can_install || die "podman needs ${pkgs[*]}; install them (as root: apt-get install -y ${pkgs[*]}) or set BOTTLE_SETUP_PODMAN=0"
        apt_install "${pkgs[@]}"
    fi
    have "$PODMAN" || die "cannot find $PODMAN after installing it"
}

ensure_podman_conf() {
    local want
    want="$(podman_conf)"
    if [[ -f "$PODMAN_CONF" && "$(<"$PODMAN_CONF")" == "$want" ]]; then
        log "podman configuration $PODMAN_CONF is up to date"
    else
        is_root || die "writing $PODMAN_CONF needs root (or set BOTTLE_SETUP_PODMAN=0)"
        mkdir -p "$(dirname "$PODMAN_CONF")"
        printf '%s\n' "$want" >"$PODMAN_CONF"
        log "wrote podman configuration $PODMAN_CONF"
    fi
    local got
    got="$("$PODMAN" info --format '{{.Host.NetworkBackend}} {{.Host.OCIRuntime.Name}} {{.Host.CgroupManager}}' 2>&1)" ||
        die "podman info failed: $got"
    # A store that already has CNI networks or containers keeps CNI until `podman system reset`.
    [[ "$got" == "netavark runc cgroupfs" ]] ||
        die "podman does not use the configuration of $PODMAN_CONF (got: $got; want: netavark runc cgroupfs); another containers.conf may override it, or the store predates it (podman system reset)"
}

ensure_podman_image() {
    if "$PODMAN" image exists "$IMAGE"; then
        log "test image $IMAGE is present in podman"
        return 0
    fi
    if "$DOCKER" image inspect "$IMAGE" >/dev/null 2>&1; then
        log "copying $IMAGE from docker into podman"
        "$DOCKER" save "$IMAGE" | "$PODMAN" load >&2 || die "docker save | podman load of $IMAGE failed"
    else
        rootfs_tar | "$PODMAN" import "${IMPORT_CHANGES[@]}" - "$IMAGE" >/dev/null ||
            die "podman import of $IMAGE failed"
    fi
    "$PODMAN" image exists "$IMAGE" || die "podman does not find $IMAGE after loading it"
    # Podman stores it as localhost/NAME:TAG, and resolves the short name to it.
    log "test image $IMAGE is in podman as $("$PODMAN" image inspect --format '{{index .RepoTags 0}}' "$IMAGE")"
}

podman_service_answers() {
    curl -sf --max-time 2 --unix-socket "${PODMAN_SOCKET#unix://}" http://d/_ping >/dev/null 2>&1
}

# The pid in pidfile $1, if that process is alive (not a zombie that nobody
# reaped) and its command is $2.
live_pid_of() {
    local pidfile="$1" comm="$2" pid
    [[ -s "$pidfile" ]] || return 1
    pid="$(<"$pidfile")"
    [[ "$pid" =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null || return 1
    [[ "$(ps -o stat= -p "$pid" 2>/dev/null)" != Z* ]] || return 1
    [[ "$(cat "/proc/$pid/comm" 2>/dev/null)" == "$comm" ]] || return 1
    printf '%s\n' "$pid"
}

ensure_podman_service() {
    [[ "$PODMAN_SOCKET" == unix://* ]] || die "BOTTLE_PODMAN_SOCKET must be unix://PATH, not $PODMAN_SOCKET"
    have curl || die "curl is needed to check podman's socket"
    local pid
    if podman_service_answers; then
        log "podman's socket $PODMAN_SOCKET answers"
        return 0
    fi
    if pid="$(live_pid_of "$PODMAN_PIDFILE" podman)"; then
        log "podman system service started earlier (pid $pid) is running; waiting for it"
    else
        mkdir -p "$STATE_DIR" "$(dirname "${PODMAN_SOCKET#unix://}")"
        rm -f "${PODMAN_SOCKET#unix://}"
        log "starting podman system service on $PODMAN_SOCKET (log: $PODMAN_LOG)"
        setsid "$PODMAN" system service --time=0 "$PODMAN_SOCKET" </dev/null >>"$PODMAN_LOG" 2>&1 &
        pid=$!
        printf '%s\n' "$pid" >"$PODMAN_PIDFILE"
        printf 'pid=%s\ndaemon=podman\nsocket=%s\nstarted=%s\n' \
            "$pid" "$PODMAN_SOCKET" "$(date -u +%Y-%m-%dT%H:%M:%SZ)" >"$PODMAN_MARKER"
    fi
    local deadline=$((SECONDS + WAIT_SECS))
    until podman_service_answers; do
        if ! kill -0 "$pid" 2>/dev/null || [[ "$(ps -o stat= -p "$pid" 2>/dev/null)" == Z* ]]; then
            tail -n 20 "$PODMAN_LOG" >&2 || true
            die "podman system service (pid $pid) exited"
        fi
        ((SECONDS < deadline)) || die "podman system service (pid $pid) did not answer on $PODMAN_SOCKET within ${WAIT_SECS}s"
        sleep 0.2
    done
    log "podman system service (pid $pid) answers on $PODMAN_SOCKET"
}

# ---------------------------------------------------------------------------
# The remote path: the docker CLI over TCP, to a loopback forward of the socket.

SETUP_REMOTE="${BOTTLE_SETUP_REMOTE:-1}"
REMOTE_PORT="${BOTTLE_REMOTE_PORT:-23750}"
SOCAT_MARKER="$STATE_DIR/socat.started-by-bottle"
SOCAT_PIDFILE="$STATE_DIR/socat.pid"
SOCAT_LOG="$STATE_DIR/socat.log"

remote_answers() {
    DOCKER_HOST="tcp://127.0.0.1:$REMOTE_PORT" "$DOCKER" version --format '{{.Server.Version}}' >/dev/null 2>&1
}

ensure_remote() {
    local target="${DOCKER_HOST:-unix:///var/run/docker.sock}"
    [[ "$target" == unix://* ]] || die "the TCP forward needs the engine on a unix socket, not DOCKER_HOST=$target"
    local pid
    if pid="$(live_pid_of "$SOCAT_PIDFILE" socat)"; then
        log "socat forward started earlier (pid $pid) is running"
    else
        if ! have socat; then
            can_install || die "the remote path needs socat (apt-get install -y socat) or BOTTLE_SETUP_REMOTE=0"
            apt_install socat
        fi
        if remote_answers; then
            log "an engine already answers on 127.0.0.1:$REMOTE_PORT, not started by this tooling; using it"
            return 0
        fi
        mkdir -p "$STATE_DIR"
        log "forwarding 127.0.0.1:$REMOTE_PORT to ${target#unix://} with socat (log: $SOCAT_LOG)"
        setsid socat "TCP-LISTEN:$REMOTE_PORT,bind=127.0.0.1,reuseaddr,fork" "UNIX-CONNECT:${target#unix://}" \
            </dev/null >>"$SOCAT_LOG" 2>&1 &
        pid=$!
        printf '%s\n' "$pid" >"$SOCAT_PIDFILE"
        printf 'pid=%s\ndaemon=socat\nport=%s\nstarted=%s\n' \
            "$pid" "$REMOTE_PORT" "$(date -u +%Y-%m-%dT%H:%M:%SZ)" >"$SOCAT_MARKER"
    fi
    local deadline=$((SECONDS + 10))
    until remote_answers; do
        if ! kill -0 "$pid" 2>/dev/null || [[ "$(ps -o stat= -p "$pid" 2>/dev/null)" == Z* ]]; then
            tail -n 5 "$SOCAT_LOG" >&2 || true
            die "socat (pid $pid) exited; is port $REMOTE_PORT taken? (set BOTTLE_REMOTE_PORT)"
        fi
        ((SECONDS < deadline)) || die "the engine does not answer through tcp://127.0.0.1:$REMOTE_PORT"
        sleep 0.2
    done
    log "the engine answers on tcp://127.0.0.1:$REMOTE_PORT (socat pid $pid)"
}

ensure_engine
ensure_image
if [[ "$SETUP_REMOTE" != 0 ]]; then
    ensure_remote
    printf 'BOTTLE_REMOTE_HOST=tcp://127.0.0.1:%s\n' "$REMOTE_PORT"
fi
if [[ "$SETUP_PODMAN" != 0 ]]; then
    ensure_podman_installed
    ensure_podman_conf
    ensure_podman_image
    ensure_podman_service
    printf 'BOTTLE_PODMAN_SOCKET=%s\n' "$PODMAN_SOCKET"
fi
