#!/usr/bin/env bash
# The "login required" notification carries a "Sign in" action, and choosing
# it starts the login in the browser (real IdP, agent, chromium; the
# notification server is tests/integration/notifyd.py on the private session
# bus, which emits ActionInvoked as a desktop's daemon does on a click):
#  - the refresh token is revoked at the IdP; a refresh gets invalid_grant;
#  - the notification names the profile and offers the action "signin";
#  - an ActionInvoked signal of the wrong type is ignored (it used to abort
#    the agent);
#  - invoking the action starts a browser login from the agent, and the
#    profile is signed in again without any command.
. "$(dirname "$0")/../lib.sh"
. "$MM_TOP/tests/lib_oauth.sh"
. "$MM_TOP/tests/lib_refresh.sh"

start_notifyd "$MM_TMP/notified.jsonl"

signed_in_work
log "revoke the refresh token; the next refresh fails with invalid_grant"
rt=$(stored_rt work)
revoke=$(curl -sS -f --max-time 10 "$IDP_ISSUER/.well-known/openid-configuration" | jq -r .revocation_endpoint)
curl -sS -f -o /dev/null --max-time 10 --data-urlencode "token=$rt" -d client_id=mimir-cli "$revoke"
assert_exit 4 helper token --min-ttl 9999
wait_for "the notification" 10 test -s "$MM_TMP/notified.jsonl"
n=$(head -n1 "$MM_TMP/notified.jsonl")
log "notified: $n"
assert_eq "Mimir: login required" "$(jqs .summary "$n")"
assert_contains "$(jqs .body "$n")" "work"
assert_eq signin "$(jqs '.actions[2]' "$n")" "the action key"
assert_eq "Sign in" "$(jqs '.actions[3]' "$n")" "the action label"

log "a malformed ActionInvoked (no action key) is ignored"
runs=$(browser_runs)
gdbus call --session --dest org.freedesktop.Notifications --object-path /org/freedesktop/Notifications \
    --method org.freedesktop.Notifications.TestInvokeMalformed "$(jqs .id "$n")" >/dev/null
sleep 0.5 # nothing to wait for: a correct agent does nothing
assert_exit 0 helper status
_mm_alive "$MM_AGENT_PID" || fail "the agent died of a malformed ActionInvoked signal"
assert_eq "$runs" "$(browser_runs)" "browser runs after the malformed signal"

log "choosing Sign in logs in through the browser"
gdbus call --session --dest org.freedesktop.Notifications --object-path /org/freedesktop/Notifications \
    --method org.freedesktop.Notifications.TestInvoke "$(jqs .id "$n")" signin >/dev/null
wait_browser_runs $((runs + 1)) 40
wait_pstate work ready 20
assert_exit 0 helper token
introspect_ok "$OUT" "the token after signing in from the notification"
grep -q 'sign-in started from the desktop notification' "$MM_AGENT_LOG" ||
    fail "the agent did not log the sign-in from the notification"
stop_agent
log "ok"
