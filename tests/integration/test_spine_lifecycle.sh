#!/usr/bin/env bash
# The agent's life: one agent per socket, stale sockets replaced, signals
# (TERM/INT stop cleanly and remove the socket, HUP reloads), an agent whose
# socket file disappears stops, a socket directory that is not private is
# refused, the helper's autostart, and the helper's and agent's exit
# statuses.
. "$(dirname "$0")/../lib.sh"

KEY="lifekey_$(head -c 10 /dev/urandom | od -An -tx1 | tr -d ' \n')"
write_apikey_config local
SOCK=$MIMIR_AGENT_SOCK

log "command line of the agent"
assert_exit 0 "$MM_BUILD/mimir-agent" --help
assert_contains "$OUT" "usage: mimir-agent"
assert_contains "$OUT" "--idle-timeout"
assert_exit 0 "$MM_BUILD/mimir-agent" --version
assert_contains "$OUT" "mimir-agent "
assert_exit 2 "$MM_BUILD/mimir-agent" --bogus
assert_exit 2 "$MM_BUILD/mimir-agent" --foreground extra-arg
assert_contains "$ERR" "unexpected argument 'extra-arg'"
assert_exit 2 "$MM_BUILD/mimir-agent" --foreground --idle-timeout 0
assert_contains "$ERR" "idle and login 1..86400"
assert_exit 2 "$MM_BUILD/mimir-agent" --foreground --idle-timeout 3000000
assert_exit 2 "$MM_BUILD/mimir-agent" --foreground --http-timeout 601
assert_exit 2 "$MM_BUILD/mimir-agent" --foreground --socket relative.sock
assert_exit 2 env MIMIR_AGENT_SOCK=relative.sock "$MM_BUILD/mimir-agent" --foreground
[[ ! -e $SOCK ]] || fail "a refused start left a socket behind"

log "a socket directory that is not private is refused, not fixed"
mkdir -m 0755 "$MM_TMP/open"
assert_exit 1 timeout 10 "$MM_BUILD/mimir-agent" --foreground --socket "$MM_TMP/open/agent.sock"
assert_contains "$ERR" "$MM_TMP/open has mode 755"
assert_eq 755 "$(stat -c %a "$MM_TMP/open")" "the agent changed the directory's mode"
mkdir -m 0700 "$MM_TMP/real"
ln -s "$MM_TMP/real" "$MM_TMP/link"
assert_exit 1 timeout 10 "$MM_BUILD/mimir-agent" --foreground --socket "$MM_TMP/link/agent.sock"
assert_contains "$ERR" "symlinks are refused"
[[ ! -e $MM_TMP/real/agent.sock ]] || fail "the agent followed a symlinked socket directory"

log "helper exit statuses: usage 2, unreachable 3"
assert_exit 2 helper
assert_exit 2 helper frobnicate
assert_contains "$ERR" "unknown command 'frobnicate'"
assert_exit 2 helper token --bogus-option
assert_contains "$ERR" "usage: mimir-helper token"
assert_exit 2 helper token extra
assert_exit 2 helper token --timeout 0
assert_exit 2 helper status --device
assert_exit 0 helper --help
assert_contains "$OUT" "Exit status: 0 ok, 1 other error, 2 usage, 3 agent unreachable"
assert_exit 0 helper token --help
assert_contains "$OUT" "usage: mimir-helper token"
assert_exit 2 env MIMIR_AGENT_SOCK=relative.sock MIMIR_NO_AUTOSTART=1 "$MM_BUILD/mimir-helper" token
assert_exit 3 helper token
assert_contains "$ERR" "cannot reach mimir-agent at $SOCK"
assert_contains "$ERR" "start it with 'mimir-agent'"
[[ ! -e $SOCK ]] || fail "MIMIR_NO_AUTOSTART=1 and still an agent was started"

log "exit status 4: login required"
start_agent
assert_exit 4 helper token
assert_exit 4 helper headers
assert_exit 0 helper set-api-key <<<"$KEY"
assert_exit 0 helper token
assert_eq "$KEY" "$OUT"

log "a second agent on the same socket refuses to start, with an exit status of its own (3)"
first=$MM_AGENT_PID
assert_exit 3 timeout 10 "$MM_BUILD/mimir-agent" --foreground
assert_contains "$ERR" "already running"
assert_contains "$ERR" "pid $first"
# daemon mode reports the failure through its exit status too
assert_exit 3 timeout 10 "$MM_BUILD/mimir-agent"
assert_contains "$ERR" "already running"
assert_exit 0 helper token
assert_eq "$KEY" "$OUT" "the first agent must keep its socket"
r=$(sock_send '{"v":1,"id":1,"op":"hello"}')
assert_eq "$first" "$(jqs .pid "$r")" "the socket still belongs to the first agent"

