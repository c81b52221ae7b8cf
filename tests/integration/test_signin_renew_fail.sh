#!/usr/bin/env bash
# The remembered password stops working (changed on the server, the test MCP
# server's /__test/users): the agent's next renewal is refused
# (invalid_grant), the profile becomes login_required, the dead password is
# erased from the keyring, a desktop notification (tests/integration/
# notifyd.py on the private session bus) names the profile and offers
# "Sign in", token says login required, status says what to run, and a
# login with the new password brings everything back.
. "$(dirname "$0")/../lib.sh"
. "$MM_TOP/tests/lib_oauth.sh"
. "$MM_TOP/tests/mcp/lib.sh"
. "$MM_TOP/tests/lib_signin.sh"
. "$MM_TOP/tests/lib_refresh.sh"

start_notifyd "$MM_TMP/notified.jsonl"

start_mimir --users alice:old-pw --token-ttl 3
start_agent
P=$MIMIR_PROFILE
assert_exit 0 helper login --server "$MCP_BASE" --username alice --remember-password <<<"old-pw"
assert_eq alice "$(whoami "$P")"
assert_eq old-pw "$(jqs .secret "$(keyring_doc "$P")")" "the remembered password"

log "the password changes on the server; the next renewal is refused"
mimir_user alice new-pw
wait_pstate "$P" login_required 15
assert_eq login_required "$(pstatus "$P" .last_error.code)"
assert_contains "$(pstatus "$P" .last_error.message)" "remembered password"
(($(mcp_stats .token_refused) >= 1)) || fail "the server refused no renewal: $(mcp_stats)"
_dead_gone() { [[ -z $(keyring_doc "$P") ]]; }
wait_for "the dead password to leave the keyring" 10 _dead_gone

log "the notification"
wait_for "the notification" 10 test -s "$MM_TMP/notified.jsonl"
n=$(head -n1 "$MM_TMP/notified.jsonl")
log "notified: $n"
assert_eq "Mimir: login required" "$(jqs .summary "$n")"
assert_contains "$(jqs .body "$n")" "$P"
assert_contains "$(jqs .body "$n")" "remembered password stopped working"
# No Sign in action: a password is not something the agent can ask for.
assert_eq 0 "$(jqs '.actions | length' "$n")" "actions on a notification for a Mimir profile"

log "token and status say what to do"
_expired() { ! helper token >/dev/null 2>&1; }
wait_for "the last token to expire" 10 _expired
assert_exit 4 helper token
assert_contains "$ERR" "mimir-helper login --profile $P"
assert_exit 0 helper status
assert_contains "$OUT" "next: login required: run 'mimir-helper login --profile $P'"

log "a login with the new password"
assert_exit 5 helper login --username alice --remember-password <<<"old-pw"
assert_exit 0 helper login --username alice --remember-password <<<"new-pw"
assert_eq alice "$(whoami "$P")"
assert_eq new-pw "$(jqs .secret "$(keyring_doc "$P")")"
assert_eq 1 "$(wc -l <"$MM_TMP/notified.jsonl")" "notifications"
stop_agent
log "ok"
