#!/usr/bin/env bash
# Benchmarks `bottle up` / `bottle down` against the raw docker CLI running the
# very same engine commands, on the same engine, in the same run.
#
#   (A) bottle:    `bottle up SLUG --image IMG -p 8080 --json`, then `bottle down SLUG`
#   (B) raw CLI:   the argv arrays of `bottle plan SLUG --json` (network create,
#                  run, container inspect), then for down
#                  `docker inspect --format '{{json .}}' BUNDLE NET`,
#                  `docker rm --force --volumes BUNDLE`, `docker network rm NET`
#   (C) re-up:     `bottle up` on a bottle that is already up with the same spec
#
# A and B alternate (A, B, A, B, ...); C runs inside each A round, while A's
# bottle is up. Each step is timed with `date +%s%N`. A warm-up round of each
# (not counted) comes first. Results go to stdout as a markdown table.
#
# Many bottles at once (the contract's budget: at most 0.6 of the same work done
# one after another with the raw CLI), BENCH_FLEET slugs (default 32) per round:
#
#   (D) bottle:    `bottle up S1 ... SN --image IMG -p 8080 --json` (one call,
#                  --parallel as set, default 4), then `bottle --verbose down --all`
#   (E) raw CLI:   for each slug in turn, the 3 argv arrays of its
#                  `bottle plan SLUG --json`; then for each bottle in turn the
#                  removals `down` runs, by ID, exactly as its --verbose shows them:
#                  `docker rm --force --volumes ID`, `docker network rm ID`
#
# D and E alternate, BENCH_FLEET_RUNS rounds (default 3) after one warm-up
# round each. The script checks that D's --verbose removals have the same shape
# as E's, prints the medians and the ratios D/E, and exits 1 if a ratio is over
# 0.6. The slugs are chosen so that their preferred subnets are distinct, so
# the raw side's `network create`s (candidate 0, from `plan`) never collide.
#
# Two engines against one (issue 17's fleet), BENCH_CONTEXTS slugs (default 8,
# f1..fN) per round, placed by the rule over the docker contexts `default` (the
# engine DOCKER reaches) and `pod` (podman's docker-compatible service at
# BENCH_PODMAN_SOCKET, through a context in a private DOCKER_CONFIG):
#
#   (F) bottle:    `bottle --contexts default,pod up f1 ... fN` (not timed), then
#                  `bottle --contexts default,pod ls --json` and `... down --all`
#   (G) bottle:    the same on `--contexts default` alone (every bottle on dockerd)
#   (H) raw CLI:   the engine commands of F's `--verbose ls`, replayed one after
#                  another; and the removals F's `down --all` runs, by ID with
#                  `--context`, one after another, on a second set of bottles
#                  (prefix bench-cr, brought up by bottle, not timed)
#
# F and G alternate, BENCH_CONTEXTS_RUNS rounds (default 3) after one warm-up
# round each. The script checks that F's --verbose removals have H's shape and
# prints the medians and the ratios F/G and F/H (no budget: the figures are for
# the record). Skipped, saying so, when podman's service does not answer.
#
# Names: bottle runs with `--prefix bench-b`; the raw side uses the names from
# `bottle --prefix bench-r plan`, i.e. bench-r-bundle-SLUG / bench-r-sidecars-SLUG
# (BENCH_PREFIX replaces `bench`). Subnets come from BENCH_POOL. Everything with
# those names is removed on exit, also on failure or Ctrl-C. Nothing else on the
# engine is touched.
#
# Network: no address is contacted; the image must already be present locally
# (the script checks and never pulls), and the only ports are the bundle's,
# published on 127.0.0.1.
#
# Environment:
#   BENCH_RUNS     counted iterations per side (default 15; 0 skips A, B and C)
#   BENCH_FLEET    bottles per many-bottle round (default 32; 0 skips D and E)
#   BENCH_FLEET_RUNS  counted many-bottle rounds per side (default 3)
#   BENCH_CONTEXTS bottles per two-engine round (default 8; 0 skips F, G and H)
#   BENCH_CONTEXTS_RUNS  counted two-engine rounds (default 3)
#   BENCH_PODMAN_SOCKET  podman's docker-compatible service, the context `pod`
#                  (default unix:///run/bottle-podman.sock)
#   BENCH_PREFIX   name prefix (default bench: bench-b and bench-r)
#   BENCH_POOL     the pool for both sides (default a random 10.1xx.0.0/16)
#   BOTTLE_PARALLEL   bottle's --parallel for D (default 4)
#   BENCH_WARMUP   uncounted warm-up iterations per side (default 1)
#   BENCH_SLUG     slug used by both sides (default bench)
#   BOTTLE_TEST_IMAGE  bundle image (default bottle-test-bundle:latest)
#   DOCKER         docker client for the raw side and housekeeping (default docker);
#                  bottle is run with BOTTLE_ENGINE set to the same client
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

