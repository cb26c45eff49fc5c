#!/usr/bin/env bash
# A short tour of bottle against a real engine: bring a bottle up, fetch a page
# from its bundle through the published loopback port, and tear it down twice
# to show that teardown is idempotent.
#
# It sets up only what it uses: nothing when docker answers and has the image;
# otherwise dockerd (on its local socket only) and the image, through
# setup-engine.sh with BOTTLE_SETUP_PODMAN=0 BOTTLE_SETUP_REMOTE=0: never podman,
# never a TCP endpoint. `demo.sh --plan` prints the parts it would ask
# setup-engine.sh for (nothing, or `engine` and `image`) and does nothing else.
#
# Everything it creates is removed on exit, also on failure or Ctrl-C, and a
# dockerd that its own setup started is stopped again.
#
# Environment:
#   DOCKER              docker client (default: docker); bottle uses the same
#   BOTTLE_TEST_IMAGE   bundle image (default: bottle-test-bundle:latest)
#   BOTTLE_ENGINE_STATE setup-engine.sh's state dir (default: /tmp/bottle-engine)
#   BOTTLE_KEEP_ENGINE  1 = leave a dockerd that the demo's setup started running
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

DOCKER="${DOCKER:-docker}"
IMAGE="${BOTTLE_TEST_IMAGE:-bottle-test-bundle:latest}"
export DOCKER BOTTLE_TEST_IMAGE="$IMAGE"
# bottle runs the same client as the scripts, unless told otherwise.
export BOTTLE_ENGINE="${BOTTLE_ENGINE:-$DOCKER}"

BOTTLE="${CARGO_TARGET_DIR:-target}/release/bottle"
# A prefix of the demo's own, whatever BOTTLE_PREFIX says: the demo replaces and then removes its
# bottle, and must never touch a user's own `demo` bottle (bot-bottle-*-demo).
export BOTTLE_PREFIX=bottle-demo
SLUG=demo
CONTAINER_PORT=8080
MARKER="${BOTTLE_ENGINE_STATE:-/tmp/bottle-engine}/started-by-bottle"

# The demo needs an engine that answers and has the image, and nothing else.
ready() {
    "$DOCKER" version --format '{{.Server.Version}}' >/dev/null 2>&1 &&
        "$DOCKER" image inspect "$IMAGE" >/dev/null 2>&1
}
setup() { BOTTLE_SETUP_PODMAN=0 BOTTLE_SETUP_REMOTE=0 ./scripts/setup-engine.sh "$@"; }

case "$*" in
    --plan)
        ready || setup --plan
        exit 0
        ;;
    "") ;;
    *)
        printf 'usage: demo.sh [--plan]\n' >&2
        exit 2
        ;;
esac

step() { printf '==> %s\n' "$*"; }

need_down=0
ran_setup=0
marker_before=""
cleanup() {
    local status=$?
    trap - EXIT INT TERM
    if ((need_down)); then
        step "cleaning up: $BOTTLE down $SLUG"
        "$BOTTLE" down "$SLUG" || printf "warning: \`bottle down %s\` failed; remove it by hand\n" "$SLUG" >&2
    fi
    # A marker that this run's setup wrote means it started dockerd, also when
    # setup failed half-way: stop that daemon again, and nothing else.
    if ((ran_setup)) && [[ -e "$MARKER" && "$(cat "$MARKER" 2>/dev/null)" != "$marker_before" ]]; then
        if [[ "${BOTTLE_KEEP_ENGINE:-0}" == 1 ]]; then
            step "leaving the dockerd that setup started running (BOTTLE_KEEP_ENGINE=1)"
        else
            BOTTLE_STOP_PARTS=dockerd ./scripts/stop-engine.sh || true
        fi
    fi
    if ((status != 0)); then
        printf 'demo failed (exit status %s)\n' "$status" >&2
    fi
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Fetches an http URL on 127.0.0.1 with whatever client is installed, never
# through a proxy. (busybox 1.35's `wget -T` crashes, hence `timeout`.)
fetch() {
    local url="$1"
    if command -v curl >/dev/null 2>&1; then
        curl -fsS --noproxy '*' --max-time 5 "$url"
    elif command -v wget >/dev/null 2>&1 && wget --version 2>/dev/null | grep -q 'GNU Wget'; then
        wget --no-proxy -qO- -T 5 "$url"
    elif command -v busybox >/dev/null 2>&1; then
        timeout 5 busybox wget -Y off -qO- "$url"
    else
        printf 'error: need curl, wget or busybox to fetch %s\n' "$url" >&2
        return 1
    fi
}

if ready; then
    step "the engine answers and has $IMAGE: nothing to set up"
else
    step "setting up dockerd and the test image ($IMAGE), nothing else"
    marker_before="$(cat "$MARKER" 2>/dev/null || true)"
    ran_setup=1
    setup >/dev/null
fi

step "cargo build --release"
cargo build --release

step "$BOTTLE up $SLUG --image $IMAGE -p $CONTAINER_PORT --json"
need_down=1
"$BOTTLE" up "$SLUG" --image "$IMAGE" -p "$CONTAINER_PORT" --json

step "$BOTTLE port $SLUG $CONTAINER_PORT"
address="$("$BOTTLE" port "$SLUG" "$CONTAINER_PORT")"
printf '%s\n' "$address"
host_ip="${address%:*}"
host_port="${address##*:}"
if [[ "$host_ip" != 127.0.0.1 ]]; then
    printf 'error: expected the port on 127.0.0.1, got %s; this demo only talks to 127.0.0.1\n' "$address" >&2
    exit 1
fi
if [[ ! "$host_port" =~ ^[0-9]+$ ]] || ((host_port < 1 || host_port > 65535)); then
    printf "error: \`bottle port\` printed %q, not HOST_IP:HOST_PORT\n" "$address" >&2
    exit 1
fi

url="http://127.0.0.1:$host_port/"
step "fetching $url"
body=""
for attempt in $(seq 1 20); do
    if body="$(fetch "$url" 2>/dev/null)"; then
        break
    fi
    body=""
    sleep 0.5
done
if [[ -z "$body" ]]; then
    printf 'error: no answer from %s after %s attempts\n' "$url" "$attempt" >&2
    fetch "$url" || true
    exit 1
fi
printf '%s\n' "$body"

# Runs `bottle down` and shows its exit status, which must be 0.
down() {
    local status=0
    "$BOTTLE" down "$SLUG" || status=$?
    echo "exit status: $status"
    return "$status"
}

step "$BOTTLE down $SLUG"
down
need_down=0

step "$BOTTLE down $SLUG (again: already gone, still succeeds)"
down

step "done"
