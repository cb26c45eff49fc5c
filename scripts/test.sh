#!/usr/bin/env bash
# The full check that CI runs: engine up, lints, every test against a real
# engine, and no docker objects left behind.
#
# Extra arguments go to `cargo test`, e.g. `scripts/test.sh -- --nocapture`.
#
# Environment:
#   DOCKER              docker client (default: docker)
#   BOTTLE_TEST_IMAGE   test image (default: bottle-test-bundle:latest)
#   BOTTLE_KEEP_ENGINE  1 = leave a daemon that setup-engine.sh started running
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

DOCKER="${DOCKER:-docker}"
BOTTLE_TEST_IMAGE="${BOTTLE_TEST_IMAGE:-bottle-test-bundle:latest}"
export DOCKER BOTTLE_TEST_IMAGE

step() { printf '==> %s\n' "$*" >&2; }

# Set before setup-engine.sh runs, so that a daemon it started is stopped even
# when setup fails half-way. stop-engine.sh leaves alone any engine it did not start.
stop_engine() {
    if [[ "${BOTTLE_KEEP_ENGINE:-0}" == 1 ]]; then
        step "leaving the engine running (BOTTLE_KEEP_ENGINE=1)"
    else
        ./scripts/stop-engine.sh || true
    fi
}
trap stop_engine EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

step "setting up the engine and the test image"
./scripts/setup-engine.sh

# IDs of docker objects that carry bottle's labels, sorted, one per line.
labelled_containers() { "$DOCKER" ps -a --filter label=bottle.slug -q | sort; }
labelled_networks() { "$DOCKER" network ls --filter label=bottle.slug -q | sort; }

# On a developer's engine, real bottles may already be up; only what the tests
# leave behind counts as a leak.
containers_before="$(labelled_containers)"
networks_before="$(labelled_networks)"
if [[ -n "$containers_before$networks_before" ]]; then
    step "note: the engine already has bottle-labelled objects; they will not count as leaks"
fi

step "cargo fmt --check"
cargo fmt --check

step "cargo clippy --all-targets -- -D warnings"
cargo clippy --all-targets -- -D warnings

if command -v python3 >/dev/null 2>&1; then
    step "subnet test vectors are up to date"
    python3 scripts/subnet_vectors.py --check fixtures/subnet-vectors.json
else
    step "python3 not found: skipping the subnet vector check"
fi

if command -v shellcheck >/dev/null 2>&1; then
    step "shellcheck"
    shellcheck scripts/*.sh .ci/run
fi

# The real-engine lifecycle runs once through every docker CLI found here: the
# docker.io package's CLI 20.10 and the newer one in /usr/local/bin.
if [[ -z "${BOTTLE_TEST_CLIS:-}" ]]; then
    clis=()
    for c in /usr/bin/docker /usr/local/bin/docker; do
        if [[ -x "$c" ]]; then clis+=("$c"); fi
    done
    BOTTLE_TEST_CLIS="$(IFS=:; echo "${clis[*]:-$DOCKER}")"
fi
export BOTTLE_TEST_CLIS
step "real-engine tests run through: $BOTTLE_TEST_CLIS"

step "cargo test${*:+ $*}"
test_status=0
INSTA_UPDATE=no BOTTLE_REQUIRE_DOCKER=1 BOTTLE_TEST_IMAGE="$BOTTLE_TEST_IMAGE" cargo test "$@" ||
    test_status=$?

# Checked even when tests failed: a leak often explains the failure.
step "checking that the tests left no containers or networks behind"
mapfile -t leaked_containers < <(comm -13 <(printf '%s\n' "$containers_before") <(labelled_containers) | sed '/^$/d')
mapfile -t leaked_networks < <(comm -13 <(printf '%s\n' "$networks_before") <(labelled_networks) | sed '/^$/d')
if ((${#leaked_containers[@]} + ${#leaked_networks[@]})); then
    printf 'error: the tests left docker objects labelled bottle.slug behind:\n' >&2
    for id in ${leaked_containers[@]+"${leaked_containers[@]}"}; do
        name="$("$DOCKER" inspect --format '{{.Name}} ({{.State.Status}})' "$id" 2>/dev/null || true)"
        printf '  container %s %s\n' "$id" "${name#/}" >&2
    done
    for id in ${leaked_networks[@]+"${leaked_networks[@]}"}; do
        name="$("$DOCKER" network inspect --format '{{.Name}}' "$id" 2>/dev/null || true)"
        printf '  network %s %s\n' "$id" "$name" >&2
    done
    printf 'remove them with: %s rm -f <container>... && %s network rm <network>...\n' "$DOCKER" "$DOCKER" >&2
    exit 1
fi

if ((test_status != 0)); then
    step "cargo test failed (exit status $test_status)"
    exit "$test_status"
fi
step "all checks passed"