RUNS="${BENCH_RUNS:-15}"
WARMUP="${BENCH_WARMUP:-1}"
FLEET="${BENCH_FLEET:-32}"
FLEET_RUNS="${BENCH_FLEET_RUNS:-3}"
CTX_N="${BENCH_CONTEXTS:-8}"
CTX_RUNS="${BENCH_CONTEXTS_RUNS:-3}"
CTX_SOCKET="${BENCH_PODMAN_SOCKET:-unix:///run/bottle-podman.sock}"
BUDGET=0.6
export BOTTLE_POOL="${BENCH_POOL:-10.$((100 + RANDOM % 100)).0.0/16}"
export BOTTLE_PARALLEL="${BOTTLE_PARALLEL:-4}"
SLUG="${BENCH_SLUG:-bench}"
IMAGE="${BOTTLE_TEST_IMAGE:-bottle-test-bundle:latest}"
DOCKER="${DOCKER:-docker}"
export BOTTLE_ENGINE="$DOCKER"
BOTTLE="${CARGO_TARGET_DIR:-target}/release/bottle"
PREFIX_B="${BENCH_PREFIX:-bench}-b"
PREFIX_R="${BENCH_PREFIX:-bench}-r"
PREFIX_CB="${BENCH_PREFIX:-bench}-cb"
PREFIX_CR="${BENCH_PREFIX:-bench}-cr"
PORT=8080

die() { printf 'bench: %s\n' "$*" >&2; exit 1; }

[[ "$RUNS" =~ ^[0-9]+$ ]] || die "BENCH_RUNS must be a non-negative integer, got '$RUNS'"
[[ "$FLEET" =~ ^[0-9]+$ ]] || die "BENCH_FLEET must be a non-negative integer, got '$FLEET'"
[[ "$FLEET_RUNS" =~ ^[1-9][0-9]*$ ]] || die "BENCH_FLEET_RUNS must be a positive integer, got '$FLEET_RUNS'"
[[ "$CTX_N" =~ ^[0-9]+$ ]] || die "BENCH_CONTEXTS must be a non-negative integer, got '$CTX_N'"
[[ "$CTX_RUNS" =~ ^[1-9][0-9]*$ ]] || die "BENCH_CONTEXTS_RUNS must be a positive integer, got '$CTX_RUNS'"
[[ "$WARMUP" =~ ^[0-9]+$ ]] || die "BENCH_WARMUP must be a non-negative integer, got '$WARMUP'"
[[ -x "$BOTTLE" ]] || die "$BOTTLE not found; run \`cargo build --release\` first"
command -v python3 >/dev/null 2>&1 || die "python3 is required"
"$DOCKER" image inspect "$IMAGE" >/dev/null 2>&1 \
    || die "image $IMAGE is not present locally (this script never pulls); run ./scripts/setup-engine.sh"

# Lists this script's objects: names that start with one of our prefixes.
our_containers() {
    "$DOCKER" ps -a --filter "name=^$1-" --format '{{.Names}}' | grep -E "^$1-" || true
}
our_networks() {
    "$DOCKER" network ls --filter "name=^$1-" --format '{{.Name}}' | grep -E "^$1-" || true
}

for p in "$PREFIX_B" "$PREFIX_R"; do
    if [[ -n "$(our_containers "$p")$(our_networks "$p")" ]]; then
        die "objects named $p-* already exist (another bench run, or a leftover); remove them first"
    fi
done

WORK="$(mktemp -d "${TMPDIR:-/tmp}/bottle-bench.XXXXXX")"

