#!/usr/bin/env bash
# The full check that CI runs: engines up, lints, every test, the real-engine
# tests on every engine path, and no docker or podman objects left behind.
#
# Engine paths (see tests/it/real.rs), each running every real-engine test:
#   docker:/usr/bin/docker          docker CLI 20.10 -> the local engine
#   docker:/usr/local/bin/docker    docker CLI 28 -> the local engine
#   remote:tcp://127.0.0.1:PORT     docker CLI 28 over TCP to dockerd's TLS endpoint,
#                                   with the client certificate of BOTTLE_TEST_CERT_PATH
#   podman:podman                   native podman
#   podman-socket:unix:///...       docker CLI 28 -> podman's compatible socket
#
# Extra arguments go to `cargo test`, e.g. `scripts/test.sh -- --nocapture`.
#
# Environment:
#   DOCKER              docker client for setup and the leak check (default: docker)
#   BOTTLE_TEST_IMAGE   test image (default: bottle-test-bundle:latest)
#   BOTTLE_TEST_PATHS   engine paths to test on (default: all of the above that
#                       exist here); BOTTLE_SETUP_PODMAN=0 drops the podman ones,
#                       BOTTLE_SETUP_REMOTE=0 the remote one
#   BOTTLE_TEST_CERT_PATH  the remote path's client certificates (default: the ones
#                       setup-engine.sh made)
#   BOTTLE_KEEP_ENGINE  1 = leave the daemons that setup-engine.sh started running
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

step "setting up the engines and the test image"
setup_out="$(./scripts/setup-engine.sh)"
remote_host="$(sed -n 's/^BOTTLE_REMOTE_HOST=//p' <<<"$setup_out")"
remote_cert_path="$(sed -n 's/^BOTTLE_REMOTE_CERT_PATH=//p' <<<"$setup_out")"
podman_socket="$(sed -n 's/^BOTTLE_PODMAN_SOCKET=//p' <<<"$setup_out")"
if [[ -n "$podman_socket" ]]; then PODMAN="${PODMAN:-podman}"; else PODMAN=""; fi

