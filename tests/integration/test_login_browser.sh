#!/usr/bin/env bash
# Browser login end to end with the real IdP, real chromium (as $BROWSER), the
# real keyring and a real agent: `login` opens the browser, the authorization
# request carries PKCE S256/state/nonce, the redirect listener closes after use,
# the token is live at the IdP, the keyring holds a refresh_token document, a
# restarted agent gets a new access token through the stored refresh token, and
# neither token ever reaches the agent's (debug) log.
. "$(dirname "$0")/../lib.sh"
. "$MM_TOP/tests/lib_oauth.sh"

start_idp
write_oauth_config work
use_login_browser
start_agent_loaded --verbose # debug logging: even then no token may be logged

log "before login: token says login_required, status login_required"
assert_exit 4 helper token
assert_eq login_required "$(pstatus work .state)" "state before login"
[[ -z $(keyring_item work) ]] || fail "a keyring item exists before any login"

log "login: the helper opens \$BROWSER (login.mjs), which signs in as alice"
assert_exit 0 helper login --timeout 60
[[ $OUT =~ ^"Signed in as alice (profile work, token valid until "[0-9]{4}-[0-9]{2}-[0-9]{2}\ [0-9:]{8}\ .+")"$ ]] ||
    fail "unexpected login output: $OUT"
assert_contains "$ERR" "Opening the browser to sign in (profile work)"