# Removes everything this run may have created. Runs on exit, and directly from
# the signal traps; errexit is off so that every step is attempted.
cleanup() {
    local status="${1:-$?}"
    trap - EXIT INT TERM
    set +e
    "$BOTTLE" --prefix "$PREFIX_B" down --all >/dev/null 2>&1 \
        || printf 'bench: warning: "bottle --prefix %s down --all" failed\n' "$PREFIX_B" >&2
    local c n
    for c in $(our_containers "$PREFIX_R"); do
        "$DOCKER" rm --force --volumes "$c" >/dev/null 2>&1 || printf 'bench: warning: could not remove container %s\n' "$c" >&2
    done
    for n in $(our_networks "$PREFIX_R"); do
        "$DOCKER" network rm "$n" >/dev/null 2>&1 || printf 'bench: warning: could not remove network %s\n' "$n" >&2
    done
    if [[ -n "${CTX_CONFIG:-}" ]]; then
        for p in "$PREFIX_CB" "$PREFIX_CR"; do
            DOCKER_CONFIG="$CTX_CONFIG" "$BOTTLE" --prefix "$p" --contexts default,pod down --all >/dev/null 2>&1 \
                || printf 'bench: warning: "bottle --prefix %s --contexts default,pod down --all" failed\n' "$p" >&2
        done
    fi
    rm -rf "$WORK"
    if ((status != 0)); then
        printf 'bench failed (exit status %s)\n' "$status" >&2
    fi
    exit "$status"
}
trap cleanup EXIT
trap 'cleanup 130' INT
trap 'cleanup 143' TERM

SPEC=(--image "$IMAGE" -p "$PORT")

# --- The raw side's commands, straight from `bottle plan --json` --------------
"$BOTTLE" --prefix "$PREFIX_R" plan "$SLUG" "${SPEC[@]}" --json >"$WORK/plan.json"
# One file per command, argv NUL-separated, so no word splitting or eval is needed.
python3 - "$WORK/plan.json" "$WORK" <<'PY'
import json, sys
plan = json.load(open(sys.argv[1]))
if len(plan) != 3:
    sys.exit(f"bench: expected 3 commands in the plan, got {len(plan)}")
want = [["network", "create"], ["run"], ["container", "inspect"]]
for i, (argv, verb) in enumerate(zip(plan, want)):
    if argv[1:1 + len(verb)] != verb:
        sys.exit(f"bench: plan command {i} is not `{' '.join(verb)}`: {argv}")
    if any(a.startswith("--env-file") for a in argv):
        sys.exit("bench: plan has an env-file placeholder; the benchmark passes no -e")
    with open(f"{sys.argv[2]}/raw_up_{i}", "wb") as f:
        f.write(b"".join(a.encode() + b"\0" for a in argv))
PY
mapfile -d '' -t RAW_NET_CREATE <"$WORK/raw_up_0"
mapfile -d '' -t RAW_RUN <"$WORK/raw_up_1"
mapfile -d '' -t RAW_INSPECT <"$WORK/raw_up_2"
R_NET="$PREFIX_R-bundle-$SLUG"
R_BUNDLE="$PREFIX_R-sidecars-$SLUG"
[[ "${RAW_NET_CREATE[-1]}" == "$R_NET" ]] || die "unexpected network name in plan: ${RAW_NET_CREATE[-1]}"
RAW_CLI="${RAW_NET_CREATE[0]}"

# bottle's own plan, to check that its --verbose `up` runs the same commands.
# `plan` shows `<run-id>` for the label that `up` makes fresh, and the read-back by name where
# `up` reads back by the ID `run` printed: both are set aside in the comparison.
same_shape() { sed -E -e 's/bottle\.run=[0-9a-f]{16}/bottle.run=<run-id>/' -e "s/('\{\{json \.\}\}') [^ ]+\$/\\1 TARGET/"; }
"$BOTTLE" --prefix "$PREFIX_B" plan "$SLUG" "${SPEC[@]}" | sed 's/^/+ /' | same_shape >"$WORK/plan_b.txt"

# --- Timed steps ----------------------------------------------------------------
now() { date +%s%N; }

# Whether the docker CLI reaches an engine at the DOCKER_HOST URL $1.
answers_at() { DOCKER_HOST="$1" "$DOCKER" version --format '{{.Server.Version}}' >/dev/null 2>&1; }

# record STEP START_NS END_NS [ENGINE_CMDS]
record() {
    if ((counting)); then
        echo $(($3 - $2)) >>"$WORK/t.$1"
        [[ -z "${4:-}" ]] || echo "$4" >>"$WORK/c.$1"
    fi
}

count_cmds() { grep -c '^+ ' "$1" || true; }