# Engine-prefixed IDs (names for volumes) of the objects that carry bottle's labels, sorted, one
# per line: docker's, and podman's when podman is set up.
# The completion test runs bash, zsh and fish (issue 18): installed here when
# missing and this is root with apt-get, and then required.
step "shells for the completion test (bash, zsh, fish)"
missing_shells=()
for sh in zsh fish; do command -v "$sh" >/dev/null || missing_shells+=("$sh"); done
if [[ ${#missing_shells[@]} -gt 0 && "$(id -u)" == 0 ]] && command -v apt-get >/dev/null; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y "${missing_shells[@]}" >&2 \
        || { DEBIAN_FRONTEND=noninteractive apt-get update >&2 \
             && DEBIAN_FRONTEND=noninteractive apt-get install -y "${missing_shells[@]}" >&2; }
fi
if command -v zsh >/dev/null && command -v fish >/dev/null; then
    export BOTTLE_REQUIRE_SHELLS=1
else
    step "note: zsh or fish is missing; the completion test skips it"
fi

step "setting up the QEMU guest for the VM test (kernel and initramfs, cached)"
./scripts/setup-vm.sh >&2
export BOTTLE_REQUIRE_VM=1

labelled() {
    local e
    for e in "$DOCKER" ${PODMAN:+"$PODMAN"}; do
        "$e" ps -a --no-trunc --filter label=bottle.slug --format '{{.ID}}' | sed "s|^|$e container |"
        "$e" network ls --no-trunc --filter label=bottle.slug --format '{{.ID}}' | sed "s|^|$e network |"
        "$e" volume ls --filter label=bottle.slug --format '{{.Name}}' | sed "s|^|$e volume |"
    done | sort
}

# On a developer's engine, real bottles may already be up; only what the tests
# leave behind counts as a leak.
labelled_before="$(labelled)"
if [[ -n "$labelled_before" ]]; then
    step "note: the engines already have bottle-labelled objects; they will not count as leaks"
fi

step "cargo fmt --check"
cargo fmt --check

step "cargo clippy --all-targets -- -D warnings"
cargo clippy --all-targets -- -D warnings

# The library alone, as an embedder builds it: no command-line crate, and no warning either.
step "cargo clippy --lib --no-default-features -- -D warnings"
cargo clippy --lib --no-default-features -- -D warnings

if command -v python3 >/dev/null 2>&1; then
    step "subnet test vectors are up to date"
    python3 scripts/subnet_vectors.py --check fixtures/subnet-vectors.json
    step "host-port test vectors are up to date"
    python3 scripts/port_vectors.py --check fixtures/port-vectors.json
    step "placement test vectors are up to date"
    python3 scripts/placement_vectors.py --check fixtures/placement-vectors.json
else
    step "python3 not found: skipping the subnet, host-port and placement vector checks"
fi

if command -v shellcheck >/dev/null 2>&1; then
    step "shellcheck"
    shellcheck scripts/*.sh .ci/run
fi

# Every real-engine test runs on every engine path.
if [[ -z "${BOTTLE_TEST_PATHS:-}" ]]; then
    paths=()
    for c in /usr/bin/docker /usr/local/bin/docker; do
        if [[ -x "$c" ]]; then paths+=("docker:$c"); fi
    done
    ((${#paths[@]})) || paths+=("docker:$DOCKER")
    if [[ -n "$remote_host" ]]; then paths+=("remote:$remote_host"); fi
    if [[ -n "$podman_socket" ]]; then paths+=("podman:$PODMAN" "podman-socket:$podman_socket"); fi
    BOTTLE_TEST_PATHS="${paths[*]}"
fi
# The docker CLI of the remote and podman-socket paths: the newest one here.
if [[ -z "${BOTTLE_TEST_DOCKER:-}" ]]; then
    BOTTLE_TEST_DOCKER="$DOCKER"
    if [[ -x /usr/local/bin/docker ]]; then BOTTLE_TEST_DOCKER=/usr/local/bin/docker; fi
fi
export BOTTLE_TEST_PATHS BOTTLE_TEST_DOCKER
# The remote path's client certificate (DOCKER_CERT_PATH, with DOCKER_TLS_VERIFY=1).
if [[ -z "${BOTTLE_TEST_CERT_PATH:-}" && -n "$remote_cert_path" ]]; then
    export BOTTLE_TEST_CERT_PATH="$remote_cert_path"
fi
step "real-engine tests run on: $BOTTLE_TEST_PATHS (remote CLI: $BOTTLE_TEST_DOCKER${BOTTLE_TEST_CERT_PATH:+, certificates: $BOTTLE_TEST_CERT_PATH})"

# The contract's embedding example runs in tests/it/library.rs as a built binary.
step "cargo build --example embed"
cargo build --example embed

# Four test threads on two cores: the real-engine tests mostly wait on the engines, and
# measured on this 2-core machine the suite took 886 s of `cargo test` with the default two
# threads and 455 s with four, every test passing in both.
export RUST_TEST_THREADS="${RUST_TEST_THREADS:-4}"
step "cargo test${*:+ $*} (${RUST_TEST_THREADS} test threads)"
test_status=0
test_start=$SECONDS
# Race figures, the interrupt sweep's counts and the fleet test's tables (where the
# test slugs went, what each command did with one engine down) go to stderr past the
# harness's capture.
INSTA_UPDATE=no BOTTLE_REQUIRE_DOCKER=1 BOTTLE_TEST_IMAGE="$BOTTLE_TEST_IMAGE" cargo test "$@" ||
    test_status=$?
step "cargo test took $((SECONDS - test_start))s"

# Checked even when tests failed: a leak often explains the failure.
step "checking that the tests left no containers, networks or volumes behind (${PODMAN:+podman and }docker)"
mapfile -t leaked < <(comm -13 <(printf '%s\n' "$labelled_before") <(labelled) | sed '/^$/d')
if ((${#leaked[@]})); then
    printf 'error: the tests left objects labelled bottle.slug behind:\n' >&2
    for line in "${leaked[@]}"; do
        read -r engine kind id <<<"$line"
        if [[ "$kind" == container ]]; then
            name="$("$engine" container inspect --format '{{.Name}} ({{.State.Status}})' "$id" 2>/dev/null || true)"
        elif [[ "$kind" == volume ]]; then
            name=""
        else
            name="$("$engine" network inspect --format '{{.Name}}' "$id" 2>/dev/null || true)"
        fi
        printf '  %s %s %s %s\n' "$engine" "$kind" "$id" "${name#/}" >&2
    done
    printf 'remove them with: ENGINE rm -f <container>... && ENGINE network rm <network>... && ENGINE volume rm <volume>...\n' >&2
    exit 1
fi

if ((test_status != 0)); then
    step "cargo test failed (exit status $test_status)"
    exit "$test_status"
fi
step "all checks passed in ${SECONDS}s"
