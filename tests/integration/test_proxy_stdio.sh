#!/usr/bin/env bash
# The proxy's stdio side, byte for byte (an api-key profile against the SDK
# test server; the agent and keyring are real):
#  - initialize with protocol 2024-11-05 and a few calls, written by hand;
#  - malformed lines each get one JSON-RPC error (parse error, invalid
#    request, a line over the 4 MiB limit) and change nothing else: the next
#    call still works; blank lines and CRLF endings are fine;
#  - standard output carries only JSON-RPC messages, one per line; the API
#    key appears on neither output;
#  - end of input: what is in flight is answered, the session is DELETEd,
#    exit status 0 (and at once when nothing is in flight);
#  - a request the client cancels (notifications/cancelled) is not waited
#    for at the end of input;
#  - SIGTERM with a slow call in flight: exit status 0 within a second or
#    two, session DELETEd.
. "$(dirname "$0")/../lib.sh"
. "$MM_TOP/tests/mcp/lib.sh"

apikey_world

# proxy_start NAME: `mimir-helper proxy` reading the fifo NAME.in (fd in
# $PFD), writing NAME.out / NAME.err; $PPID_ is its pid.
proxy_start() {
    mkfifo "$MM_TMP/$1.in"
    "$MM_BUILD/mimir-helper" proxy <"$MM_TMP/$1.in" >"$MM_TMP/$1.out" 2>"$MM_TMP/$1.err" &
    PPID_=$!
    track_pid "$PPID_"
    exec {PFD}>"$MM_TMP/$1.in"
    POUT=$MM_TMP/$1.out
}
send() { printf '%s\n' "$@" >&"$PFD"; }
_lines_ge() { (($(wc -l <"$POUT") >= $1)); }
# line N: wait for the Nth line of output and print it
line() {
    wait_for "output line $1" "${2:-10}" _lines_ge "$1"
    sed -n "${1}p" "$POUT"
}
# exits_0 SECS WHEN: the proxy ends within SECS, with exit status 0
exits_0() {
    local rc=0
    wait_for "the proxy to exit $2" "$1" pid_gone "$PPID_"
    wait "$PPID_" || rc=$?
    assert_eq 0 "$rc" "exit status $2"
}
# the reply with id ID (as JSON text) among the first N lines
reply_to() {
    wait_for "$2 output lines" "${3:-10}" _lines_ge "$2"
    head -n "$2" "$POUT" | jq -c --argjson id "$1" 'select(.id == $id)'
}

proxy_start p1
INIT='{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2024-11-05","capabilities":{},"clientInfo":{"name":"by-hand","version":"1"}}}'
send "$INIT"
assert_eq 2024-11-05 "$(line 1 | jq -r .result.protocolVersion)" "negotiated protocol version"
send '{"jsonrpc":"2.0","method":"notifications/initialized"}' '' '   ' \
    $'{"jsonrpc":"2.0","id":2,"method":"tools/list"}\r'
assert_contains "$(line 2 | jq -c '[.id, (.result.tools | map(.name) | sort)]')" '[2,["ask_roots"' "tools/list"

log "malformed lines"
send 'not json'
r=$(line 3)
assert_eq '-32700 null parse_error' "$(jq -r '"\(.error.code) \(.id) \(.error.data.reason)"' <<<"$r")" "garbage: $r"
send '{"jsonrpc":"2.0","id":7,"method":"ping"'
assert_eq '-32700 null' "$(line 4 | jq -r '"\(.error.code) \(.id)"')" "a truncated message"
send '{"jsonrpc":"2.0","id":8,"params":{}}'
assert_eq '-32600 8' "$(line 5 | jq -r '"\(.error.code) \(.id)"')" "neither method nor result"
send '["x",' $'\xff\xfe'
line 7 >/dev/null
assert_eq '-32700 -32700' "$(sed -n '6,7p' "$POUT" | jq -r .error.code | paste -sd' ')" \
    "a broken array and binary bytes"
big=$MM_TMP/big.json
{
    printf '{"jsonrpc":"2.0","id":77,"method":"tools/call","params":{"name":"echo","arguments":{"text":"'
    head -c $((5 * 1024 * 1024)) /dev/zero | tr '\0' 'a'
    printf '"}}}\n'
} >"$big"
cat "$big" >&"$PFD"
r=$(line 8 20)
assert_eq '-32600 77 too_large' "$(jq -r '"\(.error.code) \(.id) \(.error.data.reason)"' <<<"$r")" "a 5 MiB line: $r"
send '{"jsonrpc":"2.0","id":10,"method":"tools/call","params":{"name":"echo","arguments":{"text":"still here"}}}'
assert_eq "still here" "$(line 9 | jq -r '.result.content[0].text')" "a call after all that"
assert_eq 0 "$(mcp_stats .max_body | awk '{print ($1 > 1048576)}')" "nothing big reached the server"

log "end of input with a call in flight"
send '{"jsonrpc":"2.0","id":11,"method":"tools/call","params":{"name":"slow","arguments":{"ms":800}}}'
exec {PFD}>&-
exits_0 10 "after end of input"
assert_eq "slept 800 ms" "$(reply_to 11 10 | jq -r '.result.content[0].text')" "the call in flight at EOF"
while IFS= read -r l; do
    jq -e '.jsonrpc == "2.0" and (has("id") or has("method"))' >/dev/null 2>&1 <<<"$l" ||
        fail "standard output carries something that is not a JSON-RPC message: ${l:0:200}"
done <"$POUT"
assert_eq 10 "$(wc -l <"$POUT" | tr -d ' ')" "lines on standard output"
assert_eq 1 "$(mcp_stats .sessions_deleted)" "sessions ended with DELETE"
grep -qF "$KEY" "$MM_TMP/p1.out" "$MM_TMP/p1.err" && fail "the API key appears on the proxy's output"

log "end of input with nothing in flight"
proxy_start p3
send "$INIT"
line 1 >/dev/null
exec {PFD}>&-
exits_0 10 "after end of input, idle"
assert_eq 2 "$(mcp_stats .sessions_deleted)" "sessions ended with DELETE"

log "a request the client cancelled is not waited for"
proxy_start p4
send "$INIT"
line 1 >/dev/null
slow0=$(mcp_stats '.tool_calls.slow // 0')
send '{"jsonrpc":"2.0","method":"notifications/initialized"}' \
    '{"jsonrpc":"2.0","id":"s1","method":"tools/call","params":{"name":"slow","arguments":{"ms":30000}}}'
_slow_started() { (($(mcp_stats '.tool_calls.slow // 0') > slow0)); }
wait_for "the slow call to reach the server" 10 _slow_started
send '{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":"s1","reason":"test"}}'
exec {PFD}>&-
exits_0 10 "after end of input, not waiting for the cancelled call"
assert_eq 1 "$(wc -l <"$POUT" | tr -d ' ')" "lines on standard output (no answer to the cancelled call)"

log "SIGTERM with a slow call in flight"
proxy_start p2
send "$INIT"
line 1 >/dev/null
send '{"jsonrpc":"2.0","method":"notifications/initialized"}' \
    '{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"slow","arguments":{"ms":30000}}}'
_slow_running() { (($(mcp_stats '.tool_calls.slow // 0') >= 3)); }
wait_for "the slow call to reach the server" 10 _slow_running
kill -TERM "$PPID_"
exits_0 5 "after SIGTERM"
assert_eq 4 "$(mcp_stats .sessions_deleted)" "sessions ended with DELETE"
assert_eq 1 "$(wc -l <"$POUT" | tr -d ' ')" "lines on standard output (the initialize result only)"
exec {PFD}>&-
log "ok"
