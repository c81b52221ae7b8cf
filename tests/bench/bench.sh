#!/usr/bin/env bash
# tests/bench/bench.sh BUILD_DIR - numbers, not verdicts.
#
# Starts a private keyring and agent with an api-key profile, then
#  1. hyperfine: `mimir-helper token` against /bin/true in the same run
#     (the helper's whole cost over a bare exec), target ratio <= 1.3;
#  2. loadclient: 64 connections against the agent, strict request/reply
#     and pipelined, target >= 100000 requests/second.
# Prints the measurements next to the targets; never fails on timing (it
# fails only if something does not work at all).
#
# Environment: BENCH_RUNS (hyperfine runs, default 300), BENCH_REQUESTS
# (requests per connection, default 5000), BENCH_PIPELINE (default 16).
if [[ $# -lt 1 || $1 == -h || $1 == --help ]]; then
    echo "usage: $0 BUILD_DIR" >&2
    exit 2
fi
MM_BUILD=$(cd "$1" && pwd) || exit 2
MM_TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
export MM_BUILD MM_TOP
# shellcheck source=../lib.sh
. "$MM_TOP/tests/lib.sh"

runs=${BENCH_RUNS:-300}
per_conn=${BENCH_REQUESTS:-5000}
depth=${BENCH_PIPELINE:-16}
conns=64
for tool in hyperfine jq; do
    command -v "$tool" >/dev/null || fail "$tool is missing (run tests/deps.sh)"
done
[[ -x $MM_BUILD/tests/loadclient ]] || fail "$MM_BUILD/tests/loadclient is missing (make $MM_BUILD/tests/loadclient)"

write_apikey_config bench
start_agent
helper set-api-key >/dev/null <<<"bench_$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')" ||
    fail "cannot store the benchmark key"
helper token >/dev/null || fail "token does not work; nothing to measure"

echo "== mimir-helper token vs /bin/true (hyperfine, $runs runs each)"
printf '  load average       : %s\n' "$(cut -d' ' -f1-3 /proc/loadavg)"
hf=(hyperfine --warmup 20 --runs "$runs" --export-json "$MM_TMP/hf.json" --style basic)
# -N (no intermediate shell) since hyperfine 1.13: measure the exec itself.
if hyperfine --help 2>/dev/null | grep -q -- '--shell <SHELL>\|-N'; then
    hf+=(-N)
fi
export MIMIR_NO_AUTOSTART=1
# helper --version: the same exec and dynamic linking without the agent
# round trip, to tell the two costs apart.
"${hf[@]}" -n helper "$MM_BUILD/mimir-helper token" -n true /bin/true \
    -n version "$MM_BUILD/mimir-helper --version" >"$MM_TMP/hf.out" 2>&1 ||
    { cat "$MM_TMP/hf.out"; fail "hyperfine failed"; }
helper_mean=$(jq -r '.results[] | select(.command == "helper") | .mean' "$MM_TMP/hf.json")
true_mean=$(jq -r '.results[] | select(.command == "true") | .mean' "$MM_TMP/hf.json")
helper_sd=$(jq -r '.results[] | select(.command == "helper") | .stddev' "$MM_TMP/hf.json")
true_sd=$(jq -r '.results[] | select(.command == "true") | .stddev' "$MM_TMP/hf.json")
helper_median=$(jq -r '.results[] | select(.command == "helper") | .median' "$MM_TMP/hf.json")
true_median=$(jq -r '.results[] | select(.command == "true") | .median' "$MM_TMP/hf.json")
version_mean=$(jq -r '.results[] | select(.command == "version") | .mean' "$MM_TMP/hf.json")
ratio=$(jq -rn --argjson h "$helper_mean" --argjson t "$true_mean" '$h / $t')
ms() { jq -rn --argjson s "$1" '$s * 1000 * 1000 | round / 1000'; }
printf '  mimir-helper token : %s ms mean (sd %s ms, median %s ms)\n' "$(ms "$helper_mean")" \
    "$(ms "$helper_sd")" "$(ms "$helper_median")"
printf '  /bin/true          : %s ms mean (sd %s ms, median %s ms)\n' "$(ms "$true_mean")" \
    "$(ms "$true_sd")" "$(ms "$true_median")"
printf '  helper --version   : %s ms mean (exec + linking, no agent round trip)\n' "$(ms "$version_mean")"
printf '  ratio helper/true  : %.2f   (target <= 1.3; ratio of medians %.2f)\n' "$ratio" \
    "$(jq -rn --argjson h "$helper_median" --argjson t "$true_median" '$h / $t')"

lc() {
    "$MM_BUILD/tests/loadclient" --socket "$MIMIR_AGENT_SOCK" --conns "$conns" \
        --requests "$per_conn" "$@"
}
rps_of() { sed -n 's/.*rps=\([0-9]*\).*/\1/p' <<<"$1"; }

echo "== agent throughput (loadclient, $conns connections x $per_conn token requests)"
lc --pipeline 1 --requests 200 >/dev/null || fail "loadclient warm-up failed"
out1=$(lc --pipeline 1) || fail "loadclient (request/reply) failed: $out1"
echo "  request/reply      : $out1"
outk=$(lc --pipeline "$depth") || fail "loadclient (pipelined) failed: $outk"
echo "  pipelined ($depth deep): $outk"
printf '  requests/second    : %s request/reply, %s pipelined   (target >= 100000)\n' \
    "$(rps_of "$out1")" "$(rps_of "$outk")"
printf '  machine            : %s CPUs, %s\n' "$(nproc)" \
    "$(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)"
stop_agent
