#!/usr/bin/env bash
# A Mimir server with security off (the test MCP server with --security-off:
# an empty /auth/config, every request accepted): `login --server` makes a
# profile of kind none and logs nothing in; `headers` prints {}, `token`
# prints nothing and says why on stderr, status says no credential is
# needed, and the proxy sends no credential at all while the tool call works.
. "$(dirname "$0")/../lib.sh"
. "$MM_TOP/tests/lib_oauth.sh"
. "$MM_TOP/tests/mcp/lib.sh"
. "$MM_TOP/tests/lib_signin.sh"

start_mimir --security-off
start_agent
P=$MIMIR_PROFILE

log "login --server: kind none, nothing to log in to"
assert_exit 0 helper login --server "$MCP_BASE"
assert_contains "$OUT" "Profile $P needs no credential: its server runs with security off."
assert_eq '{"kind":"none","server_url":"'"$MCP_URL"'"}' "$(profile_cfg "$P")"
assert_exit 0 helper login # the profile's own login: nothing to do either
assert_contains "$OUT" "needs no credential"

log "headers {}, token empty with the reason on stderr"
assert_exit 0 helper headers
assert_eq '{}' "$(jq -c . <<<"$OUT")" "headers of a profile without security"
rc=0
tok=$(helper token 2>"$MM_TMP/token.err") || rc=$?
assert_eq "" "$tok" "token prints nothing"
((rc != 0)) || fail "token succeeded without a token to print"
assert_contains "$(cat "$MM_TMP/token.err")" "no credential"

log "status"
assert_exit 0 helper status
assert_contains "$OUT" "mode: no credential (kind none)"
assert_contains "$OUT" "next: no credential needed (security off)"
assert_not_contains "$OUT" "store:"
[[ -z $(keyring_item "$P") ]] || fail "a keyring item for a profile that needs none"

log "the proxy sends no credential, and the tool call works"
mcp_ctl reset >/dev/null
assert_eq anonymous "$(whoami "$P")" "who the server saw"
(($(mcp_stats .auth_ok) >= 2)) || fail "the server saw no requests through the proxy: $(mcp_stats)"
assert_eq 0 "$(mcp_stats .with_credential)" "requests that carried Authorization or X-API-Key"
stop_agent
log "ok"
