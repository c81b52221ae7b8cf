#!/usr/bin/env bash
# A token request that reaches a freshly started agent before it has read
# the refresh token from the keyring must be answered with a refreshed token,
# not with "not logged in".  This is what happens when mimir-helper
# autostarts the agent, or right after a restart (kill -9 or not).
# End to end: real IdP, keyring, agent, chromium for the one login.  The
# keyring daemon is paused (SIGSTOP) while the agent starts, so the request
# deterministically arrives while the profile is "loading"; then it continues.
. "$(dirname "$0")/../lib.sh"
. "$MM_TOP/tests/lib_oauth.sh"
. "$MM_TOP/tests/lib_refresh.sh"

signed_in_work --rotate-refresh
stop_agent
rg0=$(idp_stats refresh_grants)

log "restart with the keyring paused: the request waits for the load"
kill -STOP "$MM_KEYRING_PID"
start_agent
assert_eq loading "$(pstate work)" "state while the keyring does not answer"
bg_helper early token
_parked() { [[ $(pstatus work .waiters) == 1 ]]; }
wait_for "the request to wait on the loading profile (status waiters)" 10 _parked
pid_gone "${MM_BG_PID[early]}" && { kill -CONT "$MM_KEYRING_PID"; fail "token was answered before the keyring was read: $(cat "$MM_TMP/early.err")"; }
kill -CONT "$MM_KEYRING_PID"
bg_wait early 20
((BG_RC == 0)) || fail "a token request made while the profile was loading failed (exit $BG_RC): $ERR"
introspect_ok "$OUT" "the token answered after the load"
assert_eq $((rg0 + 1)) "$(idp_stats refresh_grants)" "refresh grants"
wait_pstate work ready 5

log "autostart: the first 'mimir-helper token' of a session starts the agent and gets a token"
stop_agent
for i in 1 2 3; do
    rc=0
    MM_AUTOSTART=1 helper token >"$MM_TMP/auto.out" 2>"$MM_TMP/auto.err" || rc=$?
    ((rc == 0)) || fail "autostart $i: token failed (exit $rc): $(grep -v 'mimir-agent\[' "$MM_TMP/auto.err")"
    introspect_ok "$(cat "$MM_TMP/auto.out")" "autostart $i: the token"
    pid=$(head -n1 "$MIMIR_AGENT_SOCK.lock")
    kill "$pid"
    wait_for "the autostarted agent to stop" 10 pid_gone "$pid"
done
log "ok"
