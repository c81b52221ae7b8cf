#!/usr/bin/env bash
# Logins the agent must refuse, each with its documented error code and helper
# exit status, and each leaving what is stored untouched: alice is logged in
# first; every refused attempt (as bob) must leave her keyring item byte for byte
# as it was and her token working.
#   access_denied (the user cancels in the browser)   -> access_denied, exit 5
#   forged ID tokens: wrong key / aud / nonce / iss, expired -> invalid_id_token, 5
#   a new signing key (unknown kid)                    -> JWKS refetched once, succeeds
#   an issuer without PKCE S256                        -> pkce_unsupported, 5, no browser
#   plain http to a non-loopback issuer                -> insecure_issuer, 5, no network
. "$(dirname "$0")/../lib.sh"
. "$MM_TOP/tests/lib_oauth.sh"

start_idp
write_config "$(jq -n --argjson w "$(oauth_profile_json)" \
    --argjson i '{"kind":"oauth","issuer":"http://idp.example.test","client_id":"mimir-cli"}' \
    '{default_profile: "work", profiles: {work: $w, insecure: $i}}')"
use_login_browser
# Logins whose browser the helper opens sign in as bob (MIMIR_TEST_USER in the
# helper's environment); alice logs in from the test.
start_agent_loaded --verbose # logs "started browser" if it ever opens one

log "alice logs in (the test drives login.mjs on the printed URL)"
bg_helper base login --no-browser --timeout 60
wait_login_url base
run_login_browser "$LOGIN_URL"
bg_assert_exit base 0
assert_contains "$OUT" "Signed in as alice (profile work"
assert_exit 0 helper token
AT0=$OUT
K0=$(keyring_item work)
[[ $K0 == *'"kind":"refresh_token"'* && $K0 == *'"subject":"alice"'* ]] || fail "alice's login was not stored: $K0"
RT0=$(jqs .secret "$(keyring_doc work)")
runs=$(browser_runs)

# unchanged WHAT: the refused login left the login to keep exactly as it was:
# keyring item $K0 (byte for byte), refresh token $RT0 active, subject $SUBJECT0,
# and the token served is $AT0 (when set) and active.
SUBJECT0=alice
unchanged() {
    assert_eq "$K0" "$(keyring_item work)" "$1: the keyring item changed"
    assert_exit 0 helper token
    [[ -z $AT0 ]] || assert_eq "$AT0" "$OUT" "$1: the token served changed"
    token_active "$OUT" || fail "$1: the token served is not active"
    token_active "$RT0" || fail "$1: the stored refresh token is no longer active"
    local st
    st=$(profile_status work)
    assert_eq ready "$(jqs .state "$st")" "$1: state"
    assert_eq "$SUBJECT0" "$(jqs .subject "$st")" "$1: subject"
}

# refused NAME CODE TEXT: a login started by the helper (browser as bob) fails with
# error CODE, exit status 5, TEXT in the message, and the browser ran once.
refused() {
    local name=$1 code=$2 text=$3
    local grants
    grants=$(idp_stats authorization_code_grants)
    MIMIR_TEST_USER=bob assert_exit 5 helper login --timeout 60
    assert_contains "$ERR" "login failed: "
    assert_contains "$ERR" "$text"
    assert_eq "$code" "$(pstatus work .last_error.code)" "$name: last_error.code"
    runs=$((runs + 1))
    wait_browser_runs "$runs"
    assert_eq ok "$(browser_run "$runs" | jq -r .outcome)" "$name: the browser reached the callback"
    assert_eq $((grants + 1)) "$(idp_stats authorization_code_grants)" "$name: the code was exchanged"
    unchanged "$name"
}

log "access_denied: the user presses Cancel in the browser"
bg_helper deny login --no-browser --timeout 60
wait_login_url deny
MIMIR_TEST_DENY=1 run_login_browser "$LOGIN_URL"
bg_assert_exit deny 5
assert_contains "$ERR" "access_denied"
assert_eq access_denied "$(pstatus work .last_error.code)" "last_error.code in the agent's status"
runs=$((runs + 1))
wait_browser_runs "$runs"
assert_eq denied "$(browser_run "$runs" | jq -r .outcome)"
grep -q 'login.mjs: page text: Sign-in failed' "$MM_TMP/browser$MM_BROWSER_N.log" ||
    fail "the callback page did not say 'Sign-in failed': $(cat "$MM_TMP/browser$MM_BROWSER_N.log")"
