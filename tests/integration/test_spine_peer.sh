#!/usr/bin/env bash
# Who may talk to the agent, and what a client that does nothing costs:
#  - another uid is refused by the SO_PEERCRED check itself (the socket and
#    its directories are opened up first so that the kernel lets it in);
#  - a client that connects and sends nothing delays nobody, and is
#    disconnected after --idle-timeout.
. "$(dirname "$0")/../lib.sh"

KEY="peerkey_$(head -c 10 /dev/urandom | od -An -tx1 | tr -d ' \n')"
write_apikey_config local
start_agent
assert_exit 0 helper set-api-key <<<"$KEY"

log "peer uid: open the path to the socket so only SO_PEERCRED stands in the way"
id nobody >/dev/null 2>&1 || fail "precondition: no user 'nobody'"
((EUID != $(id -u nobody))) || fail "precondition: the test must not run as nobody"
chmod 0711 "$MM_TMP" "$XDG_RUNTIME_DIR"
chmod 0755 "$(dirname "$MIMIR_AGENT_SOCK")"
chmod 0666 "$MIMIR_AGENT_SOCK"
runuser -u nobody -- test -w "$MIMIR_AGENT_SOCK" ||
    fail "precondition: nobody cannot write the socket; the test would prove nothing"

# Only listen: the agent must speak first (the refusal) and hang up.
t0=$SECONDS
rc=0
r=$(runuser -u nobody -- timeout 5 socat -u "UNIX-CONNECT:$MIMIR_AGENT_SOCK" - 2>&1) || rc=$?
((rc != 124)) || fail "the agent neither refused nor closed a connection from another uid"
((rc == 0)) || fail "nobody could not connect (status $rc: the kernel refused, so the agent was not tested): $r"
assert_eq permission_denied "$(jqs .error.code "$r")" "reply to another uid: $r"
((SECONDS - t0 < 4)) || fail "the refused connection was not closed by the agent"

# Sending a request changes nothing: no ok answer, ever.
r=$(printf '{"v":1,"id":1,"op":"token"}\n' |
    runuser -u nobody -- timeout 10 socat -t 5 - "UNIX-CONNECT:$MIMIR_AGENT_SOCK" 2>/dev/null || true)
assert_not_contains "$r" '"ok":true' "another uid got an answer"
assert_not_contains "$r" "$KEY" "another uid saw the key"

grep -q "refused connection from uid $(id -u nobody)" "$MM_AGENT_LOG" ||
    fail "the agent did not log the refusal"
_mm_alive "$MM_AGENT_PID" || fail "the agent died"

log "nobody's helper refuses our agent before sending anything"
# The socket directory belongs to another user (us) and our agent runs as
# another uid: the helper's own trust checks stop it (exit 3).
rc=0
out=$(runuser -u nobody -- env MIMIR_NO_AUTOSTART=1 MIMIR_AGENT_SOCK="$MIMIR_AGENT_SOCK" \
    "$MM_BUILD/mimir-helper" token 2>"$MM_TMP/nobody.err") || rc=$?
((rc == 3)) || fail "nobody's helper: exit status $rc (expected 3): $(cat "$MM_TMP/nobody.err")"
assert_eq "" "$out" "nobody's helper printed something"
log "nobody's helper: exit $rc: $(cat "$MM_TMP/nobody.err")"
chmod 0700 "$MM_TMP" "$XDG_RUNTIME_DIR" "$(dirname "$MIMIR_AGENT_SOCK")"
assert_exit 0 helper token
assert_eq "$KEY" "$OUT" "our own uid is still served"

log "a silent client does not delay others"
silent_out=$MM_TMP/silent.out
socat -u "UNIX-CONNECT:$MIMIR_AGENT_SOCK" - >"$silent_out" 2>&1 &
silent=$!
track_pid "$silent"
# Wait until socat holds its socket (connect on a Unix socket is immediate;
# a failed connect would end socat, which the alive check below catches).
wait_for "the silent client to connect" 5 bash -c "ls -l /proc/$silent/fd | grep -q socket"
t0=$(_mm_us)
for i in $(seq 1 20); do
    out=$(timeout 5 "$MM_BUILD/mimir-helper" token --timeout 3) || fail "token $i failed while a silent client was connected"
    assert_eq "$KEY" "$out"
done
elapsed_ms=$((($(_mm_us) - t0) / 1000))
log "20 tokens with a silent client connected: ${elapsed_ms} ms"
# A blocked agent would make each take the 3 s deadline: 60 s.
((elapsed_ms < 20000)) || fail "20 tokens took ${elapsed_ms} ms with a silent client connected"
_mm_alive "$silent" || fail "the silent client was dropped although idle-timeout is 60 s"
assert_eq "" "$(cat "$silent_out")" "the silent client got something"
kill "$silent"
stop_agent

log "--idle-timeout 2: a silent client is disconnected"
start_agent --idle-timeout 2
t0=$SECONDS
socat -u "UNIX-CONNECT:$MIMIR_AGENT_SOCK" - >"$silent_out" 2>&1 &
silent=$!
track_pid "$silent"
# Others are still served while it waits to be dropped.
assert_exit 0 helper token
assert_eq "$KEY" "$OUT"
wait_for "the agent to close the idle connection" 10 pid_gone "$silent"
waited=$((SECONDS - t0))
log "idle connection closed after about ${waited}s"
((waited >= 1)) || fail "the idle connection was closed after ${waited}s: too early for --idle-timeout 2"
wait "$silent" || true
assert_exit 0 helper token
assert_eq "$KEY" "$OUT"

log "an active client is not dropped for idleness while it keeps talking"
conn_open "$MM_TMP/talk.out" 5
talk=$MM_CONN_PID
start=$SECONDS
i=0
while ((SECONDS - start < 4)); do # talk for 4 s, every 0.5 s: longer than the idle timeout
    i=$((i + 1))
    printf '{"v":1,"id":%d,"op":"hello"}\n' "$i" >&"$MM_CONN_FD"
    wait_for "reply $i" 5 grep -q "\"id\":$i," "$MM_TMP/talk.out"
    _mm_alive "$talk" || fail "an active connection was closed after $((SECONDS - start))s"
    sleep 0.5 # pacing the requests (nothing is waited for here)
done
exec {MM_CONN_FD}>&-
stop_agent
log "ok"