log "SIGHUP reloads the config"
write_config '{"profiles":{"local":{"kind":"api-key","server_url":"http://127.0.0.1:8080/mcp"},
                           "extra":{"kind":"api-key"}},"default_profile":"local"}'
kill -HUP "$MM_AGENT_PID"
has_profile() { helper status --json | jq -e --arg n "$1" 'any(.[]; .name == $n)'; }
wait_for "the agent to show profile extra after SIGHUP" 5 has_profile extra
grep -q 'configuration reloaded (SIGHUP)' "$MM_AGENT_LOG" || fail "no reload message in the log"
assert_exit 0 helper token
assert_eq "$KEY" "$OUT" "the key survives a SIGHUP reload"
write_config '{"profiles":{"local":{"kind":"api-key","bad_key":true}}}'
kill -HUP "$MM_AGENT_PID"
wait_for "the failed reload in the log" 5 grep -q 'reload failed, keeping the previous config' "$MM_AGENT_LOG"
grep -q "$MIMIR_CONFIG: profiles.local.bad_key: unknown key" "$MM_AGENT_LOG" ||
    fail "the failed reload is not explained with file and key"
assert_exit 0 helper status --json
assert_eq "local,extra" "$(jqs '[.[].name] | join(",")' "$OUT")" "previous config kept"
write_apikey_config local

log "SIGTERM: exit 0, socket removed, even with clients connected"
socat -u "UNIX-CONNECT:$SOCK" - >/dev/null 2>&1 &
track_pid $!
stop_agent TERM
[[ ! -e $SOCK ]] || fail "the socket file is still there after SIGTERM"
grep -q 'signal 15: shutting down' "$MM_AGENT_LOG" || fail "no shutdown message"
grep -q 'stopped' "$MM_AGENT_LOG" || fail "no 'stopped' message"

log "SIGINT: the same"
start_agent
stop_agent INT
[[ ! -e $SOCK ]] || fail "the socket file is still there after SIGINT"

log "a stale socket (agent killed with -9) is replaced by the next agent"
start_agent
kill -KILL "$MM_AGENT_PID"
wait_agent_exit 5
assert_eq 137 "$MM_AGENT_STATUS" "status of the killed agent"
[[ -S $SOCK ]] || fail "precondition: kill -9 should leave the socket file behind"
assert_exit 3 helper token
assert_contains "$ERR" "Connection refused"
start_agent
assert_exit 0 helper token
assert_eq "$KEY" "$OUT" "the new agent serves from the stale socket's path"
stop_agent
[[ ! -e $SOCK ]] || fail "socket left behind"

log "an agent whose socket file is removed shuts down"
start_agent
rm "$SOCK"
wait_agent_exit 10
assert_eq 0 "$MM_AGENT_STATUS" "exit status after its socket was removed"
grep -q 'was removed or replaced; shutting down' "$MM_AGENT_LOG" ||
    fail "no message about the removed socket"

log "autostart: the helper starts the agent found next to itself"
t_auto=$(_mm_us)
mkdir -m 0755 "$MM_TMP/bin"
cp "$MM_BUILD/mimir-helper" "$MM_BUILD/mimir-agent" "$MM_TMP/bin/"
! PATH=/usr/bin:/bin command -v mimir-agent >/dev/null ||
    log "note: a mimir-agent is on PATH; the /proc/PID/exe check below tells them apart"
assert_exit 0 env -u MIMIR_NO_AUTOSTART PATH=/usr/bin:/bin "$MM_TMP/bin/mimir-helper" token
assert_eq "$KEY" "$OUT" "token through an autostarted agent"
[[ -S $SOCK ]] || fail "no socket after autostart"
auto=$(_mm_lock_pid "$SOCK") || fail "cannot find the autostarted agent"
log "autostart + token took $((($(_mm_us) - t_auto) / 1000)) ms"
assert_eq "$MM_TMP/bin/mimir-agent" "$(readlink "/proc/$auto/exe")" "the agent that was started"
# A second call reuses it.
assert_exit 0 env -u MIMIR_NO_AUTOSTART "$MM_TMP/bin/mimir-helper" token
assert_eq "$auto" "$(_mm_lock_pid "$SOCK")" "a second token started another agent"
kill -TERM "$auto"
wait_for "the autostarted agent to stop" 10 pid_gone "$auto"
[[ ! -e $SOCK ]] || fail "the autostarted agent left its socket behind"

log "autostart that fails says what to do"
assert_exit 3 env -u MIMIR_NO_AUTOSTART MIMIR_AGENT_BIN=/bin/false "$MM_BUILD/mimir-helper" token
assert_contains "$ERR" "starting one failed"
assert_contains "$ERR" "mimir-agent --foreground"
[[ ! -e $SOCK ]] || fail "socket appeared although the agent could not start"
log "ok"
