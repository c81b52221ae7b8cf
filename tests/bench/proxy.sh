#!/usr/bin/env bash
# tests/bench/proxy.sh BUILD_DIR - the stdio MCP proxy's numbers (make bench).
#
# A private keyring and agent with an api-key profile, the SDK test server
# (tests/mcp/server.mjs), then tests/mcp/bench.mjs in rounds:
#  1. ready: an MCP client starts `mimir-helper proxy` and writes initialize
#     at once; time to the first byte of the answer, against the SDK's HTTP
#     client sending the same initialize to the same server (its own time);
#     target: the difference <= 5 ms (mcp-remote needs ~220 ms to start),
#     counted from the moment the proxy's standard input is open (node's
#     spawn() returned: it forks node and waits for the exec, 7-9 ms here,
#     which no stdio server can change); from before spawn() as well.
#     With the proxy server up, with its start included (cold), and with
#     mimir-proxy executed by the helper (MIMIR_PROXY_SERVE=0, as before the
#     server);
#  2. per call: tools/call echo through the proxy (SDK client over stdio)
#     against the SDK's client over HTTP, medians; target: <= 1 ms more;
#  3. resident size after those calls of the process the MCP client
#     launched (target <= 10 MiB), and of the session process behind it.
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
proxy_server_pid >/dev/null || fail "no proxy server runs after a session; nothing to measure"

echo "== mimir-helper proxy vs the SDK's HTTP client ($rounds rounds)"
printf '  load average       : %s\n' "$(cut -d' ' -f1-3 /proc/loadavg)"
res=$(node "$MM_MCP_DIR/bench.mjs" --url "$MCP_URL" --header "X-API-Key: $KEY" --cmd "$PROXY" \
    --server-lock "$(dirname "$MIMIR_AGENT_SOCK")/proxy.sock.lock" --exec-env MIMIR_PROXY_SERVE=0 \
    --rounds "$rounds" --runs "${BENCH_PROXY_RUNS:-30}" --calls "${BENCH_PROXY_CALLS:-300}" \
    2>"$MM_TMP/bench.err") || { cat "$MM_TMP/bench.err"; fail "the proxy benchmark failed"; }
for ((r = 0; r < rounds; r++)); do
    jq -r --argjson r "$r" 'def ms: . * 100 | round / 100;
        .ready[$r] as $a | .calls[$r] as $c |
        "  round \($r + 1)            : ready proxy \($a.proxy | ms) ms, cold \($a.cold | ms), exec \($a.exec | ms), direct \($a.direct | ms), cat \($a.cat | ms);",
        "                       from stdin open: proxy \($a.open.proxy | ms) ms, cold \($a.open.cold | ms), exec \($a.open.exec | ms), cat \($a.open.cat | ms);",
        "                       call proxy \($c.proxy * 1000 | round) us, exec \($c.exec * 1000 | round), direct \($c.direct * 1000 | round)"' <<<"$res"
done
jq -r '
  def med: sort | if length % 2 == 1 then .[(length - 1) / 2] else (.[length / 2 - 1] + .[length / 2]) / 2 end;
  def r2: . * 100 | round / 100;
  def mib: if . == null then "n/a" else (. / 1024 | r2 | tostring) + " MiB" end;
  def over($k): [.ready[] | .[$k] - .direct] | med;
  def ratio($k): [.ready[] | .[$k] / .direct] | med;
  def over_open($k): [.ready[] | .open[$k] - .direct] | med;
  def ratio_open($k): [.ready[] | .open[$k] / .direct] | med;
  ([.ready[] | .proxy - .cat] | med) as $c |
  ([.ready[] | .cat - .open.cat] | med) as $sp |
  ([.calls[] | .proxy - .direct] | med) as $o | ([.calls[] | .proxy / .direct] | med) as $oq |
  ([.calls[] | .exec - .direct] | med) as $eo |
  "  ready, over direct : \(over_open("proxy") | r2) ms from stdin open (ratio \(ratio_open("proxy") | r2)), median of rounds (target <= 5 ms);",
  "                       \(over("proxy") | r2) ms from before spawn() (ratio \(ratio("proxy") | r2)): node spawning `cat` takes \($sp | r2) ms before its stdin is open",
  "    server cold      : \(over_open("cold") | r2) ms from stdin open, \(over("cold") | r2) from spawn() (the first session, the server started by it)",
  "    mimir-proxy exec : \(over_open("exec") | r2) ms from stdin open, \(over("exec") | r2) from spawn() (MIMIR_PROXY_SERVE=0: the helper executes mimir-proxy)",
  "  ready, over cat    : \($c | r2) ms (what the proxy costs beyond any stdio process)",
  "  per call, overhead : \($o * 1000 | round) us (ratio \($oq | r2)), median of rounds (target <= 1000 us);",
  "                       mimir-proxy exec \($eo * 1000 | round) us",
  "  resident size      : mimir-helper proxy (what the client launched) \(.mem.helper.rss | mib), peak \(.mem.helper.hwm | mib) (target <= 10 MiB);",
  "                       its session process: resident \(.mem.session.rss | mib), PSS \(.mem.session.pss | mib), private \(.mem.session.private | mib);",
  "                       mimir-proxy exec: resident \(.mem.exec.rss | mib), peak \(.mem.exec.hwm | mib), PSS \(.mem.exec.pss | mib), private \(.mem.exec.private | mib)"
' <<<"$res"
stop_agent
