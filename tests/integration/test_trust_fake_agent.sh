#!/usr/bin/env bash
# The helper refuses an agent it cannot trust, before it sends anything
# (issue: a process of another user that got to the socket path first
# received set-api-key secrets and served its own tokens).
#  1. a directory owned by another user (mode 0777) holding a fake agent run
#     as nobody: set-api-key and token exit 3, the fake agent receives nothing;
#  2. the same at the /tmp/mimir-<uid> fallback (only when that path is free);
#  3. a private directory of ours (0700) whose socket is served by nobody:
#     refused by the listener's SO_PEERCRED uid, nothing sent;
#  4. our own agent in a directory opened up to 0755: refused as well.
. "$(dirname "$0")/../lib.sh"

id nobody >/dev/null 2>&1 || fail "precondition: no user 'nobody'"
((EUID != $(id -u nobody))) || fail "precondition: the test must not run as nobody"
KEY="trustkey_$(head -c 8 /dev/urandom | od -An -tx1 | tr -d ' \n')"
EVIL='{"v":1,"id":1,"ok":true,"profile":"x","token":"EVIL-TOKEN","token_type":"Bearer"}'

# fake_agent SOCKET CAPTURE: as nobody, listen on SOCKET (mode 0777, so that
# only our checks stand in the way), append whatever a client sends to
# CAPTURE and answer every connection with $EVIL.
fake_agent() {
    runuser -u nobody -- socat "UNIX-LISTEN:$1,fork,mode=0777" \
        "SYSTEM:'cat >>$2 & echo \"\$EVIL\"; sleep 1',pty=0" &
    track_pid $!
    wait_for "the fake agent to listen on $1" 10 test -S "$1"
}
export EVIL

# try_helper SOCKET: set-api-key and token against SOCKET must exit 3 and
# say why, and the fake agent must have received nothing.
try_helper() {
    local sock=$1 capture=$2 what=$3
    MIMIR_AGENT_SOCK=$sock assert_exit 3 bash -c "printf '%s\n' '$KEY' | \"$MM_BUILD/mimir-helper\" set-api-key"
    assert_not_contains "$OUT" "stored" "$what: set-api-key"
    assert_contains "$ERR" "$4" "$what: the helper says what is wrong"
    MIMIR_AGENT_SOCK=$sock assert_exit 3 helper token
    assert_not_contains "$OUT" EVIL "$what: token printed the fake agent's token"
    MIMIR_AGENT_SOCK=$sock assert_exit 3 helper headers
    assert_eq "" "$OUT" "$what: headers printed something"
    # An autostarting helper must not start an agent there (or talk to it) either.
    MM_AUTOSTART=1 MIMIR_AGENT_SOCK=$sock assert_exit 3 helper token
    sleep 0.3 # let socat's children flush whatever they might have received
    assert_eq "" "$(cat "$capture")" "$what: the fake agent received bytes"
}

log "1. a directory owned by nobody, mode 0777, at MIMIR_AGENT_SOCK"
evil=$(mktemp -d /tmp/mm-evil.XXXXXX)
chmod 0755 "$evil"
chown nobody "$evil"
runuser -u nobody -- mkdir -m 0777 "$evil/mimir"
runuser -u nobody -- touch "$evil/capture1"
chmod 0666 "$evil/capture1"
fake_agent "$evil/mimir/agent.sock" "$evil/capture1"
# Precondition: without the checks the fake agent would be reachable.
r=$(printf '{"v":1,"id":1,"op":"hello"}\n' | timeout 5 socat -t 2 - "UNIX-CONNECT:$evil/mimir/agent.sock")
assert_contains "$r" EVIL-TOKEN "precondition: the fake agent answers"
: >"$evil/capture1"
try_helper "$evil/mimir/agent.sock" "$evil/capture1" "other user's directory" "owned by uid $(id -u nobody)"

log "2. the /tmp/mimir-\$UID fallback created by nobody"
fallback=/tmp/mimir-$(id -u)
if [[ -e $fallback ]]; then
    log "  $fallback exists on this machine; not touching it (part skipped)"
else
    runuser -u nobody -- mkdir -m 0777 "$fallback"
    runuser -u nobody -- touch "$evil/capture2"
    chmod 0666 "$evil/capture2"
    fake_agent "$fallback/agent.sock" "$evil/capture2"
    : >"$evil/capture2"
    (
        unset XDG_RUNTIME_DIR
        try_helper "" "$evil/capture2" "fallback directory" "owned by uid $(id -u nobody)"
    ) || { rm -rf "$fallback"; fail "fallback part failed"; }
    pkill -u nobody -f "UNIX-LISTEN:$fallback" || true
    rm -rf "$fallback"
fi

log "3. our private directory, but the listener runs as nobody"
dir=$(dirname "$MIMIR_AGENT_SOCK")
mkdir -m 0700 "$dir"
chmod 0711 "$MM_TMP" "$XDG_RUNTIME_DIR"
chmod 0777 "$dir" # only so that nobody can bind there; closed again below
runuser -u nobody -- touch "$evil/capture3"
chmod 0666 "$evil/capture3"
fake_agent "$MIMIR_AGENT_SOCK" "$evil/capture3"
chmod 0700 "$dir" "$MM_TMP" "$XDG_RUNTIME_DIR"
: >"$evil/capture3"
try_helper "$MIMIR_AGENT_SOCK" "$evil/capture3" "listener of another uid" "runs as uid $(id -u nobody)"
pkill -u nobody -f "UNIX-LISTEN:$MIMIR_AGENT_SOCK" || true
rm -f "$MIMIR_AGENT_SOCK"

log "4. our own agent, but its directory opened up to 0755"
write_apikey_config local
start_agent
assert_exit 0 bash -c "printf '%s\n' '$KEY' | MIMIR_NO_AUTOSTART=1 \"$MM_BUILD/mimir-helper\" set-api-key"
assert_exit 0 helper token
assert_eq "$KEY" "$OUT"
chmod 0755 "$dir"
assert_exit 3 helper token
assert_contains "$ERR" "has mode 755" "the helper names the directory's mode"
assert_eq "" "$OUT"
chmod 0700 "$dir"
assert_exit 0 helper token
assert_eq "$KEY" "$OUT" "served again once the directory is private"
stop_agent
rm -rf "$evil"
log "ok"
