#!/usr/bin/env bash
# The device grant (RFC 8628) with the real IdP and chromium on the
# verification page: `login --device` prints the verification URI and user code
# and finishes once the browser approves; without a display and without
# $BROWSER the helper picks the device grant by itself; an aborted approval is
# access_denied and keeps the earlier login.
. "$(dirname "$0")/../lib.sh"
. "$MM_TOP/tests/lib_oauth.sh"

start_idp
write_oauth_config dev
# The agent (only) gets a $BROWSER that would log any call: the device grant must
# never use it.  The helpers run without DISPLAY, WAYLAND_DISPLAY and BROWSER.
BROWSER=$MM_LOGIN_MJS start_agent_loaded --verbose # logs "started browser" when it opens one
[[ -z ${DISPLAY:-}${WAYLAND_DISPLAY:-}${BROWSER:-} ]] || fail "the test environment has a display or \$BROWSER"

log "login --device prints the verification URI and the user code"
bg_helper dev1 login --device --timeout 90
wait_device_code dev1
assert_eq "$IDP_ISSUER/device" "$DEV_URI" "verification_uri"
[[ $DEV_URI_COMPLETE == "$IDP_ISSUER/device?user_code="* ]] || fail "verification_uri_complete is $DEV_URI_COMPLETE"
[[ $DEV_CODE =~ ^[A-Z]{4}-?[A-Z]{4}$ ]] || fail "user code looks wrong: $DEV_CODE"
assert_eq "$DEV_CODE" "$(url_param "$DEV_URI_COMPLETE" user_code)" "the code in verification_uri_complete"
grep -q "To sign in (profile dev), visit:" "$MM_TMP/dev1.err" || fail "no device prompt: $(cat "$MM_TMP/dev1.err")"
if grep -q 'No display' "$MM_TMP/dev1.err"; then fail "--device was asked for explicitly"; fi
assert_eq logging_in "$(pstatus dev .state)" "state while the device login waits"

log "device.mjs approves through verification_uri_complete; the helper finishes"
run_device_browser "$DEV_URI_COMPLETE"
bg_assert_exit dev1 0 60
[[ $OUT == "Signed in as alice (profile dev, token valid until "*")" ]] || fail "unexpected login output: $OUT"
(($(idp_stats device_code_grants) >= 1)) || fail "no device_code grant reached the IdP"
assert_eq 0 "$(idp_stats authorization_code_grants)" "no authorization code grant in a device login"
assert_exit 0 helper token
AT=$OUT
token_active "$AT" || fail "the device login's access token is not active: $(introspect "$AT")"
assert_eq alice "$(introspect "$AT" | jq -r .sub)"
doc=$(keyring_doc dev)
assert_eq refresh_token "$(jqs .kind "$doc")" "stored document kind"
assert_eq alice "$(jqs .subject "$doc")"
token_active "$(jqs .secret "$doc")" || fail "the stored refresh token is not active"
assert_eq ready "$(pstatus dev .state)"

log "no DISPLAY, WAYLAND_DISPLAY or BROWSER: the helper picks the device grant itself"
bg_helper dev2 login --timeout 90
wait_device_code dev2
grep -q 'No display and no \$BROWSER: using the device login.' "$MM_TMP/dev2.err" ||
    fail "the helper did not say it chose the device login: $(cat "$MM_TMP/dev2.err")"
log "device.mjs on the plain verification URI, typing the user code (as carol)"
MIMIR_TEST_USER=carol run_device_browser "$DEV_URI" "$DEV_CODE"
bg_assert_exit dev2 0 60
[[ $OUT == "Signed in as carol (profile dev, token valid until "*")" ]] || fail "unexpected login output: $OUT"
assert_exit 0 helper token
AT2=$OUT
[[ $AT2 != "$AT" ]] || fail "the second device login did not replace the access token"
assert_eq carol "$(introspect "$AT2" | jq -r .sub)"
assert_eq carol "$(jqs .subject "$(keyring_doc dev)")" "the keyring follows the newer login"

log "an aborted approval: access_denied (exit 5), the earlier login stays"
before=$(keyring_item dev)
bg_helper dev3 login --device --timeout 90
wait_device_code dev3
MIMIR_TEST_DENY=1 run_device_browser "$DEV_URI_COMPLETE"
bg_assert_exit dev3 5 60
assert_contains "$ERR" "access_denied"
assert_eq access_denied "$(pstatus dev .last_error.code)" "last_error after the abort"
assert_eq "$before" "$(keyring_item dev)" "the keyring item changed after a denied device login"
assert_exit 0 helper token
assert_eq "$AT2" "$OUT" "the earlier login's token is still served"
assert_eq carol "$(pstatus dev .subject)"
assert_eq ready "$(pstatus dev .state)"

log "the agent never opened a browser for a device login"
assert_eq 0 "$(grep -c '"script":"login.mjs"' "$MIMIR_TEST_BROWSER_LOG" || true)" "login.mjs runs"
assert_eq 3 "$(grep -c '"script":"device.mjs"' "$MIMIR_TEST_BROWSER_LOG" || true)" "device.mjs runs"
if grep -q 'started browser' "$MM_AGENT_LOG"; then fail "the agent started a browser"; fi
assert_not_in_logs "a token" "$AT" "$AT2" "$(jqs .secret "$(keyring_doc dev)")"
log "ok"
