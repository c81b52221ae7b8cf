#!/usr/bin/env bash
# A keyring daemon restart does not break storage (issue: after it, every
# store failed with "The session wrapping the secret does not exist" until
# the agent restarted):
#  - api-key profile: set-api-key works again at once after the restart;
#  - OAuth with rotation: a refresh token rotated after the restart reaches
#    the new daemon's keyring (and is the one the IdP considers active).
. "$(dirname "$0")/../lib.sh"
. "$MM_TOP/tests/lib_oauth.sh"
. "$MM_TOP/tests/lib_refresh.sh"

restart_keyring() {
    kill "$MM_KEYRING_PID"
    wait_for "the keyring daemon to exit" 10 pid_gone "$MM_KEYRING_PID"
    start_keyring # same session bus, same keyring file: a fresh daemon
}

log "api-key profile across a keyring restart"
start_idp --access-ttl 4 --rotate-refresh
write_config "$(jq -n --argjson w "$(oauth_profile_json work)" \
    '{default_profile:"work",profiles:{work:$w,local:{kind:"api-key",server_url:"http://127.0.0.1:8080/mcp"}}}')"
use_login_browser
start_agent
assert_exit 0 helper set-api-key --profile local <<<"key_before_restart"
restart_keyring
assert_exit 0 helper set-api-key --profile local <<<"key_after_restart"
assert_contains "$(keyring_doc local)" "key_after_restart" "the keyring after the restart"
assert_exit 0 helper status --profile local --json
assert_eq ok "$(jqs .storage "$OUT")" "storage health"

log "OAuth: a rotation after the restart is stored"
login_profile work
rt0=$(stored_rt work)
[[ -n $rt0 ]] || fail "no refresh token stored after the login"
restart_keyring
rg0=$(idp_stats refresh_grants)
_rotated() { (($(idp_stats refresh_grants) > rg0)) && [[ $(pstate work) == ready ]]; }
wait_for "a proactive refresh after the restart" 15 _rotated
rt1=$(stored_rt work)
[[ -n $rt1 && $rt1 != "$rt0" ]] || fail "the rotated refresh token did not reach the restarted keyring"
introspect_ok "$rt1" "the refresh token in the keyring"
assert_eq ok "$(pstatus work .storage)" "storage health after the rotation"
stop_agent
log "ok"
