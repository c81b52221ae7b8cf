#!/usr/bin/env bash
# Sessions of the proxy server are kept apart from each other and from other
# users (api-key profiles; agent, keyring, SDK servers and clients real):
#  1. two clients at once, each with its own profile (its own MCP server and
#     key) and working directory: each session reaches only its own server;
#     each session process holds its own client's standard input, output
#     and error and none of the other's, nor the server's listening socket
#     or lock; it works in its own client's directory;
#  2. one client ends: the other's session carries on;
#  3. what the helper sends (a stand-in server of ours captures it): its
#     arguments, its directory, the allow-listed environment only (a secret
#     in the client's environment stays behind); the stand-in refuses, and
#     the helper says so in one line and runs mimir-proxy itself;
#  4. a proxy server of another uid (nobody) on proxy.sock in our directory
#     (opened only for it to bind there): the helper refuses it (exit 3)
#     before it sends anything; nothing reaches it;
#  5. a client of another uid that reaches our server (directory and socket
#     opened up): refused before anything is read (by the spare session
#     process that accepted it, which stays a spare); no session process.
. "$(dirname "$0")/../lib.sh"
. "$MM_TOP/tests/mcp/lib.sh"

id nobody >/dev/null 2>&1 || fail "precondition: no user 'nobody'"
((EUID != $(id -u nobody))) || fail "precondition: the test must not run as nobody"
SOCK=$(dirname "$MIMIR_AGENT_SOCK")/proxy.sock
DIR=$(dirname "$SOCK")