log "the browser was invoked once, on the IdP's authorization endpoint, and reached the callback"
wait_browser_runs 1
assert_eq 1 "$(browser_runs)" "browser runs"
run=$(browser_run 1)
assert_eq login.mjs "$(jqs .script "$run")"
assert_eq ok "$(jqs .outcome "$run")" "browser outcome"
auth_url=$(jqs .url "$run")
[[ $auth_url == "$IDP_ISSUER/auth?"* ]] || fail "browser opened $auth_url, not the IdP's /auth"
assert_eq code "$(url_param "$auth_url" response_type)"
assert_eq mimir-cli "$(url_param "$auth_url" client_id)"
assert_eq "openid offline_access" "$(url_param "$auth_url" scope)" "default scope"
assert_eq S256 "$(url_param "$auth_url" code_challenge_method)"
[[ $(url_param "$auth_url" code_challenge) =~ ^[A-Za-z0-9_-]{43}$ ]] || fail "no S256 code_challenge in $auth_url"
[[ $(url_param "$auth_url" state) =~ ^[A-Za-z0-9_-]{40,}$ ]] || fail "no random state in $auth_url"
[[ $(url_param "$auth_url" nonce) =~ ^[A-Za-z0-9_-]{40,}$ ]] || fail "no random nonce in $auth_url"
redirect=$(url_param "$auth_url" redirect_uri)
[[ $redirect =~ ^http://127\.0\.0\.1:[0-9]+/callback$ ]] || fail "redirect_uri $redirect is not a 127.0.0.1 loopback callback"
final=$(jqs .final_url "$run")
[[ $final == "$redirect?"* ]] || fail "the browser ended on $final, not on $redirect"
grep -q 'login.mjs: page text: Sign-in received' "$MM_BROWSER_OUT" ||
    fail "the callback page did not say 'Sign-in received' (login.mjs output is in $MM_BROWSER_OUT)"
port=$(url_port "$redirect")
if port_open "$port"; then fail "the redirect listener on port $port is still open after the login"; fi
assert_eq 1 "$(idp_stats authorization_code_grants)" "authorization code grants"

log "token: an access token the IdP says is active, for alice and mimir-cli"
assert_exit 0 helper token
AT=$OUT
[[ -n $AT ]] || fail "empty token"
info=$(introspect "$AT")
assert_eq true "$(jqs .active "$info")" "introspection of the access token: $info"
assert_eq AccessToken "$(jqs .kind "$info")"
assert_eq alice "$(jqs .sub "$info")"
assert_eq mimir-cli "$(jqs .client_id "$info")"
assert_exit 0 helper header
assert_eq "Authorization: Bearer $AT" "$OUT" "header output"

log "the keyring holds a refresh_token document for the profile"
doc=$(keyring_doc work)
[[ -n $doc ]] || fail "secret-tool lookup profile work finds nothing"
assert_eq refresh_token "$(jqs .kind "$doc")" "document kind"
assert_eq alice "$(jqs .subject "$doc")" "document subject"
assert_eq 1 "$(jqs .v "$doc")" "document version"
RT=$(jqs .secret "$doc")
[[ -n $RT && $RT != "$AT" ]] || fail "no refresh token in the document"
rinfo=$(introspect "$RT")
assert_eq true "$(jqs .active "$rinfo")" "introspection of the stored refresh token: $rinfo"
assert_eq RefreshToken "$(jqs .kind "$rinfo")"
# Stored under the profile's identity, not just its name.
[[ $(secret-tool lookup profile work issuer "$IDP_ISSUER" client_id mimir-cli) == "$doc" ]] ||
    fail "the item is not stored under issuer $IDP_ISSUER / client_id mimir-cli"
assert_contains "$(keyring_item work)" "label = Mimir credential (profile work)"

log "status --json: ready, alice, credential stored"
st=$(profile_status work)
assert_eq ready "$(jqs .state "$st")" "state"
assert_eq alice "$(jqs .subject "$st")" "subject"
assert_eq true "$(jqs .has_credential "$st")"
assert_eq ok "$(jqs .storage "$st")"
assert_eq null "$(jqs .last_error "$st")" "last_error after a good login"

log "agent restart: the stored refresh token gets a new access token"
assert_eq 0 "$(idp_stats refresh_grants)" "refresh grants before the restart"
stop_agent
start_agent_loaded --verbose
assert_exit 0 helper token
AT2=$OUT
[[ -n $AT2 && $AT2 != "$AT" ]] || fail "the restarted agent did not get a new access token"
assert_eq 1 "$(idp_stats refresh_grants)" "refresh grants after the restart"
assert_eq 1 "$(idp_stats authorization_code_grants)" "no new login after the restart"
token_active "$AT2" || fail "the refreshed access token is not active: $(introspect "$AT2")"
assert_eq alice "$(introspect "$AT2" | jq -r .sub)"
assert_exit 0 helper token
assert_eq "$AT2" "$OUT" "the second token call is served from memory"
assert_eq 1 "$(idp_stats refresh_grants)" "refresh grants after a second token call"
st=$(profile_status work)
assert_eq ready "$(jqs .state "$st")"
assert_eq alice "$(jqs .subject "$st")"
assert_eq 1 "$(browser_runs)" "the restart must not open a browser"

log "logging in again while signed in (discovery cached by this agent) replaces the login"
assert_exit 0 helper login --timeout 60
assert_contains "$OUT" "Signed in as alice (profile work"
wait_browser_runs 2
assert_eq 2 "$(idp_stats authorization_code_grants)" "authorization code grants after the second login"
doc2=$(keyring_doc work)
RT2=$(jqs .secret "$doc2")
[[ -n $RT2 && $RT2 != "$RT" ]] || fail "the second login did not store a new refresh token"
token_active "$RT2" || fail "the new refresh token is not active"
assert_exit 0 helper token
AT3=$OUT
[[ $AT3 != "$AT2" ]] || fail "the second login did not bring a new access token"
token_active "$AT3" || fail "the new access token is not active"
assert_eq ready "$(pstatus work .state)"

log "no token in any agent log"
stop_agent
assert_not_in_logs "a token" "$AT" "$AT2" "$AT3" "$RT" "$RT2"
grep -q 'signed in as alice' "$MM_TMP/agent1.log" || fail "agent1.log lacks the sign-in line (was the log captured?)"
log "ok"
