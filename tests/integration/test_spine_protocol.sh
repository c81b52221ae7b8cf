#!/usr/bin/env bash
# The wire protocol over a raw socket: framing limits, every class of bad
# request, id echo, ordered answers to pipelined requests, events for
# subscribers -- and after every abuse the agent still serves a token on a
# new connection.
. "$(dirname "$0")/../lib.sh"

KEY="protokey_$(head -c 10 /dev/urandom | od -An -tx1 | tr -d ' \n')"
write_apikey_config local
start_agent
assert_exit 0 helper set-api-key <<<"$KEY"

still_serves() {
    local out
    out=$(helper token) || fail "after $1: token failed on a new connection"
    assert_eq "$KEY" "$out" "after $1: token on a new connection"
    _mm_alive "$MM_AGENT_PID" || fail "after $1: the agent died"
}

# expect_error LINE CODE [ID]: one request on its own connection
expect_error() {
    local r got
    r=$(sock_send "$1")
    [[ $(wc -l <<<"$r") == 1 ]] || fail "one reply expected for $1, got: $r"
    # ok, code, id, whether there is a message: one jq run
    got=$(jq -r '[.ok, .error.code, (.id | tostring), (.error.message | type)] | join(" ")' <<<"$r") ||
        fail "reply to $1 is not JSON: $r"
    assert_eq "false $2 ${3:-null} string" "$got" "reply to $1: $r"
    still_serves "$1"
}

log "over-long line: too_large, then the connection is closed"
big=$MM_TMP/big.req
head -c 70000 /dev/zero | tr '\0' a >"$big"
t0=$SECONDS
# One write of the whole line (-b), so the reply is read before the reset.
r=$(timeout 10 socat -b 262144 -t 5 - "UNIX-CONNECT:$MIMIR_AGENT_SOCK" <"$big" 2>/dev/null || true)
assert_eq too_large "$(jqs .error.code "$r")" "reply to a 70000-byte line: $r"
assert_eq false "$(jqs .ok "$r")"
((SECONDS - t0 < 4)) || fail "the agent did not close the connection after too_large"
still_serves "a 70000-byte line"