verbose_checked=0
round_bottle() {
    local t0 t1 err="$WORK/err"
    t0=$(now)
    "$BOTTLE" --prefix "$PREFIX_B" --verbose up "$SLUG" "${SPEC[@]}" --json >"$WORK/up.json" 2>"$err" \
        || { cat "$err" >&2; die "bottle up failed"; }
    t1=$(now)
    record bottle_up "$t0" "$t1" "$(count_cmds "$err")"
    if ((!verbose_checked)); then
        verbose_checked=1
        if ! diff -u "$WORK/plan_b.txt" <(grep '^+ ' "$err" | same_shape) >"$WORK/plan.diff"; then
            printf 'bench: warning: the first "bottle up" did not run exactly its plan (a concurrent user of the subnet?):\n' >&2
            cat "$WORK/plan.diff" >&2
        fi
    fi

    t0=$(now)
    "$BOTTLE" --prefix "$PREFIX_B" --verbose up "$SLUG" "${SPEC[@]}" --json >"$WORK/reup.json" 2>"$err" \
        || { cat "$err" >&2; die "bottle re-up failed"; }
    t1=$(now)
    record bottle_reup "$t0" "$t1" "$(count_cmds "$err")"
    python3 - "$WORK/up.json" "$WORK/reup.json" <<'PY' || die "re-up returned a different bottle object"
import json, sys
up, reup = (json.load(open(p)) for p in sys.argv[1:])
if (up.pop("action"), reup.pop("action")) != ("created", "kept") or up != reup:
    sys.exit(1)
PY

    t0=$(now)
    "$BOTTLE" --prefix "$PREFIX_B" --verbose down "$SLUG" >/dev/null 2>"$err" \
        || { cat "$err" >&2; die "bottle down failed"; }
    t1=$(now)
    record bottle_down "$t0" "$t1" "$(count_cmds "$err")"
}

round_raw() {
    local t0 t1
    t0=$(now)
    "${RAW_NET_CREATE[@]}" >/dev/null
    "${RAW_RUN[@]}" >/dev/null
    "${RAW_INSPECT[@]}" >/dev/null
    t1=$(now)
    record raw_up "$t0" "$t1" 3

    t0=$(now)
    "$RAW_CLI" inspect --format '{{json .}}' "$R_BUNDLE" "$R_NET" >/dev/null
    "$RAW_CLI" rm --force --volumes "$R_BUNDLE" >/dev/null
    "$RAW_CLI" network rm "$R_NET" >/dev/null
    t1=$(now)
    record raw_down "$t0" "$t1" 3
}

# --- Header ---------------------------------------------------------------------
client_v="$("$DOCKER" version --format '{{.Client.Version}}' 2>/dev/null || echo '?')"
server_v="$("$DOCKER" version --format '{{.Server.Version}}' 2>/dev/null || echo '?')"
echo "## bottle vs raw docker CLI"
echo
echo "- date: $(date -u '+%Y-%m-%dT%H:%M:%SZ')"
echo "- docker: client $client_v, server $server_v"
echo "- nproc: $(nproc)"
echo "- N: $RUNS counted iterations per side (+ $WARMUP warm-up), interleaved A, B, A, B, ...; re-up (C) runs inside each A round"
echo "- bottle: $("$BOTTLE" --version 2>/dev/null || echo '?') ($BOTTLE), image $IMAGE, slug $SLUG, -p $PORT"
echo

# --- Run --------------------------------------------------------------------------
if ((RUNS > 0)); then
counting=0
for ((i = 0; i < WARMUP; i++)); do
    round_bottle
    round_raw
done
counting=1
for ((i = 1; i <= RUNS; i++)); do
    round_bottle
    round_raw
    printf 'bench: iteration %d/%d done\n' "$i" "$RUNS" >&2
done

# --- Report -----------------------------------------------------------------------
python3 - "$WORK" <<'PY'
import os, statistics, sys
work = sys.argv[1]

def load(name, conv):
    path = os.path.join(work, name)
    with open(path) as f:
        return [conv(line) for line in f if line.strip()]

def stats(step):
    ns = load("t." + step, int)
    ms = [v / 1e6 for v in ns]
    cmds = sorted(set(load("c." + step, int)))
    return len(ms), statistics.median(ms), min(ms), max(ms), "/".join(map(str, cmds))

