#!/usr/bin/env bash
# tests/fuzz/run.sh BUILD SECONDS [NAME...] - run each libFuzzer harness of
# BUILD/fuzz/ (or only the NAMEs given, e.g. "oauth") for SECONDS.
#
# Each starts from its committed seeds, tests/fuzz/corpus/NAME/, read-only:
# what it finds goes to a scratch corpus that is thrown away.  A crash,
# leak, timeout or broken invariant fails the run; its input is kept as
# BUILD/fuzz/crashes/NAME-* (replay: BUILD/fuzz/fuzz_NAME FILE).  One line
# per harness says how many inputs it ran.
set -uo pipefail

build=${1:?usage: run.sh BUILD SECONDS [NAME...]}
secs=${2:?usage: run.sh BUILD SECONDS [NAME...]}
shift 2
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
fuzz=$top/tests/fuzz
crashes=$build/fuzz/crashes
names=("$@")
if ((${#names[@]} == 0)); then
    for bin in "$build"/fuzz/fuzz_*; do
        [[ -x $bin ]] && names+=("${bin##*/fuzz_}")
    done
fi
((${#names[@]})) || { echo "fuzz: no harness in $build/fuzz" >&2; exit 1; }

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
mkdir -p "$crashes"
failed=()
for name in "${names[@]}"; do
    bin=$build/fuzz/fuzz_$name
    mkdir -p "$scratch/$name"
    opts=(-max_total_time="$secs" -print_final_stats=1 -timeout=10 -rss_limit_mb=2048
          -artifact_prefix="$crashes/$name-")
    [[ -f $fuzz/$name.dict ]] && opts+=(-dict="$fuzz/$name.dict")
    log=$scratch/$name.log
    seeds=()
    [[ -d $fuzz/corpus/$name ]] && seeds=("$fuzz/corpus/$name")
    "$bin" "${opts[@]}" "$scratch/$name" "${seeds[@]}" >"$log" 2>&1
    rc=$?
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1)
    if ((rc == 0)); then
        printf 'fuzz: %-15s %10s runs in %ss (%s)\n' "$name" "${runs:-?}" "$secs" "${cov:-cov: ?}"
    else
        failed+=("$name")
        printf 'fuzz: %-15s FAILED (exit %d) after %s runs\n' "$name" "$rc" "${runs:-?}"
        grep -E -A40 "ERROR: |runtime error|invariant broken" "$log" | head -60 |
            sed "s/^/    /"
        grep -E 'Test unit written to' "$log" | sed 's/^/    /'
    fi
done
echo "fuzz: $((${#names[@]} - ${#failed[@]})) passed, ${#failed[@]} failed"
if ((${#failed[@]})); then
    echo "fuzz: failed: ${failed[*]} (inputs in $crashes)"
    exit 1
fi
