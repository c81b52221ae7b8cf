#!/usr/bin/env bash
# Streamable HTTP as the SDK's server speaks it, through the proxy to the
# SDK's client over stdio (api-key profile; agent and keyring real):
#  - answers as event streams carrying several messages before the response:
#    progress notifications, log messages, and a request from the server to
#    the client (roots/list) whose answer goes back through the proxy;
#  - the server's own stream (GET): a notification sent after the call ended;
#    a server that has none (405) is not asked again;
#  - a session answered with JSON bodies instead;
#  - the server forgets the session (404): the proxy starts a new one by
#    replaying initialize, and the call goes through; the server's stream
#    works in the new session too.
. "$(dirname "$0")/../lib.sh"
. "$MM_TOP/tests/mcp/lib.sh"

apikey_world

log "event-stream answers"
repl_start s --stdio "$PROXY"
assert_eq '{"progress":25,"text":"25 steps"}' "$(repl s 30 progress 25)" "progress notifications, then the result"
assert_eq '{"logs":7,"text":"7 steps"}' "$(repl s 30 logs 7)" "log messages, then the result"
assert_eq "client has 1 root(s): file:///work" "$(repl s 30 roots | jq -r .text)" \
    "a server request to the client before the response"
assert_eq '{"notified":true}' "$(repl s 30 notify 300)" "a notification on the server's own stream"
(($(mcp_stats .get_streams) >= 1)) || fail "the proxy never opened the server's stream"

log "the server forgets the session"
sid_before=$(mcp_stats .sessions_created)
mcp_ctl drop-sessions >/dev/null
assert_eq '{"text":"still_here","isError":false}' "$(repl s 30 call echo '{"text":"still_here"}')" \
    "a call after the session was dropped"
(($(mcp_stats .unknown_session) >= 1)) || fail "the server never answered 404: the test proved nothing"
assert_eq $((sid_before + 1)) "$(mcp_stats .sessions_created)" "sessions created (the new one)"
assert_eq '{"notified":true}' "$(repl s 30 notify 300)" "the server's stream in the new session"
grep -q "starting a new one" "$MM_TMP/s.err" || fail "the renewal was not reported on stderr"
repl_end s

log "JSON answers"
mcp_ctl config '{"json": true}' >/dev/null
r=$(mcp_client --stdio "$PROXY" smoke)
assert_eq '{"tools":["ask_roots","big","echo","notify_later","progress","slow","whoami"],"who":"api-key","echo":"hello through mimir"}' \
    "$(jq -c '{tools, who, echo}' <<<"$r")" "a session answered with JSON bodies"
assert_eq 0 "$(mcp_stats '.auth_fail + .auth_missing')" "requests without the right key"

log "a server without a stream of its own (GET: 405)"
start_mcp --api-key "$KEY" --no-get
r=$(mcp_client --stdio "$PROXY $MCP_URL" soak 5 50)
assert_eq 0 "$(jq -r .failures <<<"$r")" "failed calls: $(jq -c .errors <<<"$r")"
assert_eq 1 "$(mcp_stats '.by_method.GET')" "GET requests (one try, then none after the 405)"
log "ok"
