#!/usr/bin/env bash
# Logout after a real login: the refresh token is revoked at the IdP (it says
# inactive), the keyring item is erased, `token` is login_required (exit 4),
# also after a restart.  With the revocation endpoint failing, logout still
# erases locally and says that revoking failed.  A logout during a login cancels
# that login and closes its listener.
. "$(dirname "$0")/../lib.sh"
. "$MM_TOP/tests/lib_oauth.sh"

start_idp
write_oauth_config out
use_login_browser
start_agent_loaded

# login_alice: a full browser login; sets RT (from the keyring) and AT.
login_alice() {
    assert_exit 0 helper login --timeout 60
    assert_contains "$OUT" "Signed in as alice (profile out"
    RT=$(jqs .secret "$(keyring_doc out)")
    [[ -n $RT ]] || fail "no refresh token in the keyring after the login"
    token_active "$RT" || fail "the stored refresh token is not active"
    assert_exit 0 helper token
    AT=$OUT
}

log "login, then logout: revoked at the IdP, erased from the keyring"
login_alice
revocations=$(idp_stats revocations)
assert_exit 0 helper logout
assert_eq "Logged out of profile out (token revoked, keyring entry erased)" "$OUT" "logout output"
assert_eq $((revocations + 1)) "$(idp_stats revocations)" "revocation requests"
info=$(introspect "$RT")
assert_eq false "$(jqs .active "$info")" "the revoked refresh token is still active: $info"
[[ -z $(keyring_item out) ]] || fail "secret-tool still finds the item after logout: $(keyring_item out)"
assert_exit 4 helper token
assert_contains "$ERR" "not logged in"
st=$(profile_status out)
assert_eq login_required "$(jqs .state "$st")"
assert_eq false "$(jqs .has_credential "$st")"
assert_eq null "$(jqs .subject "$st")" "subject after logout"
stop_agent
start_agent_loaded
assert_exit 4 helper token # nothing comes back after a restart

log "logout while the revocation endpoint fails: erased locally, the failure reported"
login_alice
idp_ctl fault '{"endpoint":"revocation","status":503}' >/dev/null
faults=$(idp_stats faults_served)
assert_exit 0 helper logout
assert_contains "$OUT" "Logged out of profile out locally (keyring entry erased); revoking at the identity provider failed"
assert_contains "$OUT" "503"
assert_eq $((faults + 1)) "$(idp_stats faults_served)" "the revocation request met the fault"
[[ -z $(keyring_item out) ]] || fail "the item survived a logout whose revocation failed"
assert_exit 4 helper token
token_active "$RT" || fail "the refresh token is inactive although revoking it failed (was the fault served?)"
grep -q 'revocation failed' "$MM_AGENT_LOG" || fail "the agent did not log the revocation failure"
stop_agent
start_agent_loaded
assert_exit 4 helper token

log "logout during a login cancels it: the helper gets login_required (4), the listener closes"
bg_helper pending login --no-browser --timeout 60
wait_login_url pending
port=$(url_port "$(url_param "$LOGIN_URL" redirect_uri)")
port_open "$port" || fail "no listener on $port during the login"
assert_exit 0 helper logout
bg_assert_exit pending 4 20
assert_contains "$ERR" "cancelled"
if port_open "$port"; then fail "the listener on $port survived the logout"; fi
assert_eq login_required "$(pstatus out .state)"
[[ -z $(keyring_item out) ]] || fail "an item appeared"

stop_agent
assert_not_in_logs "a token" "$AT" "$RT"
log "ok"
