#!/usr/bin/env bash
# The loopback redirect listener of a browser login (`login --no-browser`: the
# test plays the browser, with curl and with login.mjs):
#   - a callback with a wrong, missing or repeated state is answered 400 and
#     ignored: the listener stays open, nothing is stored, and the real login
#     completes afterwards; the listener is closed once it has served;
#   - a callback with the right state but another issuer's "iss" (RFC 9207 mix-up)
#     ends the login with state_mismatch (exit 5);
#   - a login nobody completes times out (exit 6) and its port is closed.
# Each scenario runs in a fresh agent (the scenarios are independent; a second
# login in one agent process is covered by test_login_browser/reject/join).
. "$(dirname "$0")/../lib.sh"
. "$MM_TOP/tests/lib_oauth.sh"

start_idp
write_oauth_config cb
start_agent_loaded

# get PATH_AND_QUERY: GET http://127.0.0.1:$port$1; the status in $CODE, the page in $PAGE.
get() {
    CODE=$(curl -sS --max-time 10 -o "$MM_TMP/page.html" -w '%{http_code}' "http://127.0.0.1:$port$1") ||
        fail "no answer from the redirect listener for $1"
    PAGE=$(cat "$MM_TMP/page.html")
}

log "wrong state: 400, ignored, the listener stays open"
bg_helper l1 login --no-browser --timeout 60
wait_login_url l1
assert_contains "$(cat "$MM_TMP/l1.err")" "Open this address in a browser to sign in (profile cb)"
redirect=$(url_param "$LOGIN_URL" redirect_uri)
port=$(url_port "$redirect")
state=$(url_param "$LOGIN_URL" state)
[[ $redirect == "http://127.0.0.1:$port/callback" && -n $state ]] || fail "unexpected authorization URL $LOGIN_URL"
get "/callback?code=x&state=wrong"
assert_eq 400 "$CODE" "HTTP status for a wrong state"
assert_contains "$PAGE" "state mismatch"
assert_contains "$PAGE" "Not a valid sign-in response"
get "/callback?code=x"
assert_eq 400 "$CODE" "HTTP status for a missing state (second request: the listener is still open)"
get "/callback?code=x&state=$state&state=$state"
assert_eq 400 "$CODE" "HTTP status for a repeated state"
get "/callback?code=x&state=${state}x"
assert_eq 400 "$CODE" "HTTP status for a state with a suffix"
get "/other?code=x&state=$state"
assert_eq 404 "$CODE" "HTTP status off /callback"
grep -q 'ignored a redirect with a missing or wrong state' "$MM_AGENT_LOG" || fail "the agent did not log the ignored redirect"
pid_gone "${MM_BG_PID[l1]}" && fail "the helper gave up after a wrong callback: $(cat "$MM_TMP/l1.err")"
assert_eq logging_in "$(pstatus cb .state)" "state after wrong callbacks"
[[ -z $(keyring_item cb) ]] || fail "a wrong callback stored something"
assert_eq 0 "$(idp_stats token_requests)" "a wrong callback reached the token endpoint"

log "the real browser completes the same login"
run_login_browser "$LOGIN_URL"
bg_assert_exit l1 0
assert_contains "$OUT" "Signed in as alice (profile cb"
assert_exit 0 helper token
token_active "$OUT" || fail "the token is not active"
assert_eq refresh_token "$(jqs .kind "$(keyring_doc cb)")"
if port_open "$port"; then fail "the redirect listener on $port is still open after the login"; fi

log "right state, wrong iss (RFC 9207 mix-up): state_mismatch, exit 5, listener closed"
stop_agent
start_agent_loaded
before=$(keyring_item cb)
bg_helper l2 login --no-browser --timeout 60
wait_login_url l2
port=$(url_port "$(url_param "$LOGIN_URL" redirect_uri)")
state=$(url_param "$LOGIN_URL" state)
get "/callback?code=x&state=$state&iss=http%3A%2F%2Fevil.example.test"
assert_eq 400 "$CODE" "HTTP status for a wrong iss"
assert_contains "$PAGE" "Sign-in failed"
bg_assert_exit l2 5
assert_contains "$ERR" "RFC 9207"
assert_eq state_mismatch "$(pstatus cb .last_error.code)"
wait_for "the listener on $port to close" 5 eval '! port_open "$port"'
assert_eq "$before" "$(keyring_item cb)" "the keyring item changed after a refused callback"
assert_eq 1 "$(idp_stats authorization_code_grants)" "a refused callback reached the token endpoint"
assert_exit 0 helper token # the earlier login still works (refresh from the keyring)
token_active "$OUT" || fail "the earlier login's token is not active"

log "nobody completes the login: timeout after 3 s, exit 6, the port is closed"
stop_agent
start_agent_loaded
before=$(keyring_item cb)
t0=$SECONDS
bg_helper l3 login --timeout 3 --no-browser
wait_login_url l3
port=$(url_port "$(url_param "$LOGIN_URL" redirect_uri)")
port_open "$port" || fail "the redirect listener on $port is not open during the login"
bg_assert_exit l3 6 20
((SECONDS - t0 <= 8)) || fail "the 3 s login took $((SECONDS - t0)) s to time out"
assert_contains "$ERR" "not completed in time"
if port_open "$port"; then fail "the redirect listener on $port is still open after the timeout"; fi
curl -s --max-time 5 "http://127.0.0.1:$port/callback?code=x&state=y" >/dev/null 2>&1 && fail "curl reached port $port after the timeout"
st=$(profile_status cb)
assert_eq timeout "$(jqs .last_error.code "$st")" "last_error after the timeout"
assert_eq ready "$(jqs .state "$st")" "a timed-out login goes back to the previous state"
assert_eq "$before" "$(keyring_item cb)" "the keyring item changed after a timeout"
log "ok"
