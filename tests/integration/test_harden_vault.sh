#!/usr/bin/env bash
# The encrypted file store under hostile use (hostile review, "vault
# state"); no D-Bus session, so the agent uses the vault:
#  1. a wrong passphrase while the vault is unlocked is refused and changes
#     nothing: the vault stays unlocked, tokens are served, keys are stored
#     (it used to leave the agent believing it was unlocked with a key that
#     opened nothing, so every later write failed);
#  2. an unlock or lock while another unlock is queued is refused at once
#     with store_busy (a burst of unlocks used to queue minutes of Argon2id
#     in front of every keyring job); `mimir-helper unlock` waits that out;
#  3. a lock while a rotating refresh is in flight waits for the rotated
#     refresh token to be in the vault (store_busy until then): the login
#     survives: after unlocking, the next rotation starts from it.
. "$(dirname "$0")/../lib.sh"
. "$MM_TOP/tests/lib_oauth.sh"
. "$MM_TOP/tests/lib_refresh.sh"

unset DBUS_SESSION_BUS_ADDRESS
PASS="correct horse battery staple"
start_idp --access-ttl 60 --rotate-refresh
write_config "$(jq -n --argjson w "$(oauth_profile_json work)" \
    '{default_profile:"work",profiles:{work:$w,local:{kind:"api-key",server_url:"http://127.0.0.1:8080/mcp"}}}')"
use_login_browser
start_agent
vault_state() { jqs .vault "$(sock_send '{"v":1,"id":1,"op":"status"}')"; }
assert_exit 0 helper unlock <<<"$PASS"$'\n'"$PASS"
assert_exit 0 helper set-api-key --profile local <<<"key_one_0123456789"

log "1. a wrong passphrase while unlocked"
# (mimir-helper unlock asks first and says "already unlocked": the socket
# op is what another client, or a stale prompt, sends.)
r=$(MM_SOCK_WAIT=30 sock_send '{"v":1,"id":1,"op":"unlock","passphrase":"not the passphrase"}')
assert_eq bad_passphrase "$(jqs .error.code "$r")" "a wrong passphrase: $r"
assert_eq unlocked "$(vault_state)" "the vault after a wrong passphrase"
assert_exit 0 helper token --profile local
assert_eq key_one_0123456789 "$OUT" "the token after a wrong passphrase"
assert_exit 0 helper set-api-key --profile local <<<"key_two_0123456789"
assert_exit 0 helper token --profile local
assert_eq key_two_0123456789 "$OUT" "a key stored after a wrong passphrase"

log "2. unlocks while an unlock is queued"
MM_SOCK_WAIT=30 sock_send '{"v":1,"id":"first","op":"unlock","passphrase":"wrong one"}' \
    >"$MM_TMP/first.out" &
track_pid $!
sleep 0.1 # Argon2id takes far longer: the first unlock is still in the store
r=$(MM_SOCK_WAIT=30 sock_send '{"v":1,"id":"second","op":"unlock","passphrase":"wrong two"}')
assert_eq store_busy "$(jqs .error.code "$r")" "a second unlock: $r"
r=$(MM_SOCK_WAIT=30 sock_send '{"v":1,"id":"lock","op":"lock"}')
assert_eq store_busy "$(jqs .error.code "$r")" "a lock meanwhile: $r"
bg_helper unlock unlock <<<"$PASS" # waits for the first, then unlocks
wait_for "the first unlock's answer" 30 grep -q '"id":"first"' "$MM_TMP/first.out"
assert_eq bad_passphrase "$(jq -r .error.code "$MM_TMP/first.out")" "the first unlock"
bg_wait unlock 30
assert_eq 0 "$BG_RC" "mimir-helper unlock behind a queued unlock: $ERR"
assert_eq unlocked "$(vault_state)"

log "3. lock while a rotating refresh is in flight"
login_profile work
idp_ctl fault '{"endpoint":"token","mode":"delay","ms":3000,"grant_type":"refresh_token","count":1}' >/dev/null
bg_helper tok token --min-ttl 3600
wait_pstate work refreshing 10
assert_exit 0 helper lock # store_busy until the rotated token is in the vault
bg_wait tok 20
assert_eq 0 "$BG_RC" "the token request that started the refresh: $ERR"
assert_eq locked "$(vault_state)"
assert_exit 4 helper token
assert_contains "$ERR" "mimir-helper unlock"
assert_exit 0 helper unlock <<<"$PASS"
wait_pstate work ready 15
# One more rotation with what the vault kept: the IdP (rotating, reuse
# detection) answers invalid_grant to a refresh token it rotated already.
assert_exit 0 helper token --min-ttl 3600
introspect_ok "$OUT" "a token after lock, unlock and one more refresh"
stop_agent
log "ok"
