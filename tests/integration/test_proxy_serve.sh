#!/usr/bin/env bash
# The proxy server (mimir-proxy --serve) that `mimir-helper proxy` hands its
# MCP client to, over its lifetime (api-key profile; agent, keyring, SDK
# server and client real):
#  1. the first client starts it: a daemon in a session of its own, holding
#     the lock, listening on proxy.sock (mode 0600) next to the agent's
#     socket; the client's process is the helper, and the MCP session runs
#     in a process of the server's; a spare session process waits for the
#     next client, takes it, and another spare follows;
#  2. the helper is killed (SIGKILL): its session process notices, DELETEs
#     the MCP session and exits (no orphan); the server serves the next
#     client; a spare killed (SIGKILL): the server forks for the next client
#     itself, then has a spare again;
#  3. idle exit: a server started with --idle-exit 3 outlives a session
#     longer than that, then exits 3 s after the last session ended (exit
#     status 0, socket removed, its spare gone);
#  4. SIGTERM to the server with two sessions open: both are DELETEd, their
#     helpers exit 0, then the server exits;
#  5. the server dies (SIGKILL) with a session open: the session carries on
#     (it holds neither the listening socket nor the lock), its spare dies
#     with it, and the next client starts a new server over the stale socket;
#  6. a client of another protocol version is told to retry, and the server
#     takes no more sessions: the next client starts a new one, while the
#     old server's session runs to its end and the old server then exits.
. "$(dirname "$0")/../lib.sh"
. "$MM_TOP/tests/mcp/lib.sh"

SOCK=$(dirname "$MIMIR_AGENT_SOCK")/proxy.sock
INIT='{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"by-hand","version":"1"}}}'
apikey_world

ppid_of() { awk '{print $4}' "/proc/$1/stat"; }
sid_of() { awk '{print $6}' "/proc/$1/stat"; }

# raw_start NAME: `mimir-helper proxy` on the fifo NAME.in (fd in $RAW_FD_NAME),
# output in NAME.out, initialized; its pid in $RAW_PID_NAME.
raw_start() {
    mkfifo "$MM_TMP/$1.in"
    "$MM_BUILD/mimir-helper" proxy <"$MM_TMP/$1.in" >"$MM_TMP/$1.out" 2>"$MM_TMP/$1.err" &
    track_pid $!
    eval "RAW_PID_$1=$!"
    local fd
    exec {fd}>"$MM_TMP/$1.in"
    eval "RAW_FD_$1=$fd"
    printf '%s\n' "$INIT" >&"$fd"
    _has_line() { [[ -s $MM_TMP/$1.out ]]; }
    wait_for "the initialize result for $1" 20 _has_line "$1"
}
# raw_call NAME ID TEXT: an echo call; waits for its answer
raw_call() {
    local fd n
    eval "fd=\$RAW_FD_$1"
    n=$(($(wc -l <"$MM_TMP/$1.out") + 1))
    printf '{"jsonrpc":"2.0","id":%s,"method":"tools/call","params":{"name":"echo","arguments":{"text":"%s"}}}\n' "$2" "$3" >&"$fd"
    _lines() { (($(wc -l <"$MM_TMP/$1.out") >= $2)); }
    wait_for "the answer to call $2 of $1" 20 _lines "$1" "$n"
    sed -n "${n}p" "$MM_TMP/$1.out" | jq -r '.result.content[0].text'
}
# raw_exit NAME SECS: wait for the helper to end; its exit status in $RAW_RC
raw_exit() {
    local pid
    eval "pid=\$RAW_PID_$1"
    wait_for "mimir-helper proxy ($1) to exit" "$2" pid_gone "$pid"
    RAW_RC=0
    wait "$pid" || RAW_RC=$?
}

log "1. the first client starts the server"
proxy_server_pid >/dev/null && fail "precondition: a proxy server runs already"
repl_start a --stdio "$PROXY"
repl a 30 ping >/dev/null
srv=$(proxy_server_pid) || fail "no proxy server runs after the first client"
hp=$(repl a 10 pid | jq -r .pid)
[[ $(readlink "/proc/$hp/exe") == */mimir-helper ]] || fail "the client's process is not mimir-helper"
sp=$(session_of "$hp")
assert_eq "$srv" "$(ppid_of "$sp")" "the parent of the session process"
assert_eq "$srv" "$(sid_of "$srv")" "the server's session id (daemonized: its own)"
assert_eq 600 "$(stat -c %a "$SOCK")" "the mode of proxy.sock"
assert_eq 700 "$(stat -c %a "$(dirname "$SOCK")")" "the mode of its directory"
assert_eq '{"text":"served","isError":false}' "$(repl a 30 call echo '{"text":"served"}')" \
    "a call through the server's session"
wait_for "a spare session process" 10 has_spare "$srv"
spare=$(spare_of "$srv")
assert_eq 1 "$(wc -w <<<"$spare")" "spare session processes"
repl_start a2 --stdio "$PROXY"
repl a2 30 ping >/dev/null
hp2=$(repl a2 10 pid | jq -r .pid)
assert_eq "$spare" "$(session_of "$hp2")" "the process serving the second client (the spare)"
assert_eq mimir-proxy "$(cat "/proc/$spare/comm")" "the spare's name once it serves"
_new_spare() { has_spare "$srv" && [[ $(spare_of "$srv") != "$spare" ]]; }
wait_for "the next spare" 10 _new_spare
repl_end a2

