#!/usr/bin/env bash
# Nothing hung can hold callers or a stop for long:
#  - a refresh whose connection hangs at the IdP is cut at the access token's
#    remaining life (with a floor) and retried at once on a fresh connection,
#    so a caller waiting for a token after expiry is answered well within its
#    10 s deadline (issue: with 4 s tokens and one hung token call, callers
#    waited out their own deadline: the HTTP timeout is 15 s);
#  - a keyring call that never returns does not keep SIGTERM waiting: the
#    agent stops within a few seconds (issue: D-Bus's ~25 s default).
. "$(dirname "$0")/../lib.sh"
. "$MM_TOP/tests/lib_oauth.sh"
. "$MM_TOP/tests/lib_refresh.sh"

TTL=4
signed_in_work --access-ttl "$TTL"
log "the next refresh grant hangs at the IdP"
idp_ctl fault '{"endpoint":"token","mode":"hang","count":1,"grant_type":"refresh_token"}' >/dev/null
exp=$(pstatus work .access_expires_at)
_expired() { (($(now_s) > exp)); }
wait_for "the access token to expire" $((TTL + 5)) _expired
timed helper token --timeout 10
log "token after expiry with a hung refresh: exit $RC in $ELAPSED_MS ms"
((RC == 0)) || fail "token failed (exit $RC) while a refresh hung: $ERR"
((ELAPSED_MS < 9000)) || fail "the caller waited $ELAPSED_MS ms"
introspect_ok "$OUT" "the token answered"
grep -q 'retrying at once on a new connection' "$MM_AGENT_LOG" ||
    fail "the agent did not retry the hung refresh on a new connection"
stop_agent

log "SIGTERM while a keyring call hangs"
write_apikey_config local
start_agent
kill -STOP "$MM_KEYRING_PID"
( # not bg_helper: a background job's stdin would be /dev/null
    trap - ERR
    set +e
    helper set-api-key <<<"hung_key_0123456789"
) >"$MM_TMP/hung.out" 2>"$MM_TMP/hung.err" &
MM_BG_PID[hung]=$!
track_pid $!
sleep 1 # the request reaches the stopped keyring (nothing observable: it is stopped)
pid_gone "${MM_BG_PID[hung]}" && fail "set-api-key ended although the keyring is stopped: $(cat "$MM_TMP/hung.err")"
t0=$(now_ms)
kill -TERM "$MM_AGENT_PID"
wait_agent_exit 15
elapsed=$(($(now_ms) - t0))
kill -CONT "$MM_KEYRING_PID"
log "the agent stopped $elapsed ms after SIGTERM with the keyring hung (status $MM_AGENT_STATUS)"
((elapsed < 6000)) || fail "the agent took $elapsed ms to honour SIGTERM"
assert_eq 0 "$MM_AGENT_STATUS" "exit status"
bg_wait hung 10
((BG_RC != 0)) || fail "set-api-key claims success although the keyring never answered"
log "ok"