log "two profiles, each with its own MCP server and key"
KEY1=key1_$(head -c 8 /dev/urandom | od -An -tx1 | tr -d ' \n')
KEY2=key2_$(head -c 8 /dev/urandom | od -An -tx1 | tr -d ' \n')
start_mcp --api-key "$KEY1"
URL1=$MCP_URL BASE1=$MCP_BASE
start_mcp --api-key "$KEY2"
URL2=$MCP_URL BASE2=$MCP_BASE
write_config "{\"default_profile\":\"one\",\"profiles\":{\"one\":{\"kind\":\"api-key\",\"server_url\":\"$URL1\"},\"two\":{\"kind\":\"api-key\",\"server_url\":\"$URL2\"}}}"
start_agent
helper set-api-key --profile one >/dev/null <<<"$KEY1" || fail "cannot store key one"
helper set-api-key --profile two >/dev/null <<<"$KEY2" || fail "cannot store key two"
stats1() { MCP_BASE=$BASE1 mcp_stats "$@"; }
stats2() { MCP_BASE=$BASE2 mcp_stats "$@"; }
links() { # the targets of PID's descriptors, one a line
    local f
    for f in /proc/"$1"/fd/*; do readlink "$f" 2>/dev/null || true; done
}

log "1. two clients at once"
mkdir -p "$MM_TMP/w1" "$MM_TMP/w2"
cd "$MM_TMP/w1" && repl_start one --stdio "$PROXY --profile one"
cd "$MM_TMP/w2" && repl_start two --stdio "$PROXY --profile two"
cd "$MM_TMP"
assert_eq '{"text":"to_one","isError":false}' "$(repl one 30 call echo '{"text":"to_one"}')" "client one"
assert_eq '{"text":"to_two","isError":false}' "$(repl two 30 call echo '{"text":"to_two"}')" "client two"
assert_eq "1 1" "$(stats1 .sessions_created) $(stats2 .sessions_created)" \
    "MCP sessions on server one and server two"
assert_eq "0 0" "$(stats1 '.auth_fail + .auth_missing') $(stats2 '.auth_fail + .auth_missing')" \
    "requests with a wrong or no key"
h1=$(repl one 10 pid | jq -r .pid)
h2=$(repl two 10 pid | jq -r .pid)
s1=$(session_of "$h1")
s2=$(session_of "$h2")
srv=$(proxy_server_pid) || fail "no proxy server"
links "$s1" >"$MM_TMP/s1.fds"
links "$s2" >"$MM_TMP/s2.fds"
log "session one holds: $(sort -u "$MM_TMP/s1.fds" | sed 's/:\[[0-9]*\]//' | sort | uniq -c | xargs)"
for fd in 0 1 2; do
    own=$(readlink "/proc/$h1/fd/$fd")
    other=$(readlink "/proc/$h2/fd/$fd")
    assert_eq "$own" "$(readlink "/proc/$s1/fd/$fd")" "session one's descriptor $fd"
    assert_eq "$other" "$(readlink "/proc/$s2/fd/$fd")" "session two's descriptor $fd"
    grep -qxF "$other" "$MM_TMP/s1.fds" && fail "session one holds client two's descriptor $fd ($other)"
    grep -qxF "$own" "$MM_TMP/s2.fds" && fail "session two holds client one's descriptor $fd ($own)"
done
listener=$(links "$srv" | grep '^socket:' || true)
[[ -n $listener ]] || fail "precondition: cannot see the server's listening socket"
for l in $listener; do
    grep -qxF "$l" "$MM_TMP/s1.fds" "$MM_TMP/s2.fds" && fail "a session holds the server's socket $l"
done
grep -q 'proxy\.sock\.lock$' "$MM_TMP/s1.fds" "$MM_TMP/s2.fds" && fail "a session holds the server's lock"
assert_eq "$MM_TMP/w1 $MM_TMP/w2" "$(readlink "/proc/$s1/cwd") $(readlink "/proc/$s2/cwd")" \
    "the sessions' working directories"

log "2. one client ends, the other carries on"
repl_end one
wait_for "session one to end" 10 pid_gone "$s1"
assert_eq '{"text":"still_two","isError":false}' "$(repl two 30 call echo '{"text":"still_two"}')" \
    "client two after client one ended"
assert_eq "1 0" "$(stats1 .sessions_deleted) $(stats2 .sessions_deleted)" "MCP sessions DELETEd"
repl_end two
kill "$srv"
wait_for "the proxy server to end" 10 pid_gone "$srv"

log "3. what the helper sends: a stand-in server captures it"
printf '#!/bin/sh\nhead -n 1 >%q\necho %q\nsleep 1\n' "$MM_TMP/request.json" \
    '{"error":"stand-in","retry":false}' >"$MM_TMP/stand-in"
chmod +x "$MM_TMP/stand-in"
socat "UNIX-LISTEN:$SOCK,mode=600" "EXEC:$MM_TMP/stand-in" &
track_pid $!
wait_for "the stand-in to listen" 10 test -S "$SOCK"
rc=0
(cd "$MM_TMP/w2" && ANTHROPIC_API_KEY=sk-not-for-mimir MIMIR_TEST_MARK=two \
    "$MM_BUILD/mimir-helper" proxy --profile two "$URL2" </dev/null >"$MM_TMP/s.out" 2>"$MM_TMP/s.err") || rc=$?
assert_eq 0 "$rc" "the helper's exit status (mimir-proxy at the end of its empty input)"
assert_eq 1 "$(grep -c 'refused the session: stand-in; running mimir-proxy directly' "$MM_TMP/s.err")" \
    "the fallback, announced: $(cat "$MM_TMP/s.err")"
req=$(cat "$MM_TMP/request.json")
assert_eq "1 [\"--profile\",\"two\",\"--\",\"$URL2\"] $MM_TMP/w2" "$(jq -r '"\(.v) \(.args | tojson) \(.cwd)"' <<<"$req")" \
    "version, arguments and directory in the request"
assert_eq "MIMIR_AGENT_SOCK=$MIMIR_AGENT_SOCK" "$(jq -r '.env[] | select(startswith("MIMIR_AGENT_SOCK="))' <<<"$req")" \
    "the agent's socket in the request's environment"
assert_eq "MIMIR_TEST_MARK=two" "$(jq -r '.env[] | select(startswith("MIMIR_TEST_MARK="))' <<<"$req")" \
    "an allow-listed variable"
assert_not_contains "$req" sk-not-for-mimir "the request"
assert_not_contains "$req" ANTHROPIC_API_KEY "the request"
rm -f "$SOCK"

log "4. a proxy server of another uid in our directory"
chmod 0711 "$MM_TMP" "$XDG_RUNTIME_DIR"
chmod 0777 "$DIR" # only so that nobody can bind there; closed again below
mkdir -m 0755 "$MM_TMP/nobody"
chown nobody "$MM_TMP/nobody"
runuser -u nobody -- touch "$MM_TMP/nobody/capture"
printf '#!/bin/sh\ncat >>%q &\necho %q\nsleep 1\n' "$MM_TMP/nobody/capture" '{"started":1}' \
    >"$MM_TMP/evil"
chmod 0755 "$MM_TMP/evil"
runuser -u nobody -- socat "UNIX-LISTEN:$SOCK,fork,mode=0777" "EXEC:$MM_TMP/evil" &
evil=$! # runuser: it ends its child when it ends
track_pid "$evil"
wait_for "nobody's server to listen" 10 test -S "$SOCK"
chmod 0700 "$DIR" "$MM_TMP" "$XDG_RUNTIME_DIR"
assert_exit 3 "$MM_BUILD/mimir-helper" proxy </dev/null
assert_contains "$ERR" "runs as uid $(id -u nobody)" "the helper says why"
assert_eq "" "$OUT" "the helper's standard output"
sleep 0.3 # let socat's children flush whatever they might have received
assert_eq "" "$(cat "$MM_TMP/nobody/capture")" "bytes nobody's server received"
kill "$evil"
wait_for "nobody's server to end" 10 pid_gone "$evil"
rm -f "$SOCK"

log "5. a client of another uid reaches our server"
"$MM_BUILD/mimir-proxy" --serve --foreground 2>"$MM_TMP/serve.log" &
srv=$!
track_pid "$srv"
wait_for "our server to listen" 10 test -S "$SOCK"
chmod 0711 "$MM_TMP" "$XDG_RUNTIME_DIR" "$DIR"
chmod 0666 "$SOCK"
runuser -u nobody -- /usr/bin/python3 "$MM_TOP/tests/mcp/handover.py" "$SOCK" \
    '{"v":1,"args":[],"env":[]}' </dev/null >/dev/null 2>"$MM_TMP/nobody.err" ||
    fail "nobody could not even connect: the test proves nothing: $(cat "$MM_TMP/nobody.err")"
chmod 0700 "$MM_TMP" "$XDG_RUNTIME_DIR" "$DIR"
chmod 0600 "$SOCK"
assert_eq closed "$(cat "$MM_TMP/nobody.err")" "what nobody got back"
grep -q "refused a connection from uid $(id -u nobody)" "$MM_TMP/serve.log" ||
    fail "the server did not refuse nobody: $(cat "$MM_TMP/serve.log")"
# (its spare session process, proxy/handoff.h, waits on: still a spare)
assert_eq "" "$(sessions_of "$srv")" "session processes the server started"
r=$(mcp_client --stdio "$PROXY" smoke)
assert_eq "hello through mimir" "$(jq -r .echo <<<"$r")" "our own client, served by that server"
kill "$srv"
wait_for "our server to end" 10 pid_gone "$srv"
log "ok"
