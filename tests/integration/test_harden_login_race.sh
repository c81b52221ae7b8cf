#!/usr/bin/env bash
# A login that completes while a refresh of the old login is in flight
# (hostile review, "stale refresh result"): alice is signed in; her refresh
# is held 10 s at the IdP; meanwhile the user signs in as bob.  When alice's
# refresh answer arrives it belongs to a credential that is gone: it must be
# dropped, not adopted.  Afterwards the profile, the token it serves and the
# refresh token in the keyring are all bob's.  (Real IdP, browser, keyring.)
. "$(dirname "$0")/../lib.sh"
. "$MM_TOP/tests/lib_oauth.sh"
. "$MM_TOP/tests/lib_refresh.sh"

signed_in_work --access-ttl 300 --rotate-refresh
assert_eq alice "$(pstatus work .subject)" "signed in as"
idp_ctl fault '{"endpoint":"token","mode":"delay","ms":10000,"grant_type":"refresh_token","count":1}' >/dev/null
bg_helper tok token --min-ttl 3600 --timeout 60
wait_pstate work refreshing 10

log "alice's refresh is held at the IdP; sign in as bob"
MIMIR_TEST_USER=bob login_profile work
assert_eq bob "$(pstatus work .subject)" "signed in as, after bob's login"
bg_wait tok 60
log "the token request that started the refresh: exit $BG_RC"
wait_for "alice's refresh answer to reach the agent" 30 \
    grep -q "dropped a refresh result for a credential that was replaced" "$MM_AGENT_LOG"

assert_eq bob "$(pstatus work .subject)" "signed in as, after alice's refresh answered"
assert_exit 0 helper token
assert_eq bob "$(introspect "$OUT" | jq -r .sub)" "the subject of the token served"
assert_eq bob "$(introspect "$(stored_rt work)" | jq -r .sub)" "the subject of the stored refresh token"
stop_agent
log "ok"