rows = [
    ("A  bottle up", "bottle_up"),
    ("B  raw up (3 docker commands)", "raw_up"),
    ("A  bottle down", "bottle_down"),
    ("B  raw down (3 docker commands)", "raw_down"),
    ("C  bottle re-up (already up, same spec)", "bottle_reup"),
]
res = {key: stats(key) for _, key in rows}
print("| step | n | median ms | min ms | max ms | engine cmds |")
print("|---|---:|---:|---:|---:|---:|")
for label, key in rows:
    n, med, lo, hi, cmds = res[key]
    print(f"| {label} | {n} | {med:.1f} | {lo:.1f} | {hi:.1f} | {cmds} |")
print()
for what in ("up", "down"):
    b, r = res["bottle_" + what][1], res["raw_" + what][1]
    print(f"- {what}: bottle − raw median = {b - r:+.1f} ms ({(b / r - 1) * 100:+.1f} %)")
PY
fi

# --- Two engines against one (F, G, H) ----------------------------------------------
# Runs before D/E, whose budget check ends the script.
ctx_bottle() { DOCKER_CONFIG="$CTX_CONFIG" "$BOTTLE" "$@"; }
ctx_docker() { DOCKER_CONFIG="$CTX_CONFIG" "$DOCKER" "$@"; }

# This run's bundles and networks named PREFIX-* on one context, "CONTEXT KIND ID" a line.
ctx_objects() {
    local ctx="$2"
    ctx_docker --context "$ctx" ps -a --no-trunc --filter "name=^$1-sidecars-" --format '{{.ID}}' | sed "s/^/$ctx container /"
    ctx_docker --context "$ctx" network ls --no-trunc --filter "name=^$1-bundle-" --format '{{.ID}}' | sed "s/^/$ctx network /"
}

# The engine commands a `bottle --verbose` run printed, one file per command (argv
# NUL-separated), to replay them one after another.
split_verbose() {
    python3 - "$1" "$2" <<'PY'
import shlex, sys
lines = [l[2:] for l in open(sys.argv[1]) if l.startswith("+ ")]
for i, line in enumerate(lines):
    with open(f"{sys.argv[2]}.{i}", "wb") as f:
        f.write(b"".join(a.encode() + b"\0" for a in shlex.split(line)))
print(len(lines))
PY
}

# A command's exit status is not checked: bottle reads what a look prints even when the engine
# refuses part of it (podman's compatible `inspect` of a network's ID exits 125 after printing it).
replay() {
    local k cmd=()
    for ((k = 0; k < $2; k++)); do
        mapfile -d '' -t cmd <"$1.$k"
        DOCKER_CONFIG="$CTX_CONFIG" "${cmd[@]}" >/dev/null 2>&1 || true
    done
}