unchanged access_denied

for mode in wrong_key wrong_aud wrong_nonce wrong_iss expired; do
    log "forged ID token ($mode): invalid_id_token"
    idp_ctl idtoken "{\"mode\":\"$mode\"}" >/dev/null
    case $mode in
        wrong_key) text="bad signature" ;;
        wrong_aud) text='"aud" does not name this client' ;;
        wrong_nonce) text='"nonce" does not match this login' ;;
        wrong_iss) text='"iss" is not the configured issuer' ;;
        expired) text="expired" ;;
    esac
    refused "$mode" invalid_id_token "ID token rejected: $text"
done

log "rotated_key: an unknown kid makes the agent refetch the JWKS once, and the login succeeds"
idp_ctl idtoken '{"mode":"rotated_key"}' >/dev/null
jwks=$(idp_stats jwks_requests)
MIMIR_TEST_USER=bob assert_exit 0 helper login --timeout 60
assert_contains "$OUT" "Signed in as bob (profile work"
assert_eq $((jwks + 1)) "$(idp_stats jwks_requests)" "JWKS fetches for the rotated key"
K1=$(keyring_item work)
[[ $K1 != "$K0" && $K1 == *'"subject":"bob"'* ]] || fail "bob's login was not stored: $K1"
assert_eq bob "$(pstatus work .subject)"
assert_eq null "$(pstatus work .last_error)" "last_error after a good login"
assert_exit 0 helper token
AT1=$OUT
token_active "$AT1" || fail "bob's access token is not active"
assert_eq bob "$(introspect "$AT1" | jq -r .sub)"
runs=$((runs + 1))
wait_browser_runs "$runs"
# From here on the login to keep is bob's (a restart below changes the access token).
K0=$K1 RT0=$(jqs .secret "$(keyring_doc work)") SUBJECT0=bob AT0=

log "issuer without S256: pkce_unsupported, and the browser is never opened"
idp_ctl discovery '{"drop_s256":true}' >/dev/null
stop_agent # the agent caches discovery; a new one must read the changed document
discoveries=$(idp_stats discovery_requests)
start_agent_loaded --verbose # logs "started browser" if it ever opens one
assert_exit 0 helper token # bob's login survives the restart (refresh)
starts=$(browser_starts)
MIMIR_TEST_USER=bob assert_exit 5 helper login --timeout 60
assert_contains "$ERR" "does not advertise PKCE with S256"
assert_eq pkce_unsupported "$(pstatus work .last_error.code)"
((discoveries < $(idp_stats discovery_requests))) || fail "the new agent did not read the discovery document"
assert_eq ready "$(pstatus work .state)" "state after pkce_unsupported"
unchanged pkce_unsupported
assert_eq "$starts" "$(browser_starts)" "browsers opened without S256"
idp_ctl discovery '{"drop_s256":false}' >/dev/null

log "plain http to a non-loopback issuer: insecure_issuer, before any network traffic"
[[ -z $(keyring_item insecure) ]] || fail "an item for profile insecure exists"
assert_exit 5 helper login --profile insecure --timeout 30
assert_contains "$ERR" "refusing plain http to http://idp.example.test"
assert_eq insecure_issuer "$(pstatus insecure .last_error.code)"
assert_eq login_required "$(pstatus insecure .state)"
[[ -z $(keyring_item insecure) ]] || fail "a refused login stored an item for profile insecure"
assert_exit 4 helper token --profile insecure
unchanged insecure_issuer

assert_eq 6 "$(browser_starts)" \
    "browsers the helper opened (5 forgeries + rotated_key; none for pkce_unsupported / insecure_issuer)"
assert_eq 0 "$(cat "$MM_TMP"/agent*.log | grep -c 'started browser')" "browsers the agent opened"
assert_eq "$runs" "$(browser_runs)" "browser runs"
assert_not_in_logs "a token" "$AT0" "$RT0"
log "ok"
