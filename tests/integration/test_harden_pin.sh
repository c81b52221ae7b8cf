#!/usr/bin/env bash
# A stored credential stays with the server it was given for (hostile
# review, "re-pointing a profile"): a profile signed in to Mimir server A
# with a remembered password is pointed at server B (`login --server B
# --no-login`, what a pasted command or an edited config does).  A's token
# expires; the agent must not renew it by sending the password to B, nor
# send B anything else, and `token` says why.  Signing in again for B works
# and is pinned to B.  (Real agent, keyring and two SDK test servers.)
. "$(dirname "$0")/../lib.sh"
. "$MM_TOP/tests/lib_oauth.sh"
. "$MM_TOP/tests/mcp/lib.sh"
. "$MM_TOP/tests/lib_signin.sh"

start_mimir --users alice:pin-pw-a --token-ttl 4
A=$MCP_BASE P=$MIMIR_PROFILE
start_mimir --users alice:pin-pw-a --token-ttl 60
B=$MCP_BASE
b_stats() { MCP_BASE=$B mcp_stats "$@"; }
start_agent
assert_exit 0 helper login --server "$A" --username alice --remember-password <<<"pin-pw-a"
assert_eq "$A/" "$(jqs .server "$(secret-tool lookup profile "$P")")" "the stored password's server"

log "point the profile at B without signing in; A's token expires"
assert_exit 0 helper login --server "$B" --profile "$P" --mode dev --no-login
sleep 5
assert_exit 4 helper token --profile "$P"
assert_contains "$ERR" "belongs to $A/, and the profile now points at $B/"
assert_exit 4 helper headers --profile "$P"
assert_eq 0 "$(b_stats .token_grants)" "password grants at B"
assert_eq 0 "$(b_stats .token_refused)" "refused password grants at B"
assert_eq 0 "$(b_stats .with_credential)" "requests with a credential at B"
assert_eq "$A/" "$(jqs .server "$(secret-tool lookup profile "$P")")" "the stored password is untouched"

log "signing in for B replaces it, pinned to B"
assert_exit 0 helper login --server "$B" --profile "$P" --username alice --remember-password <<<"pin-pw-a"
assert_exit 0 helper token --profile "$P"
assert_eq 1 "$(b_stats .token_grants)" "password grants at B after signing in there"
assert_eq "$B/" "$(jqs .server "$(secret-tool lookup profile "$P")")" "the stored password's server"
stop_agent
assert_not_in_logs "the password" pin-pw-a
log "ok"
