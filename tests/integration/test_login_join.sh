#!/usr/bin/env bash
# One login per profile: a second `login` for a profile whose login is running
# joins it (same login id and URL, "joined": true), and when the browser
# completes that one login every waiting helper finishes successfully; the code
# is exchanged once.  A device login cannot join a browser login
# (login_in_progress).  A `login_wait` after the end gets the remembered outcome.
. "$(dirname "$0")/../lib.sh"
. "$MM_TOP/tests/lib_oauth.sh"

start_idp
write_oauth_config team
start_agent_loaded

log "first login (no browser): waits for someone to open the URL"
bg_helper first login --no-browser --timeout 60
wait_login_url first
URL1=$LOGIN_URL
assert_eq logging_in "$(pstatus team .state)"

log "a second login request on the socket joins it"
reply=$(sock_send '{"v":1,"id":"j","op":"login","profile":"team","open_browser":false}')
[[ -n $reply ]] || fail "no reply to the joining login request (did the agent survive?)"
assert_eq true "$(jqs .ok "$reply")" "joining login reply: $reply"
assert_eq true "$(jqs .joined "$reply")" "joined flag: $reply"
assert_eq browser "$(jqs .mode "$reply")"
assert_eq "$URL1" "$(jqs .url "$reply")" "the joining request gets the running login's URL"
LOGIN_ID=$(jqs .login_id "$reply")
[[ -n $LOGIN_ID && $LOGIN_ID != null ]] || fail "no login_id in $reply"

log "a device login cannot join a browser login"
assert_exit 1 helper login --device --timeout 10
assert_contains "$ERR" "a browser login is already running"
reply=$(sock_send '{"v":1,"id":"d","op":"login","profile":"team","device":true}')
assert_eq login_in_progress "$(jqs .error.code "$reply")" "device login during a browser login: $reply"

log "a second helper joins too and says so"
bg_helper second login --no-browser --timeout 60
wait_login_url second
assert_eq "$URL1" "$LOGIN_URL" "the second helper shows the same URL"
grep -q 'joining the login already running for this profile' "$MM_TMP/second.err" ||
    fail "the second helper did not say it joined: $(cat "$MM_TMP/second.err")"
port=$(url_port "$(url_param "$URL1" redirect_uri)")
assert_eq 1 "$(ss -Hltn "sport = :$port" | wc -l)" "listeners on the redirect port"

log "the browser completes the one login: both helpers succeed"
run_login_browser "$URL1"
bg_assert_exit first 0
assert_contains "$OUT" "Signed in as alice (profile team"
bg_assert_exit second 0
assert_contains "$OUT" "Signed in as alice (profile team"
assert_eq 1 "$(idp_stats authorization_code_grants)" "the code is exchanged once"
assert_exit 0 helper token
token_active "$OUT" || fail "the token is not active"
assert_eq alice "$(jqs .subject "$(keyring_doc team)")"
assert_eq 1 "$(secret-tool search --all profile team 2>&1 | grep -c '^label = ')" "keyring items"

log "login_wait on the joined id after the end: the remembered outcome"
reply=$(sock_send "$(jq -cn --arg id "$LOGIN_ID" '{v: 1, id: "w", op: "login_wait", profile: "team", login_id: $id}')")
assert_eq true "$(jqs .ok "$reply")" "login_wait after the end: $reply"
assert_eq alice "$(jqs .subject "$reply")"
reply=$(sock_send '{"v":1,"id":"u","op":"login_wait","profile":"team","login_id":"no-such-login"}')
assert_eq unknown_login "$(jqs .error.code "$reply")" "login_wait with an unknown id: $reply"
log "ok"
