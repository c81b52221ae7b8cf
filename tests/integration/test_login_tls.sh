#!/usr/bin/env bash
# An https issuer with a self-signed certificate (made here with openssl for IP
# 127.0.0.1): without the profile's ca_file the agent refuses it (tls_error,
# exit 5, no browser, nothing stored); with ca_file pointing at the certificate
# the login succeeds and refreshes over TLS work.
. "$(dirname "$0")/../lib.sh"
. "$MM_TOP/tests/lib_oauth.sh"

log "a self-signed certificate for IP 127.0.0.1"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
    -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 \
    -keyout "$MM_TMP/idp-key.pem" -out "$MM_TMP/idp-cert.pem" 2>"$MM_TMP/openssl.log" ||
    fail "openssl could not make a certificate: $(cat "$MM_TMP/openssl.log")"
start_idp --cert "$MM_TMP/idp-cert.pem" --key "$MM_TMP/idp-key.pem"
[[ $IDP_ISSUER == https://127.0.0.1:* ]] || fail "the IdP is not on https: $IDP_ISSUER"
# The test's own curl trusts it through --cacert only (the system store does not).
curl -sS --max-time 5 -o /dev/null "$IDP_ISSUER/.well-known/openid-configuration" 2>/dev/null &&
    fail "the system trust store accepts the self-signed certificate; the test proves nothing"

write_config "$(jq -n --argjson u "$(oauth_profile_json)" \
    --argjson t "$(oauth_profile_json t "{\"ca_file\":\"$MM_TMP/idp-cert.pem\"}")" \
    '{default_profile: "untrusted", profiles: {untrusted: $u, trusted: $t}}')"
use_login_browser
start_agent_loaded --verbose

log "without ca_file: tls_error, exit 5, no browser, nothing stored"
assert_exit 5 helper login --profile untrusted --timeout 30
assert_contains "$ERR" "$IDP_ISSUER/.well-known/openid-configuration"
assert_eq tls_error "$(pstatus untrusted .last_error.code)" "last_error.code"
assert_eq login_required "$(pstatus untrusted .state)"
if grep -q 'started browser' "$MM_AGENT_LOG"; then fail "the agent opened a browser for an untrusted issuer"; fi
[[ -z $(keyring_item untrusted) ]] || fail "a failed TLS login stored something"
assert_eq 0 "$(idp_stats token_requests)" "token requests to the untrusted issuer"

log "with ca_file = the certificate: the login succeeds over TLS"
assert_exit 0 helper login --profile trusted --timeout 60
assert_contains "$OUT" "Signed in as alice (profile trusted"
wait_browser_runs 1
[[ $(browser_run 1 | jq -r .url) == "$IDP_ISSUER/auth?"* ]] || fail "the browser did not open the https IdP: $(browser_run 1)"
assert_exit 0 helper token --profile trusted
AT=$OUT
token_active "$AT" || fail "the access token is not active: $(introspect "$AT")"
doc=$(keyring_doc trusted)
assert_eq refresh_token "$(jqs .kind "$doc")"
assert_eq "$IDP_ISSUER" "$(secret-tool search --all profile trusted 2>&1 | sed -n 's/^attribute.issuer = //p')" "issuer attribute"

log "a restarted agent refreshes over TLS with ca_file"
stop_agent
start_agent_loaded
assert_exit 0 helper token --profile trusted
[[ $OUT != "$AT" ]] || fail "no refresh after the restart"
token_active "$OUT" || fail "the refreshed token is not active"
assert_eq 1 "$(idp_stats refresh_grants)" "refresh grants"
assert_exit 4 helper token --profile untrusted
log "ok"
