#!/usr/bin/env bash
# tests/run-integration.sh BUILD_DIR [PATTERN]
#
# Runs every tests/integration/test_*.sh (sorted; PATTERN, a glob, keeps
# the names containing it; MM_TEST_JOBS at a time, default 2), each in its
# own private D-Bus session
# (dbus-run-session) with MM_BUILD and MM_TOP set, under an overall timeout.  Prints PASS/FAIL per test and a summary;
# on failure, the tail of that test's output (which ends with the agent's
# log).  A test that exits 77 cannot run here and is reported as SKIP.
# Exit status: 0 when none failed.
#
# Environment: MM_TEST_TIMEOUT (seconds per test, default 300),
# MM_LOG_DIR (keep every test's output there; default: a temp dir,
# removed when everything passed).
set -uo pipefail

if [[ $# -lt 1 || $1 == -h || $1 == --help ]]; then
    echo "usage: $0 BUILD_DIR [PATTERN]" >&2
    exit 2
fi
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=$(cd "$1" && pwd) || { echo "$0: no build directory $1" >&2; exit 2; }
pattern=${2:-*}
per_test=${MM_TEST_TIMEOUT:-300}

for bin in mimir-agent mimir-helper tests/loadclient; do
    [[ -x $build/$bin ]] || { echo "$0: $build/$bin is missing (run make first)" >&2; exit 2; }
done
for tool in dbus-run-session gnome-keyring-daemon secret-tool socat jq timeout; do
    command -v "$tool" >/dev/null || { echo "$0: $tool is missing (run tests/deps.sh)" >&2; exit 2; }
done

if [[ -n ${MM_LOG_DIR:-} ]]; then
    logdir=$MM_LOG_DIR
    mkdir -p "$logdir"
    keep_logs=1
else
    logdir=$(mktemp -d "${TMPDIR:-/tmp}/mm-integration.XXXXXX")
    keep_logs=0
fi

shopt -s nullglob
tests=()
for t in "$top"/tests/integration/test_*.sh; do
    name=$(basename "$t" .sh)
    # shellcheck disable=SC2053
    [[ $name == *$pattern* ]] && tests+=("$t")
done
if ((${#tests[@]} == 0)); then
    echo "$0: no tests match '$pattern'" >&2
    exit 2
fi
mapfile -t tests < <(printf '%s\n' "${tests[@]}" | LC_ALL=C sort)

pass=0
skipped=0
failed=()
t_start=$SECONDS

# One test, in the background: its exit status and duration land in
# $logdir/NAME.result for report() to read.
run_one() {
    local t=$1 name log t0 t1 rc
    name=$(basename "$t" .sh)
    log=$logdir/$name.log
    t0=${EPOCHREALTIME/[.,]/}
    MM_BUILD=$build MM_TOP=$top MM_PRIVATE_DBUS=1 \
        timeout -k 10 "$per_test" dbus-run-session -- bash "$t" </dev/null >"$log" 2>&1
    rc=$?
    t1=${EPOCHREALTIME/[.,]/}
    echo "$rc $(((10#$t1 - 10#$t0) / 1000))" >"$logdir/$name.result.tmp"
    mv "$logdir/$name.result.tmp" "$logdir/$name.result"
}

declare -A reported=()
report() { # every finished test not reported yet
    local f name rc ms secs why log
    for f in "$logdir"/*.result; do
        [[ -e $f ]] || continue
        name=$(basename "$f" .result)
        [[ -z ${reported[$name]:-} ]] || continue
        reported[$name]=1
        read -r rc ms <"$f"
        log=$logdir/$name.log
        secs=$(printf '%d.%01d' $((ms / 1000)) $((ms % 1000 / 100)))
        if ((rc == 0)); then
            pass=$((pass + 1))
            printf 'PASS %s (%ss)\n' "$name" "$secs"
        elif ((rc == 77)); then
            skipped=$((skipped + 1))
            printf 'SKIP %s (%s)\n' "$name" "$(grep -m1 '^SKIP' "$log" | sed 's/^SKIP ([^)]*): //')"
        else
            failed+=("$name")
            ((rc == 124 || rc == 137)) && why="timed out after ${per_test}s" || why="exit status $rc"
            printf 'FAIL %s (%ss, %s)\n' "$name" "$secs" "$why"
            echo "---- last 60 lines of $log ----"
            tail -n 60 "$log" | sed 's/^/    /'
            echo "----"
            keep_logs=1
        fi
    done
}

# Tests are isolated (private temp dir, D-Bus session, keyring, ports), and
# most of their time is spent waiting for tokens to expire: two at a time by
# default (MM_TEST_JOBS) halves the suite on two cores.
jobs_max=${MM_TEST_JOBS:-2}
running=0
for t in "${tests[@]}"; do
    if ((running >= jobs_max)); then
        wait -n
        running=$((running - 1))
        report
    fi
    run_one "$t" &
    running=$((running + 1))
done
wait
report
rm -f "$logdir"/*.result

total=${#tests[@]}
echo "integration: $pass/$total passed, $skipped skipped, ${#failed[@]} failed in $((SECONDS - t_start))s"
if ((${#failed[@]})); then
    echo "failed: ${failed[*]}"
    for name in "${failed[@]}"; do # the reason once more, where a cut output still shows it
        printf '  %s: %s\n' "$name" "$(grep -m1 -A3 '^FAIL (' "$logdir/$name.log" | tr '\n' ' ' | cut -c1-400)"
    done
    echo "logs: $logdir"
    exit 1
fi
((keep_logs)) || rm -rf "$logdir"
exit 0