log "a line of exactly 65536 bytes with its newline is still accepted"
req='{"v":1,"id":"edge","op":"hello"}'
pad=$((65536 - 1 - ${#req}))
{ printf '%s' "$req"; head -c "$pad" /dev/zero | tr '\0' ' '; printf '\n'; } >"$big"
assert_eq 65536 "$(stat -c %s "$big")"
r=$(timeout 10 socat -b 262144 -t 5 - "UNIX-CONNECT:$MIMIR_AGENT_SOCK" <"$big" 2>/dev/null || true)
assert_eq true "$(jqs .ok "$r")" "65536-byte line: $r"
assert_eq edge "$(jqs .id "$r")"
{ printf '%s' "$req"; head -c "$((pad + 1))" /dev/zero | tr '\0' ' '; printf '\n'; } >"$big"
r=$(timeout 10 socat -b 262144 -t 5 - "UNIX-CONNECT:$MIMIR_AGENT_SOCK" <"$big" 2>/dev/null || true)
assert_eq too_large "$(jqs .error.code "$r")" "65537-byte line: $r"

log "an over-long line sent in small pieces is refused as well"
r=$( (head -c 100000 /dev/zero | tr '\0' b) |
    timeout 10 socat -b 4096 -t 5 - "UNIX-CONNECT:$MIMIR_AGENT_SOCK" 2>/dev/null || true)
# socat may hit EPIPE before reading; what matters is that no ok came back.
assert_not_contains "$r" '"ok":true'
still_serves "a 100000-byte line in pieces"

log "malformed requests"
expect_error 'this is not json' bad_request
expect_error '[1,2,3]' bad_request
expect_error '"just a string"' bad_request
expect_error '' bad_request
expect_error '{"v":1,"id":3}' bad_request 3
expect_error '{"v":1,"id":4,"op":42}' bad_request 4
expect_error '{"id":5,"op":"token"}' bad_request 5
expect_error '{"v":"1","id":6,"op":"token"}' bad_request 6
expect_error '{"v":2,"id":7,"op":"token"}' unsupported_version 7
expect_error '{"v":1,"id":8,"op":"frobnicate"}' unknown_op 8
expect_error '{"v":1,"id":"str-id","op":"frobnicate"}' unknown_op str-id
expect_error '{"v":1,"id":{"x":1},"op":"token"}' bad_request
expect_error '{"v":1,"id":9,"op":"token","profile":""}' bad_request 9
expect_error '{"v":1,"id":10,"op":"token","profile":5}' bad_request 10
expect_error '{"v":1,"id":11,"op":"token","profile":"nope"}' unknown_profile 11
expect_error '{"v":1,"id":12,"op":"token","min_ttl":"soon"}' bad_request 12
expect_error '{"v":1,"id":13,"op":"set_api_key"}' bad_request 13
expect_error '{"v":1,"id":14,"op":"set_api_key","api_key":""}' bad_request 14
expect_error '{"v":1,"id":15,"op":"set_api_key","api_key":42}' bad_request 15
expect_error '{"v":1,"id":16,"op":"set_api_key","api_key":"a b"}' bad_request 16
r=$(sock_send '{"v":1,"id":8,"op":"frobnicate"}')
assert_contains "$(jqs .error.message "$r")" frobnicate "unknown_op names the op"

log "a refused set_api_key did not change the key"
assert_eq "$KEY" "$(jqs .secret "$(secret-tool lookup profile local)")"

log "CRLF line endings are accepted"
r=$(printf '{"v":1,"id":20,"op":"token"}\r\n' | sock_send_raw)
assert_eq "$KEY" "$(jqs .token "$r")" "token over CRLF"
assert_eq api-key "$(jqs .token_type "$r")"
assert_eq local "$(jqs .profile "$r")"

log "headers op"
r=$(sock_send '{"v":1,"id":21,"op":"headers","profile":"local"}')
assert_eq "$KEY" "$(jqs '.headers["X-API-Key"]' "$r")" "headers reply: $r"

log "several requests on one connection are answered in order"
NEWKEY="${KEY}_rotated"
r=$(sock_send \
    '{"v":1,"id":1,"op":"hello"}' \
    '{"v":1,"id":2,"op":"token"}' \
    'garbage' \
    '{"v":1,"id":"four","op":"status"}' \
    "{\"v\":1,\"id\":5,\"op\":\"set_api_key\",\"api_key\":\"$NEWKEY\"}" \
    '{"v":1,"id":6,"op":"token"}' \
    '{"v":1,"id":7,"op":"nope"}' \
    '{"v":1,"id":8,"op":"headers"}')
assert_eq 8 "$(wc -l <<<"$r")" "eight replies: $r"
assert_eq '1,2,null,"four",5,6,7,8' "$(jq -sc '[.[].id] | map(tojson) | join(",")' <<<"$r" | jq -r .)" "reply ids in order"
assert_eq "$KEY" "$(jq -sr '.[1].token' <<<"$r")" "token before set_api_key"
assert_eq bad_request "$(jq -sr '.[2].error.code' <<<"$r")"
assert_eq true "$(jq -sr '.[4].ok' <<<"$r")" "set_api_key in the pipeline"
assert_eq "$NEWKEY" "$(jq -sr '.[5].token' <<<"$r")" "token after set_api_key sees the new key"
assert_eq unknown_op "$(jq -sr '.[6].error.code' <<<"$r")"
assert_eq "$NEWKEY" "$(jq -sr '.[7].headers["X-API-Key"]' <<<"$r")"
KEY=$NEWKEY
still_serves "the pipeline"

log "many pipelined requests on one connection: all answered, in order"
lines=()
for i in $(seq 1 300); do lines+=("{\"v\":1,\"id\":$i,\"op\":\"token\"}"); done
r=$(sock_send "${lines[@]}")
assert_eq "$(seq -s, 1 300)" "$(jq -sr '[.[].id] | map(tostring) | join(",")' <<<"$r")" "300 pipelined ids"
assert_eq 300 "$(jq -s "[.[] | select(.token == \"$KEY\")] | length" <<<"$r")" "300 tokens"

log "subscribers get state events"
conn_open "$MM_TMP/sub.out" 5
sub_pid=$MM_CONN_PID
printf '{"v":1,"id":"sub","op":"subscribe"}\n' >&"$MM_CONN_FD"
wait_for "subscribe reply" 5 grep -q '"id":"sub"' "$MM_TMP/sub.out"
assert_exit 0 helper logout
wait_for "a state event after logout" 5 grep -q '"event":"state"' "$MM_TMP/sub.out"
ev=$(grep '"event"' "$MM_TMP/sub.out" | tail -n1)
assert_eq local "$(jqs .profile "$ev")" "event profile: $ev"
assert_eq login_required "$(jqs .state "$ev")" "event state: $ev"
assert_eq null "$(jqs .id "$ev")" "events carry no id"
assert_not_contains "$(cat "$MM_TMP/sub.out")" "$KEY" "events must not carry secrets"
exec {MM_CONN_FD}>&-
wait_for "the subscriber connection to end" 10 pid_gone "$sub_pid"

log "half-closed connection: pending answers still arrive"
assert_exit 0 helper set-api-key <<<"$KEY"
r=$(printf '{"v":1,"id":1,"op":"token"}\n{"v":1,"id":2,"op":"token"}\n' | sock_send_raw)
assert_eq 2 "$(wc -l <<<"$r")" "both replies after our EOF: $r"

log "a client that never reads its replies is cut off (output is capped)"
for i in $(seq 1 80000); do printf '{"v":1,"id":%d,"op":"token"}\n' "$i"; done >"$MM_TMP/many"
# -u: write only, never read; -t 60: keep the connection open after the
# last byte, so the replies (~9 MB) pile up in the agent however slow it is.
timeout 90 socat -u -t 60 -b 65536 "OPEN:$MM_TMP/many" "UNIX-CONNECT:$MIMIR_AGENT_SOCK" 2>/dev/null &
flood=$!
track_pid "$flood"
wait_for "the agent to drop the non-reading client" 60 \
    grep -q 'does not read its replies; disconnecting' "$MM_AGENT_LOG"
kill "$flood" 2>/dev/null || true
rss_kb=$(awk '/^VmRSS/ {print $2}' "/proc/$MM_AGENT_PID/status")
log "agent RSS after the flood: ${rss_kb} kB"
# (ASan keeps freed memory in quarantine: no RSS bound for sanitizer builds.)
if ! grep -qa __asan_init "$MM_BUILD/mimir-agent"; then
    ((rss_kb < 65536)) || fail "the agent holds ${rss_kb} kB after a client flooded it"
fi
still_serves "a client that does not read"
still_serves "everything"
stop_agent
log "ok"
