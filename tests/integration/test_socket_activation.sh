#!/usr/bin/env bash
# Socket activation for real: systemd-socket-activate listens where
# packaging/systemd/mimir-agent.socket says (ListenStream=%t/mimir/agent.sock,
# %t being $XDG_RUNTIME_DIR), which must be where the helper looks by default;
# nothing runs the agent until the first connection, and the first
# `mimir-helper token` (autostart off) is answered by the agent the activator
# started on that connection, serving the key it reads from the real keyring.
# systemd-socket-activate execs the agent in its own process (no --accept), so
# the agent's pid is the activator's: that is what systemd does with a
# service's main process too.
. "$(dirname "$0")/../lib.sh"

command -v systemd-socket-activate >/dev/null || skip "systemd-socket-activate is missing (apt-get install systemd)"
unit=$MM_TOP/packaging/systemd/mimir-agent.socket
listen=$(sed -n 's/^ListenStream=//p' "$unit")
assert_eq "%t/mimir/agent.sock" "$listen" "the socket unit's ListenStream"
grep -qx 'DirectoryMode=0700' "$unit" || fail "the socket unit must create its directory 0700 (the helper's trust check)"
# The helper's own default, with no MIMIR_AGENT_SOCK: the unit's path.
unset MIMIR_AGENT_SOCK
sock=${listen//%t/$XDG_RUNTIME_DIR}
mkdir -m 0700 "$(dirname "$sock")" # what DirectoryMode=0700 makes systemd do

write_apikey_config
key="mm-activation-$RANDOM$RANDOM"

# activate: systemd-socket-activate on $sock with the environment a user
# manager would pass; its pid in $SA_PID.
activate() {
    systemd-socket-activate -l "$sock" \
        -E HOME -E XDG_RUNTIME_DIR -E XDG_CONFIG_HOME -E XDG_DATA_HOME -E MIMIR_CONFIG \
        -E DBUS_SESSION_BUS_ADDRESS -E PATH \
        "$MM_BUILD/mimir-agent" --foreground >>"$MM_TMP/agent-activated.log" 2>&1 &
    SA_PID=$!
    track_pid "$SA_PID"
    wait_for "systemd-socket-activate to listen on $sock" 10 test -S "$sock"
    # Nothing but the activator runs: no agent, no agent lock file.
    [[ $(readlink "/proc/$SA_PID/exe") == */systemd-socket-activate ]] ||
        fail "before any connection pid $SA_PID is $(readlink "/proc/$SA_PID/exe")"
    [[ ! -e $sock.lock ]] || fail "an agent lock file exists before activation"
    return 0
}

hello_pid() {
    printf '{"v":1,"id":1,"op":"hello"}\n' | timeout 5 socat -t 2 - "UNIX-CONNECT:$sock" | jq -r .pid
}

stop_activated() {
    kill -TERM "$SA_PID"
    wait_for "the activated agent to stop" 10 pid_gone "$SA_PID"
    wait "$SA_PID" || fail "the activated agent exited with status $?"
    rm -f "$sock" # systemd removes it when the socket unit stops
}

# 1: the first request (set-api-key) activates an agent that stores the key.
activate
printf '%s' "$key" | MIMIR_NO_AUTOSTART=1 "$MM_BUILD/mimir-helper" set-api-key ||
    fail "set-api-key through the activated socket failed"
[[ $(readlink "/proc/$SA_PID/exe") == "$MM_BUILD/mimir-agent" ]] ||
    fail "after the first connection pid $SA_PID is $(readlink "/proc/$SA_PID/exe"), not the agent"
stop_activated
log "activation 1: set-api-key stored the key through an activated agent"

# 2: a fresh activation; the very first request is `token`.
activate
t0=$(_mm_us)
assert_exit 0 env MIMIR_NO_AUTOSTART=1 "$MM_BUILD/mimir-helper" token
first_ms=$((($(_mm_us) - t0) / 1000))
assert_eq "$key" "$OUT" "the first token after activation"
assert_eq "$SA_PID" "$(hello_pid)" "the agent that answers is the activated process"
[[ $(readlink "/proc/$SA_PID/exe") == "$MM_BUILD/mimir-agent" ]] || fail "pid $SA_PID is not mimir-agent"
# Exactly one agent for this test's runtime directory: the helper started
# none of its own (other tests run agents of the same build in parallel,
# so the count goes by environment, not by binary).
n=0
for p in $(pgrep -x mimir-agent -u "$(id -u)"); do
    tr '\0' '\n' < "/proc/$p/environ" 2>/dev/null | grep -qF "$MM_TMP" && n=$((n + 1))
done
assert_eq 1 "$n" "mimir-agent processes for this runtime directory"
grep -q "listening on $sock (pid $SA_PID)" "$MM_TMP/agent-activated.log" ||
    fail "the agent log does not show the activated listener: $(cat "$MM_TMP/agent-activated.log")"
[[ ! -e $sock.lock ]] || fail "an activated agent took the lock of a self-started one"
# The helper's trust checks passed on the activator's directory and socket.
assert_exit 0 env MIMIR_NO_AUTOSTART=1 "$MM_BUILD/mimir-helper" header
assert_eq "X-API-Key: $key" "$OUT"
log "activation 2: first token answered by the activated agent (pid $SA_PID) in ${first_ms} ms"
stop_activated
log "PASS"
