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
#    `podman system service` on $BOTTLE_PODMAN_SOCKET for the docker CLI, and
#    check that the socket is ours alone (mode 0600, or 0660 with our group) in
#    a directory that is not world-writable.
# 5. The remote path (unless BOTTLE_SETUP_REMOTE=0): dockerd's own TLS endpoint
#    on 127.0.0.1:$BOTTLE_REMOTE_PORT, with `--tlsverify`, so that the docker CLI
#    reaches it over TCP only with a client certificate. openssl makes a CA, a
#    server certificate (SAN IP:127.0.0.1) and a client certificate in
#    $BOTTLE_ENGINE_STATE/tls (mode 0700); the client's ca.pem, cert.pem and
#    key.pem are in $BOTTLE_ENGINE_STATE/tls/client, the DOCKER_CERT_PATH. The
#    dockerd this tooling starts listens there; one it started earlier without
#    the endpoint is restarted with it. A dockerd that this tooling did not
#    start is never touched: the remote path is then left out. An engine socket
#    on TCP without TLS client authentication is never left behind (an older
#    setup's socat forward is stopped), and setup fails if the endpoint answers
#    a client that has no certificate.
#
# Daemons it starts (dockerd, podman service) get a pidfile and a marker in
# $BOTTLE_ENGINE_STATE (mode 0700, ours), so scripts/stop-engine.sh stops exactly
# them. A part that cannot be set up fails the script. On success it prints, on
# stdout, the engine endpoints it set up, for scripts/test.sh: the remote
# path's DOCKER_HOST, DOCKER_TLS_VERIFY and DOCKER_CERT_PATH, and podman's socket:
#   BOTTLE_REMOTE_HOST=tcp://127.0.0.1:23760
#   BOTTLE_REMOTE_TLS_VERIFY=1
#   BOTTLE_REMOTE_CERT_PATH=/tmp/bottle-engine/tls/client
#   BOTTLE_PODMAN_SOCKET=unix:///run/bottle-podman.sock
#
# Idempotent: rerunning it with an engine up and the image present changes nothing.
#
# `setup-engine.sh --plan` prints the parts this environment asks for (engine,
# image, remote, podman), one a line, and does nothing else.
#
# Environment:
#   DOCKER               docker client to run (default: docker)
#   DOCKERD              daemon to start (default: dockerd)
#   BOTTLE_ENGINE_STATE  state dir for logs, pidfiles, markers and certificates
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
#   BOTTLE_SETUP_REMOTE  0 = no TLS endpoint (default: 1)
#   BOTTLE_REMOTE_PORT   loopback port of the TLS endpoint (default: 23760)
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

SETUP_PODMAN="${BOTTLE_SETUP_PODMAN:-1}"
SETUP_REMOTE="${BOTTLE_SETUP_REMOTE:-1}"
REMOTE_PORT="${BOTTLE_REMOTE_PORT:-23760}"
REMOTE_HOST="tcp://127.0.0.1:$REMOTE_PORT"
TLS_DIR="$STATE_DIR/tls"
CLIENT_CERT_DIR="$TLS_DIR/client"

# Applets the test image links to busybox. The first eight are what the tests
# rely on; the rest make debugging a bundle by hand less painful.
APPLETS=(sh httpd sleep cat env nc ls echo wget true false mkdir rm ps id printf test)

log() { printf 'setup-engine: %s\n' "$*" >&2; }
die() {
    log "error: $*"
    exit 1
}

# The state dir holds the TLS keys and the pidfiles that stop-engine.sh kills
# by: it must be ours, a real directory, and closed to everyone else. It lives
# in /tmp by default, where anyone could have made it first.
state_dir_ready=0
ensure_state_dir() {
    ((state_dir_ready)) && return 0
    mkdir -p "$(dirname "$STATE_DIR")"
    mkdir -m 0700 "$STATE_DIR" 2>/dev/null || true
    [[ -d "$STATE_DIR" && ! -L "$STATE_DIR" ]] || die "$STATE_DIR is a symlink or not a directory; remove it or set BOTTLE_ENGINE_STATE"
    local owner
    owner="$(stat -c %u "$STATE_DIR")"
    [[ "$owner" == "$(id -u)" ]] ||
        die "$STATE_DIR belongs to uid $owner, not to this user; remove it or set BOTTLE_ENGINE_STATE"
    chmod 0700 "$STATE_DIR"
    state_dir_ready=1
}