# up of the slugs with CONTEXTS (not timed), then `ls --json` and `down --all` (timed), for
# bottle on CONTEXTS (step names KEY_ls, KEY_down); on two contexts the raw side replays
# the looks of bottle's `ls` and removes a second set of bottles one command after another.
ctx_round() {
    local key="$1" contexts="$2" err="$WORK/cerr" t0 t1 n line ctx kind id
    ctx_bottle --prefix "$PREFIX_CB" --contexts "$contexts" up "${CTX_SLUGS[@]}" "${SPEC[@]}" --json \
        >"$WORK/cup.json" 2>"$err" || { cat "$err" >&2; die "bottle --contexts $contexts up failed"; }
    n="$(python3 -c 'import json,sys; print(sum(b["bundle"]["state"] == "running" for b in json.load(open(sys.argv[1]))))' "$WORK/cup.json")"
    ((n == CTX_N)) || die "bottle --contexts $contexts up of $CTX_N slugs: only $n running"

    t0=$(now)
    ctx_bottle --prefix "$PREFIX_CB" --contexts "$contexts" --verbose ls --json >"$WORK/cls.json" 2>"$err" \
        || { cat "$err" >&2; die "bottle --contexts $contexts ls failed"; }
    t1=$(now)
    record "${key}_ls" "$t0" "$t1" "$(count_cmds "$err")"
    n="$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))))' "$WORK/cls.json")"
    ((n == CTX_N)) || die "bottle --contexts $contexts ls: $n bottles, want $CTX_N"
    if [[ "$key" == two ]]; then
        n="$(split_verbose "$err" "$WORK/craw_ls")"
        t0=$(now)
        replay "$WORK/craw_ls" "$n"
        t1=$(now)
        record ctx_raw_ls "$t0" "$t1" "$n"
        ctx_bottle --prefix "$PREFIX_CR" --contexts "$contexts" up "${CTX_SLUGS[@]}" "${SPEC[@]}" \
            >/dev/null 2>"$err" || { cat "$err" >&2; die "bottle --contexts $contexts up (raw side's bottles) failed"; }
    fi

    t0=$(now)
    ctx_bottle --prefix "$PREFIX_CB" --contexts "$contexts" --verbose down --all >/dev/null 2>"$err" \
        || { cat "$err" >&2; die "bottle --contexts $contexts down --all failed"; }
    t1=$(now)
    record "${key}_down" "$t0" "$t1" "$(count_cmds "$err")"
    for ctx in ${contexts//,/ }; do
        [[ -z "$(ctx_objects "$PREFIX_CB" "$ctx")" ]] || die "bottle --contexts $contexts down --all left objects on $ctx"
    done
    [[ "$key" == two ]] || return 0

    # The raw side: the removals `down --all` runs, by ID, one after another, on each context.
    grep -E '^\+ ' "$err" | grep -E ' (rm|network rm) ' | sed 's/^+ //' | rm_shape | sort | uniq -c >"$WORK/crm_b.txt"
    mapfile -t objs < <(for ctx in ${contexts//,/ }; do ctx_objects "$PREFIX_CR" "$ctx"; done)
    t0=$(now)
    for line in "${objs[@]}"; do
        read -r ctx kind id <<<"$line"
        if [[ "$kind" == container ]]; then
            ctx_docker --context "$ctx" rm --force --volumes "$id" >/dev/null
        fi
    done
    for line in "${objs[@]}"; do
        read -r ctx kind id <<<"$line"
        if [[ "$kind" == network ]]; then
            ctx_docker --context "$ctx" network rm "$id" >/dev/null
        fi
    done
    t1=$(now)
    record ctx_raw_down "$t0" "$t1" "${#objs[@]}"
    for line in "${objs[@]}"; do
        read -r ctx kind id <<<"$line"
        case "$kind" in
            container) printf '%s --context %s rm --force --volumes %s\n' "$DOCKER" "$ctx" "$id" ;;
            network) printf '%s --context %s network rm %s\n' "$DOCKER" "$ctx" "$id" ;;
        esac
    done | rm_shape | sort | uniq -c >"$WORK/crm_r.txt"
}

# The shape of a removal as bottle's --verbose shows it, IDs as X.
rm_shape() { sed -E 's/ [0-9a-f]{64}$/ X/'; }

if ((CTX_N > 0)); then
    if ! answers_at "$CTX_SOCKET"; then
        echo
        echo "## Two engines against one: skipped (podman's service at $CTX_SOCKET does not answer; run ./scripts/setup-engine.sh)"
    else
        CTX_CONFIG="$WORK/docker-config"
        mkdir -p "$CTX_CONFIG"
        ctx_docker context create pod --docker "host=$CTX_SOCKET" >/dev/null
        for p in "$PREFIX_CB" "$PREFIX_CR"; do
            for ctx in default pod; do
                [[ -z "$(ctx_objects "$p" "$ctx")" ]] \
                    || die "objects named $p-* already exist on context $ctx; remove them first"
            done
        done
        CTX_SLUGS=()
        for ((i = 1; i <= CTX_N; i++)); do CTX_SLUGS+=("f$i"); done
        placed_on() {
            ctx_bottle --prefix "$PREFIX_CB" --contexts default,pod ls --json \
                | python3 -c 'import json,sys; c=[b["context"] for b in json.load(sys.stdin)]; print(c.count(sys.argv[1]))' "$1"
        }
        echo
        echo "## Two engines against one: ls and down --all of $CTX_N bottles, bottle --parallel $BOTTLE_PARALLEL"
        echo
        echo "- contexts: default ($("$DOCKER" version --format '{{.Server.Version}}' 2>/dev/null || echo '?')) and pod (podman's service at $CTX_SOCKET, $(ctx_docker --context pod version --format '{{.Server.Version}}' 2>/dev/null || echo '?'))"
        echo "- N: $CTX_RUNS counted rounds (+ 1 warm-up); each round: F on default,pod, then G on default alone, with the same $CTX_N slugs"
        echo "- raw (H): the engine commands of F's \`--verbose ls\`, and the removals of F's \`down --all\` by ID, one after another"
        counting=0
        ctx_round two default,pod
        if ! diff -u "$WORK/crm_r.txt" "$WORK/crm_b.txt" >"$WORK/crm.diff"; then
            cat "$WORK/crm.diff" >&2
            die "bottle's removals across contexts (--verbose) differ from the raw side's"
        fi
        ctx_round one default
        counting=1
        for ((i = 1; i <= CTX_RUNS; i++)); do
            ctx_round two default,pod
            ctx_round one default
            printf 'bench: two-engine round %d/%d done\n' "$i" "$CTX_RUNS" >&2
        done
        ctx_bottle --prefix "$PREFIX_CB" --contexts default,pod up "${CTX_SLUGS[@]}" "${SPEC[@]}" >/dev/null 2>&1 \
            || die "bottle --contexts default,pod up failed"
        echo "- placement of f1..f$CTX_N over default,pod: $(placed_on default) on default, $(placed_on pod) on pod"
        ctx_bottle --prefix "$PREFIX_CB" --contexts default,pod down --all >/dev/null 2>&1
        echo
        python3 - "$WORK" "$CTX_N" <<'PY'
import os, statistics, sys
work, n = sys.argv[1], int(sys.argv[2])
def load(name, conv):
    with open(os.path.join(work, name)) as f:
        return [conv(l) for l in f if l.strip()]
print("| step | n | median ms | min ms | max ms | engine cmds |")
print("|---|---:|---:|---:|---:|---:|")
rows = [
    ("F  bottle --contexts default,pod ls --json", "two_ls"),
    ("G  bottle --contexts default ls --json", "one_ls"),
    ("H  raw: F's ls commands one after another", "ctx_raw_ls"),
    ("F  bottle --contexts default,pod down --all", "two_down"),
    ("G  bottle --contexts default down --all", "one_down"),
    ("H  raw: F's removals one after another", "ctx_raw_down"),
]
med = {}
for label, key in rows:
    ms = [v / 1e6 for v in load("t." + key, int)]
    cmds = "/".join(map(str, sorted(set(load("c." + key, int)))))
    med[key] = statistics.median(ms)
    print(f"| {label} | {len(ms)} | {med[key]:.0f} | {min(ms):.0f} | {max(ms):.0f} | {cmds} |")
print()
for what in ("ls", "down"):
    print(f"- {what}: two engines / one = {med['two_' + what] / med['one_' + what]:.2f}, "
          f"two engines / raw = {med['two_' + what] / med['ctx_raw_' + what]:.2f}")
PY
    fi
fi

# --- Many bottles at once (D, E) ---------------------------------------------------
((FLEET > 0)) || exit 0

# Slugs whose preferred subnets are distinct: the raw side creates each network on
# candidate 0, as `plan` shows it, and must not collide with its own other networks.
FLEET_SLUGS=()
declare -A seen_subnet=()
for ((i = 0; ${#FLEET_SLUGS[@]} < FLEET; i++)); do
    subnet="$("$BOTTLE" subnet "f$i")"
    [[ -z "${seen_subnet[$subnet]:-}" ]] || continue
    seen_subnet[$subnet]=1
    FLEET_SLUGS+=("f$i")
    ((i < 100000)) || die "no $FLEET distinct subnets in pool $BOTTLE_POOL"
done

# The raw side's commands per slug, straight from `bottle plan --json`.
for ((k = 0; k < FLEET; k++)); do
    "$BOTTLE" --prefix "$PREFIX_R" plan "${FLEET_SLUGS[k]}" "${SPEC[@]}" --json >"$WORK/fplan.$k.json"
done
python3 - "$WORK" "$FLEET" <<'PY'
import json, sys
work, n = sys.argv[1], int(sys.argv[2])
for k in range(n):
    plan = json.load(open(f"{work}/fplan.{k}.json"))
    if len(plan) != 3:
        sys.exit(f"bench: expected 3 commands in the plan, got {len(plan)}")
    for i, argv in enumerate(plan):
        with open(f"{work}/fraw.{k}.{i}", "wb") as f:
            f.write(b"".join(a.encode() + b"\0" for a in argv))
PY

fleet_bottle() {
    local t0 t1 err="$WORK/ferr" n
    t0=$(now)
    "$BOTTLE" --prefix "$PREFIX_B" up "${FLEET_SLUGS[@]}" "${SPEC[@]}" --json >"$WORK/fup.json" 2>"$err" \
        || { cat "$err" >&2; die "bottle up of $FLEET slugs failed"; }
    t1=$(now)
    record fleet_bottle_up "$t0" "$t1"
    n="$(python3 -c 'import json,sys; a=json.load(open(sys.argv[1])); print(sum(b["bundle"]["state"] == "running" for b in a))' "$WORK/fup.json")"
    ((n == FLEET)) || die "bottle up of $FLEET slugs: only $n running"

    t0=$(now)
    "$BOTTLE" --prefix "$PREFIX_B" --verbose down --all >/dev/null 2>"$err" \
        || { cat "$err" >&2; die "bottle down --all failed"; }
    t1=$(now)
    record fleet_bottle_down "$t0" "$t1" "$(count_cmds "$err")"
    # The removals bottle ran, which the raw side repeats one after another.
    grep -E '^\+ [^ ]+ (rm|network rm) ' "$err" | sed 's/^+ //' | rm_shape | sort | uniq -c >"$WORK/frm_b.txt"
    [[ -z "$(our_containers "$PREFIX_B")$(our_networks "$PREFIX_B")" ]] || die "bottle down --all left objects behind"
}

fleet_raw() {
    local t0 t1 k net_id ctr_id
    local -a ids_net=() ids_ctr=() cmd=()
    t0=$(now)
    for ((k = 0; k < FLEET; k++)); do
        mapfile -d '' -t cmd <"$WORK/fraw.$k.0"
        net_id="$("${cmd[@]}")"
        mapfile -d '' -t cmd <"$WORK/fraw.$k.1"
        ctr_id="$("${cmd[@]}")"
        mapfile -d '' -t cmd <"$WORK/fraw.$k.2"
        "${cmd[@]}" >/dev/null
        ids_net+=("$net_id")
        ids_ctr+=("$ctr_id")
    done
    t1=$(now)
    record fleet_raw_up "$t0" "$t1" $((3 * FLEET))

    : >"$WORK/frm_r.log"
    t0=$(now)
    for ((k = 0; k < FLEET; k++)); do
        "$RAW_CLI" rm --force --volumes "${ids_ctr[k]}" >/dev/null
        "$RAW_CLI" network rm "${ids_net[k]}" >/dev/null
    done
    t1=$(now)
    record fleet_raw_down "$t0" "$t1" $((2 * FLEET))
    for ((k = 0; k < FLEET; k++)); do
        printf '%s rm --force --volumes %s\n%s network rm %s\n' "$RAW_CLI" "${ids_ctr[k]}" "$RAW_CLI" "${ids_net[k]}"
    done | rm_shape | sort | uniq -c >"$WORK/frm_r.txt"
}

echo
echo "## Many bottles at once: $FLEET bottles, bottle --parallel $BOTTLE_PARALLEL vs the raw CLI one after another"
echo
echo "- N: $FLEET_RUNS counted rounds per side (+ 1 warm-up), interleaved D, E, D, E, ...; pool $BOTTLE_POOL"
echo
counting=0
fleet_bottle
fleet_raw
if ! diff -u "$WORK/frm_r.txt" "$WORK/frm_b.txt" >"$WORK/frm.diff"; then
    cat "$WORK/frm.diff" >&2
    die "bottle's removals (--verbose) differ from the raw side's"
fi
counting=1
for ((i = 1; i <= FLEET_RUNS; i++)); do
    fleet_bottle
    fleet_raw
    printf 'bench: many-bottle round %d/%d done\n' "$i" "$FLEET_RUNS" >&2
done

python3 - "$WORK" "$FLEET" "$BUDGET" <<'PY'
import os, statistics, sys
work, n, budget = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
def ms(step):
    with open(os.path.join(work, "t." + step)) as f:
        return [int(l) / 1e6 for l in f if l.strip()]
print("| step | n | median ms | min ms | max ms |")
print("|---|---:|---:|---:|---:|")
rows = [
    (f"D  bottle up of {n} slugs, one call", "fleet_bottle_up"),
    (f"E  raw up, {n} x 3 commands one after another", "fleet_raw_up"),
    ("D  bottle down --all", "fleet_bottle_down"),
    (f"E  raw removals, {n} x (rm, network rm) one after another", "fleet_raw_down"),
]
med = {}
for label, key in rows:
    v = ms(key)
    med[key] = statistics.median(v)
    print(f"| {label} | {len(v)} | {med[key]:.0f} | {min(v):.0f} | {max(v):.0f} |")
print()
over = False
for what in ("up", "down"):
    ratio = med["fleet_bottle_" + what] / med["fleet_raw_" + what]
    ok = ratio <= budget
    over |= not ok
    print(f"- {what}: bottle / raw median = {ratio:.2f} (budget {budget}: {'ok' if ok else 'OVER'})")
sys.exit(1 if over else 0)
PY
