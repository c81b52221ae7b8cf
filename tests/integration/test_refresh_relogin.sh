#!/usr/bin/env bash
# After the IdP ended the session (refresh token revoked -> invalid_grant ->
# login_required), a new browser login in the SAME agent must work: the
# agent's recovery path from a dead refresh token.  End to end: real IdP,
# keyring, agent, chromium.  Also: the new login's refresh token is stored and
# refreshes work again.
. "$(dirname "$0")/../lib.sh"
. "$MM_TOP/tests/lib_oauth.sh"
. "$MM_TOP/tests/lib_refresh.sh"

signed_in_work
rt=$(stored_rt work)
revoke=$(curl -sS -f --max-time 10 "$IDP_ISSUER/.well-known/openid-configuration" | jq -r .revocation_endpoint)
assert_eq 200 "$(curl -sS -o /dev/null -w '%{http_code}' --max-time 10 --data-urlencode "token=$rt" \
    -d client_id=mimir-cli "$revoke")" "revocation status"
assert_exit 4 helper token --min-ttl 9999
assert_eq login_required "$(pstatus work .state)"

log "log in again in the same agent"
login_profile work
_agent_alive() { ! pid_gone "$MM_AGENT_PID"; }
_agent_alive || fail "mimir-agent died during the second login"
_two_runs() { (($(browser_runs) == 2)); } # login.mjs logs its run when it exits
wait_for "the second browser run to be logged" 20 _two_runs
assert_exit 0 helper token
introspect_ok "$OUT" "the token after the new login"
st=$(profile_status work)
assert_eq ready "$(jqs .state "$st")"
assert_eq null "$(jqs .last_error "$st")" "last_error after the new login"
rt2=$(stored_rt work)
[[ -n $rt2 && $rt2 != "$rt" ]] || fail "the new login's refresh token is not in the keyring"
introspect_ok "$rt2" "the new stored refresh token"
rg=$(idp_stats refresh_grants)
assert_exit 0 helper token --min-ttl 9999
introspect_ok "$OUT" "a token refreshed with the new login"
assert_eq $((rg + 1)) "$(idp_stats refresh_grants)" "refresh grants"
log "ok"
