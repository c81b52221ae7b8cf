#!/usr/bin/env bash
# The proxy and its agent (api-key profile; SDK server and client, agent and
# keyring real):
#  1. a call waiting for the agent (stopped with SIGSTOP) holds up nothing
#     else: a stream of 100 progress notifications runs to its end meanwhile;
#     the waiting call completes once the agent continues;
#  2. the agent restarts: the proxy reconnects, the session carries on;
#  3. the agent dies with a request of the proxy's outstanding: the proxy
#     starts a new one, like mimir-helper does, and asks it again;
#  4. mimir-helper proxy's own edges: --help, too many arguments, an unknown
#     profile, a profile without server_url, plain http to a remote host (all
#     said by the proxy server's session process on the helper's stderr, with
#     its exit status), no mimir-proxy binary, no agent and no autostart;
#  5. the fallback: when no proxy server can be started (a mimir-proxy that
#     refuses --serve), the helper says so in one line and runs mimir-proxy
#     itself; the session works all the same.
. "$(dirname "$0")/../lib.sh"
. "$MM_TOP/tests/mcp/lib.sh"

apikey_world
# a second profile, without a server
jq '.profiles.nourl = {"kind": "api-key"}' "$MIMIR_CONFIG" >"$MM_TMP/cfg" && cp "$MM_TMP/cfg" "$MIMIR_CONFIG"
helper reload >/dev/null
repl_start c --stdio "$PROXY"
repl c 30 ping >/dev/null

log "1. the agent stops answering while a stream of notifications runs"
repl c 5 bg p progress 100 >/dev/null
_progress_started() { (($(mcp_stats '.tool_calls.progress // 0') >= 1)); }
wait_for "the progress call to reach the server" 10 _progress_started
kill -STOP "$MM_AGENT_PID"
repl c 5 bg w call whoami >/dev/null
r=$(repl c 30 wait p)
log "progress while the agent is stopped: $r"
assert_eq "100 100 steps" "$(jq -r '"\(.progress) \(.text)"' <<<"$r")" "the stream that needed no agent"
assert_eq 0 "$(mcp_stats '.tool_calls.whoami // 0')" "calls that got past the stopped agent"
kill -CONT "$MM_AGENT_PID"
assert_eq api-key "$(repl c 30 wait w | jq -r .text)" "the call that waited for the agent"

log "2. the agent restarts"
stop_agent
start_agent
assert_eq '{"text":"after_restart","isError":false}' "$(repl c 30 call echo '{"text":"after_restart"}')" \
    "a call after the agent restarted"

log "3. the agent dies while the proxy waits for it"
kill -STOP "$MM_AGENT_PID"
repl c 5 bg r call echo '{"text":"asked_again"}' >/dev/null
kill -KILL "$MM_AGENT_PID"
wait_agent_exit 10
assert_eq '{"text":"asked_again","isError":false,"ms":' "$(repl c 30 wait r | sed 's/"ms":.*/"ms":/')" \
    "the call whose agent died"
agent_answers || fail "no agent runs after the proxy needed one"
repl_end c

log "4. mimir-helper proxy's edges"
assert_exit 0 helper proxy --help
assert_contains "$OUT" "proxy [--profile NAME] [URL]" "proxy --help"
assert_exit 2 helper proxy "$MCP_URL" "$MCP_URL"
assert_contains "$ERR" "one URL at most" "two URLs"
assert_exit 1 helper proxy --profile nope </dev/null
assert_contains "$ERR" "nope" "an unknown profile"
assert_exit 2 helper proxy --profile nourl </dev/null
assert_contains "$ERR" "has no server_url" "a profile without server_url"
assert_exit 2 helper proxy http://mimir.example.com/mcp </dev/null
assert_contains "$ERR" "refusing plain http" "plain http to a remote host"
srv=$(proxy_server_pid) || fail "no proxy server runs after the sessions above"
kill "$srv"
wait_for "the proxy server to end" 10 pid_gone "$srv"
MIMIR_PROXY_BIN=$MM_TMP/nothing-here assert_exit 1 helper proxy </dev/null
assert_contains "$ERR" "running mimir-proxy directly" "no mimir-proxy: the fallback is announced"
assert_contains "$ERR" "cannot run" "no mimir-proxy"
pid=$(_mm_lock_pid "$MIMIR_AGENT_SOCK") || fail "cannot find the agent the proxy started"
kill "$pid"
wait_for "the agent the proxy started to end" 10 pid_gone "$pid"
assert_exit 3 helper proxy </dev/null
assert_contains "$ERR" "mimir-agent" "no agent, no autostart"

log "5. no proxy server can start: mimir-proxy runs in the helper's place"
start_agent
printf '#!/bin/sh\n[ "$1" = --serve ] && { echo "no server today" >&2; exit 1; }\nexec %q "$@"\n' \
    "$MM_BUILD/mimir-proxy" >"$MM_TMP/no-serve"
chmod +x "$MM_TMP/no-serve"
repl_start f --stdio "env MIMIR_PROXY_BIN=$MM_TMP/no-serve $PROXY"
assert_eq '{"text":"direct","isError":false}' "$(repl f 30 call echo '{"text":"direct"}')" \
    "a call through mimir-proxy run by the helper"
pid=$(proxy_pid f)
proxy_server_pid >/dev/null && fail "a proxy server runs though none could start"
grep -q "the proxy server did not start.*running mimir-proxy directly" "$MM_TMP/f.err" ||
    fail "the fallback was not announced: $(cat "$MM_TMP/f.err")"
assert_eq 1 "$(grep -c mimir-helper "$MM_TMP/f.err")" "lines of the helper's on stderr"
deleted=$(mcp_stats .sessions_deleted)
repl_end f
wait_for "mimir-proxy (pid $pid) to end with its client" 10 pid_gone "$pid"
assert_eq $((deleted + 1)) "$(mcp_stats .sessions_deleted)" "the session DELETEd at the end"
log "ok"