# The parts this environment asks for, one a line: what `--plan` prints.
planned_parts() {
    printf 'engine\nimage\n'
    [[ "$SETUP_REMOTE" == 0 ]] || printf 'remote\n'
    [[ "$SETUP_PODMAN" == 0 ]] || printf 'podman\n'
}

check_switches() {
    local name value
    for name in BOTTLE_SETUP_PODMAN BOTTLE_SETUP_REMOTE; do
        value="${!name:-1}"
        [[ "$value" == 0 || "$value" == 1 ]] || die "$name must be 0 or 1, not '$value'"
    done
    if [[ ! "$REMOTE_PORT" =~ ^[0-9]+$ ]] || ((REMOTE_PORT < 1 || REMOTE_PORT > 65535)); then
        die "BOTTLE_REMOTE_PORT must be a port number, not '$REMOTE_PORT'"
    fi
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
    if [[ "$SETUP_REMOTE" == 1 ]]; then
        ensure_certs
        # With any -H, dockerd listens only where told: keep the local socket.
        ((${#host_args[@]})) || host_args=(-H unix:///var/run/docker.sock)
        host_args+=(-H "$REMOTE_HOST" --tlsverify
            --tlscacert "$TLS_DIR/ca.pem" --tlscert "$TLS_DIR/server-cert.pem" --tlskey "$TLS_DIR/server-key.pem")
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

        ensure_state_dir
        rm -f "$PIDFILE"
        log "starting $DOCKERD in the background (log: $LOGFILE)"
        [[ "$SETUP_REMOTE" != 1 ]] || log "with its TLS endpoint $REMOTE_HOST (client certificates only)"
        # A background job of a non-interactive shell is not a process-group
        # leader, so setsid execs without forking and $! is dockerd itself.
        setsid "$DOCKERD" --pidfile "$PIDFILE" ${host_args[@]+"${host_args[@]}"} \
            </dev/null >>"$LOGFILE" 2>&1 &
        pid=$!
        # Leave the marker at once: if anything below fails, stop-engine.sh
        # can still find and stop this daemon.
        printf 'pid=%s\ndaemon=%s\nstarted=%s\n' \
            "$pid" "$DOCKERD" "$(date -u +%Y-%m-%dT%H:%M:%SZ)" >"$MARKER"
        # This daemon loads the certificates as they are now.
        certs_changed=0
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
        ensure_state_dir
        mkdir -p "$(dirname "${PODMAN_SOCKET#unix://}")"
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


# Podman's socket drives the engine as whoever owns it: it must be ours alone,
# in a directory where nobody else can swap it for a socket of their own.
check_podman_socket_private() {
    local path="${PODMAN_SOCKET#unix://}" mode owner group dir dir_mode
    read -r mode owner group < <(stat -Lc '%a %u %g' "$path") || die "cannot stat podman's socket $path"
    if [[ "$owner" != "$(id -u)" ]] || { [[ "$mode" != 600 ]] && [[ "$mode" != 660 || "$group" != "$(id -g)" ]]; }; then
        die "podman's socket $path has mode $mode, uid $owner, gid $group: it must be ours alone (0600, or 0660 with our group)"
    fi
    dir="$(dirname "$path")"
    dir_mode="$(stat -Lc '%a' "$dir")"
    (((8#$dir_mode & 8#002) == 0)) || die "$dir is world-writable (mode $dir_mode): put podman's socket elsewhere (BOTTLE_PODMAN_SOCKET)"
    log "podman's socket $path is private (mode $mode) in $dir (mode $dir_mode)"
}

# ---------------------------------------------------------------------------
# The remote path: the docker CLI over TCP to dockerd's own TLS endpoint, which
# serves only clients with a certificate from this tooling's CA.

# The docker CLI with the remote path's settings and none of the caller's.
remote_docker() {
    env -u DOCKER_CONTEXT DOCKER_HOST="$REMOTE_HOST" DOCKER_TLS_VERIFY=1 DOCKER_CERT_PATH="$CLIENT_CERT_DIR" \
        "$DOCKER" "$@"
}

remote_answers() {
    remote_docker version --format '{{.Server.Version}}' >/dev/null 2>&1
}

# Succeeds if the endpoint refuses both a plain client and a TLS client that
# trusts our CA but has no certificate of its own (a cert dir with ca.pem only).
# An empty DOCKER_CONFIG keeps the caller's ~/.docker certificates out.
remote_refuses_strangers() {
    local tmp status=0
    tmp="$(mktemp -d "${TMPDIR:-/tmp}/bottle-noauth.XXXXXX")"
    mkdir "$tmp/config" "$tmp/ca-only"
    cp "$CLIENT_CERT_DIR/ca.pem" "$tmp/ca-only/ca.pem"
    local -a stranger=(env -u DOCKER_CONTEXT -u DOCKER_TLS_VERIFY -u DOCKER_CERT_PATH -u DOCKER_TLS
        DOCKER_CONFIG="$tmp/config" DOCKER_HOST="$REMOTE_HOST")
    if "${stranger[@]}" "$DOCKER" version --format '{{.Server.Version}}' >/dev/null 2>&1; then
        log "error: $REMOTE_HOST answers a client that does not speak TLS"
        status=1
    fi
    if "${stranger[@]}" DOCKER_TLS_VERIFY=1 DOCKER_CERT_PATH="$tmp/ca-only" \
        "$DOCKER" version --format '{{.Server.Version}}' >/dev/null 2>&1; then
        log "error: $REMOTE_HOST answers a TLS client that has no certificate"
        status=1
    fi
    rm -rf "$tmp"
    return "$status"
}

# Succeeds if the certificates exist, chain to our CA and stay valid for a day.
certs_ok() {
    local f
    for f in "$TLS_DIR"/{ca.pem,ca-key.pem,server-cert.pem,server-key.pem} "$CLIENT_CERT_DIR"/{ca.pem,cert.pem,key.pem}; do
        [[ -s "$f" ]] || return 1
    done
    for f in "$TLS_DIR/ca.pem" "$TLS_DIR/server-cert.pem" "$CLIENT_CERT_DIR/cert.pem"; do
        openssl x509 -noout -checkend 86400 -in "$f" >/dev/null 2>&1 || return 1
    done
    openssl verify -CAfile "$TLS_DIR/ca.pem" "$TLS_DIR/server-cert.pem" "$CLIENT_CERT_DIR/cert.pem" >/dev/null 2>&1 &&
        cmp -s "$TLS_DIR/ca.pem" "$CLIENT_CERT_DIR/ca.pem"
}

# Makes a CA, a server certificate for 127.0.0.1 and a client certificate, with
# EC P-256 keys, unless valid ones are there. Sets certs_changed when it made new
# ones: a running dockerd keeps the CA it loaded until it restarts.
certs_changed=0
make_cert() { # NAME CN EXTENSION...: NAME-key.pem and NAME-cert.pem, signed by ca.pem
    openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1-key.pem"
    openssl req -new -key "$1-key.pem" -subj "/CN=$2" -out "$1.csr"
    openssl x509 -req -in "$1.csr" -CA ca.pem -CAkey ca-key.pem -CAcreateserial -days 825 \
        -out "$1-cert.pem" -extfile <(printf '%s\n' "${@:3}")
    rm -f "$1.csr"
}
ensure_certs() {
    ensure_state_dir
    if have openssl && certs_ok; then
        return 0
    fi
    if ! have openssl; then
        can_install || die "the remote path needs openssl (apt-get install -y openssl) or BOTTLE_SETUP_REMOTE=0"
        apt_install openssl
    fi
    log "making a CA, a server certificate (IP:127.0.0.1) and a client certificate in $TLS_DIR"
    rm -rf "$TLS_DIR"
    (
        umask 077
        mkdir -p "$CLIENT_CERT_DIR"
        cd "$TLS_DIR"
        openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out ca-key.pem
        openssl req -x509 -new -key ca-key.pem -out ca.pem -days 825 -subj "/CN=bottle test CA" \
            -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign
        make_cert server 127.0.0.1 subjectAltName=IP:127.0.0.1 extendedKeyUsage=serverAuth \
            keyUsage=critical,digitalSignature
        make_cert client "bottle test client" extendedKeyUsage=clientAuth keyUsage=critical,digitalSignature
        mv client-key.pem client/key.pem
        mv client-cert.pem client/cert.pem
        cp ca.pem client/ca.pem
        rm -f ca.srl
    ) >&2 2>"$STATE_DIR/openssl.log" || {
        cat "$STATE_DIR/openssl.log" >&2
        die "openssl could not make the certificates"
    }
    certs_ok || die "the certificates in $TLS_DIR do not verify against their CA"
    certs_changed=1
}

# Succeeds if dockerd pid $1 was started with this tooling's TLS endpoint.
dockerd_serves_tls() {
    local -a argv
    mapfile -d '' -t argv <"/proc/$1/cmdline" 2>/dev/null || return 1
    local joined=" ${argv[*]} "
    [[ "$joined" == *" --tlsverify "* && "$joined" == *" -H $REMOTE_HOST "* &&
        "$joined" == *" --tlscacert $TLS_DIR/ca.pem "* ]]
}

# The TLS endpoint, on the dockerd this tooling started. Fails, saying so in
# one line, when dockerd is not ours: the user's daemon is never restarted.
ensure_remote() {
    local pid
    if ! pid="$(our_dockerd_pid)"; then
        log "the running dockerd was not started by this tooling: leaving it alone, and the remote path out"
        return 1
    fi
    ensure_certs
    if ((certs_changed)) || ! dockerd_serves_tls "$pid"; then
        log "restarting dockerd (pid $pid), which this tooling started, with the TLS endpoint $REMOTE_HOST"
        BOTTLE_ENGINE_STATE="$STATE_DIR" BOTTLE_STOP_PARTS=dockerd "$SCRIPT_DIR/stop-engine.sh"
        start_engine
        pid="$(our_dockerd_pid)" || die "dockerd did not come back"
    fi
    local deadline=$((SECONDS + WAIT_SECS))
    until remote_answers; do
        ((SECONDS < deadline)) || die "dockerd (pid $pid) does not answer on $REMOTE_HOST with the client certificate"
        sleep 0.2
    done
    if ! remote_refuses_strangers; then
        BOTTLE_ENGINE_STATE="$STATE_DIR" BOTTLE_STOP_PARTS=dockerd "$SCRIPT_DIR/stop-engine.sh" || true
        die "stopped dockerd (pid $pid): its TCP endpoint must refuse clients without a certificate"
    fi
    log "dockerd (pid $pid) answers on $REMOTE_HOST only to clients with a certificate of $TLS_DIR/ca.pem"
}

# An older version of this script forwarded 127.0.0.1:23750 to the docker socket
# with socat, open to every local user: stop such a forward if one is left.
stop_legacy_forward() {
    [[ -e "$STATE_DIR/socat.started-by-bottle" ]] || return 0
    log "stopping the unauthenticated socat forward that an older setup started"
    BOTTLE_ENGINE_STATE="$STATE_DIR" BOTTLE_STOP_PARTS=socat "$SCRIPT_DIR/stop-engine.sh" ||
        die "could not stop the socat forward; stop it by hand (pid in $STATE_DIR/socat.pid)"
}

case "$*" in
    --plan)
        check_switches
        planned_parts
        exit 0
        ;;
    "") ;;
    *) die "usage: setup-engine.sh [--plan]" ;;
esac
check_switches
stop_legacy_forward
ensure_engine
ensure_image
if [[ "$SETUP_REMOTE" == 1 ]] && ensure_remote; then
    printf 'BOTTLE_REMOTE_HOST=%s\nBOTTLE_REMOTE_TLS_VERIFY=1\nBOTTLE_REMOTE_CERT_PATH=%s\n' "$REMOTE_HOST" "$CLIENT_CERT_DIR"
fi
if [[ "$SETUP_PODMAN" == 1 ]]; then
    ensure_podman_installed
    ensure_podman_conf
    ensure_podman_image
    ensure_podman_service
    check_podman_socket_private
    printf 'BOTTLE_PODMAN_SOCKET=%s\n' "$PODMAN_SOCKET"
fi
