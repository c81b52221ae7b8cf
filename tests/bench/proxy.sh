#!/usr/bin/env bash
# tests/bench/proxy.sh BUILD_DIR - the stdio MCP proxy's numbers (make bench).
#
# A private keyring and agent with an api-key profile, the SDK test server
# (tests/mcp/server.mjs), then tests/mcp/bench.mjs in rounds:
#  1. ready: an MCP client starts `mimir-helper proxy` and writes initialize
#     at once; time to the first byte of the answer, against the SDK's HTTP
#     client sending the same initialize to the same server (its own time);
#     target: the difference <= 5 ms (mcp-remote needs ~220 ms to start);
#  2. per call: tools/call echo through the proxy (SDK client over stdio)
#     against the SDK's client over HTTP, medians; target: <= 1 ms more;
#  3. the proxy's resident size after those calls; target <= 10 MiB.
# Prints numbers next to targets; fails only when something does not work.
#
# Environment: BENCH_ROUNDS (default 3), BENCH_PROXY_RUNS (initialize runs
# per round, default 30), BENCH_PROXY_CALLS (calls per round, default 300).
[[ ${1:-} && $1 != -* ]] || { echo "usage: $0 BUILD_DIR" >&2; exit 2; }
export MM_BUILD MM_TOP
MM_BUILD=$(cd "$1" && pwd) && MM_TOP=$(cd "$(dirname "$0")/../.." && pwd) || exit 2
# shellcheck source=../lib.sh
. "$MM_TOP/tests/lib.sh"
# shellcheck source=../mcp/lib.sh
. "$MM_TOP/tests/mcp/lib.sh"

rounds=${BENCH_ROUNDS:-3}
apikey_world bench
mcp_client --stdio "$PROXY" call echo '{"text":"ok"}' >/dev/null || fail "the proxy does not work; nothing to measure"

echo "== mimir-helper proxy vs the SDK's HTTP client ($rounds rounds)"
printf '  load average       : %s\n' "$(cut -d' ' -f1-3 /proc/loadavg)"
res=$(node "$MM_MCP_DIR/bench.mjs" --url "$MCP_URL" --header "X-API-Key: $KEY" --cmd "$PROXY" \
    --rounds "$rounds" --runs "${BENCH_PROXY_RUNS:-30}" --calls "${BENCH_PROXY_CALLS:-300}" \
    2>"$MM_TMP/bench.err") || { cat "$MM_TMP/bench.err"; fail "the proxy benchmark failed"; }
for ((r = 0; r < rounds; r++)); do
    jq -r --argjson r "$r" '.ready[$r] as $a | .calls[$r] as $c |
        "  round \($r + 1)            : ready proxy \($a.proxy * 100 | round / 100) ms, direct \($a.direct * 100 | round / 100) ms, cat \($a.cat * 100 | round / 100) ms; call proxy \($c.proxy * 1000 | round) us, direct \($c.direct * 1000 | round) us"' <<<"$res"
done
jq -r '
  def med: sort | if length % 2 == 1 then .[(length - 1) / 2] else (.[length / 2 - 1] + .[length / 2]) / 2 end;
  def r2: . * 100 | round / 100;
  ([.ready[] | .proxy - .direct] | med) as $d | ([.ready[] | .proxy / .direct] | med) as $q |
  ([.ready[] | .proxy - .cat] | med) as $c |
  ([.calls[] | .proxy - .direct] | med) as $o | ([.calls[] | .proxy / .direct] | med) as $oq |
  "  ready, over direct : \($d | r2) ms (ratio \($q | r2)), median of rounds (target <= 5 ms)",
  "  ready, over cat    : \($c | r2) ms (what the proxy costs beyond any stdio process)",
  "  per call, overhead : \($o * 1000 | round) us (ratio \($oq | r2)), median of rounds (target <= 1000 us)",
  "  proxy resident size: \(.rss_kib / 1024 | r2) MiB after the calls, peak \(.hwm_kib / 1024 | r2) MiB (target <= 10 MiB);",
  "                       of it private \(.anon_kib / 1024 | r2) MiB, proportional share (PSS) \(.pss_kib / 1024 | r2) MiB"
' <<<"$res"
stop_agent