log "2. the helper is killed: its session ends with it"
d0=$(mcp_stats .sessions_deleted)
kill -KILL "$hp"
wait_for "the session process to end after its helper was killed" 10 pid_gone "$sp"
_deleted() { (($(mcp_stats .sessions_deleted) == d0 + 1)); }
wait_for "the session to be DELETEd" 10 _deleted
assert_eq "" "$(sessions_of "$srv")" "session processes left"
r=$(mcp_client --stdio "$PROXY" smoke)
assert_eq "hello through mimir" "$(jq -r .echo <<<"$r")" "the next client"
assert_eq "$srv" "$(proxy_server_pid)" "the server that served it"
wait_for "a spare session process" 10 has_spare "$srv"
spare=$(spare_of "$srv")
kill -KILL "$spare"
wait_for "the spare to die" 10 pid_gone "$spare"
r=$(mcp_client --stdio "$PROXY" smoke)
assert_eq "hello through mimir" "$(jq -r .echo <<<"$r")" "a client after the spare was killed"
assert_eq "$srv" "$(proxy_server_pid)" "the server that served it"
wait_for "a new spare" 10 has_spare "$srv"

log "3. idle exit"
kill "$srv"
wait_for "the autostarted server to end" 10 pid_gone "$srv"
[[ -e $SOCK ]] && fail "the server left its socket behind at SIGTERM"
"$MM_BUILD/mimir-proxy" --serve --foreground --idle-exit 3 -v 2>"$MM_TMP/serve.log" &
srv=$!
track_pid "$srv"
wait_for "the server to listen" 10 test -S "$SOCK"
raw_start b # at once: the server is idle until then
grep -q "session [0-9]* started" "$MM_TMP/serve.log" || fail "the session went elsewhere: $(cat "$MM_TMP/serve.log")"
# Outlast the idle period with the session open: a session is not idleness.
sleep 4
_mm_alive "$srv" || fail "the server exited with a session open: $(cat "$MM_TMP/serve.log")"
assert_eq "later" "$(raw_call b 2 later)" "a call after 4 s"
spare=$(spare_of "$srv")
[[ -n $spare ]] || fail "no spare session process next to a session"
exec {RAW_FD_b}>&-
raw_exit b 10
assert_eq 0 "$RAW_RC" "the helper's exit status at the end of input"
wait_for "the idle server to exit" 10 pid_gone "$srv"
wait_for "its spare to go with it" 10 pid_gone "$spare"
rc=0
wait "$srv" || rc=$?
assert_eq 0 "$rc" "the idle server's exit status"
grep -q "no session for 3 s; exiting" "$MM_TMP/serve.log" || fail "no idle exit in the log: $(cat "$MM_TMP/serve.log")"
[[ -e $SOCK ]] && fail "the idle server left its socket behind"

log "4. SIGTERM to the server with two sessions open"
raw_start c
raw_start d
srv=$(proxy_server_pid) || fail "no server after two clients"
assert_eq 2 "$(sessions_of "$srv" | wc -l)" "session processes"
d0=$(mcp_stats .sessions_deleted)
kill -TERM "$srv"
raw_exit c 10
assert_eq 0 "$RAW_RC" "the first helper's exit status after the server's SIGTERM"
raw_exit d 10
assert_eq 0 "$RAW_RC" "the second helper's exit status"
wait_for "the server to exit" 10 pid_gone "$srv"
assert_eq $((d0 + 2)) "$(mcp_stats .sessions_deleted)" "sessions DELETEd"

log "5. the server dies with a session open"
raw_start e
old=$(proxy_server_pid) || fail "no server"
es=$(session_of "$RAW_PID_e")
wait_for "a spare session process" 10 has_spare "$old"
spare=$(spare_of "$old")
kill -KILL "$old"
wait_for "the server to die" 10 pid_gone "$old"
wait_for "its spare to die with it" 10 pid_gone "$spare"
[[ -S $SOCK ]] || fail "precondition: the dead server's socket is still there"
assert_eq "still" "$(raw_call e 2 still)" "a call in the session whose server died"
r=$(mcp_client --stdio "$PROXY" smoke)
assert_eq "hello through mimir" "$(jq -r .echo <<<"$r")" "a client after the server died"
new=$(proxy_server_pid) || fail "no new server after the old one died"
[[ $new != "$old" ]] || fail "the dead server is still named in the lock"
exec {RAW_FD_e}>&-
raw_exit e 10
assert_eq 0 "$RAW_RC" "the orphaned session's helper at the end of input"
pid_gone "$es" || fail "the orphaned session process outlived its client"

log "6. a client of another protocol version"
raw_start f
python3 "$MM_TOP/tests/mcp/handover.py" "$SOCK" '{"v":99,"args":[],"env":[]}' </dev/null \
    >/dev/null 2>"$MM_TMP/v99.err" || fail "handover failed: $(cat "$MM_TMP/v99.err")"
assert_contains "$(cat "$MM_TMP/v99.err")" '"retry":true' "the answer to version 99"
wait_for "the old server to give up its socket" 10 bash -c "! test -S '$SOCK'"
_mm_alive "$new" || fail "the old server exited with a session open"
r=$(mcp_client --stdio "$PROXY" smoke)
assert_eq "hello through mimir" "$(jq -r .echo <<<"$r")" "a client after the old server retired"
newer=$(proxy_server_pid) || fail "no server after the old one retired"
[[ $newer != "$new" ]] || fail "the retired server took the next client"
assert_eq "on" "$(raw_call f 2 on)" "the retired server's session"
exec {RAW_FD_f}>&-
raw_exit f 10
assert_eq 0 "$RAW_RC" "that session's helper at the end of input"
wait_for "the retired server to exit after its last session" 10 pid_gone "$new"
log "ok"
