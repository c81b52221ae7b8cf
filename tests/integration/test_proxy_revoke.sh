#!/usr/bin/env bash
# When the server refuses a credential, the proxy recovers in the same MCP
# session, or tells the client exactly what to do (real IdP, keyring, agent,
# browser, SDK server and client):
#  1. the access token is revoked at the IdP in the middle of a stream of
#     calls (tokens live 5 minutes, so nothing else would refresh it): the
#     server answers 401 once, the proxy asks the agent naming the refused
#     token, the agent refreshes at once, the call is sent again; the client
#     sees zero failures;
#  2. the refresh token is revoked too: the next call fails with a JSON-RPC
#     error telling the user to run 'mimir-helper login --profile work';
#  3. after that login, the same running session works again.
. "$(dirname "$0")/../lib.sh"
. "$MM_TOP/tests/lib_oauth.sh"
. "$MM_TOP/tests/lib_refresh.sh"
. "$MM_TOP/tests/mcp/lib.sh"

oauth_world --access-ttl 300 --rotate-refresh
repl_start c --stdio "$PROXY --profile work $MCP_URL"
assert_eq '{"text":"alice","isError":false}' "$(repl c 30 call whoami)" "whoami through the proxy"

log "1. revoke the access token while calls are running"
at=$(helper token --profile work)
rg0=$(idp_stats refresh_grants)
ok0=$(mcp_stats .auth_ok)
repl_send c soak 6 50
_calls_flowing() { (($(mcp_stats .auth_ok) >= ok0 + 20)); }
wait_for "calls to flow through the proxy" 20 _calls_flowing
revoke_token "$at"
log "revoked the access token after $(($(mcp_stats .auth_ok) - ok0)) requests"
r=$(repl_answer c 30)
log "soak: $(jq -c '{calls, failures, errors}' <<<"$r")"
assert_eq 0 "$(jq -r .failures <<<"$r")" "failed calls around the revocation"
st=$(mcp_stats)
(($(jq -r .auth_fail <<<"$st") >= 1)) || fail "the server never refused the revoked token: the test proved nothing"
assert_eq 2 "$(jq -r .credentials_ok <<<"$st")" "distinct tokens the server accepted"
assert_eq $((rg0 + 1)) "$(idp_stats refresh_grants)" "refresh grants: one forced refresh"
assert_eq false "$(introspect_active "$at")" "the revoked token"
at2=$(helper token --profile work)
[[ $at2 != "$at" ]] || fail "the agent still serves the revoked token"
introspect_ok "$at2" "the token after the forced refresh"

log "2. revoke the refresh token (and the access token): the client is told to sign in"
fail0=$(mcp_stats .auth_fail)
revoke_token "$(stored_rt work)"
revoke_token "$at2"
r=$(repl c 30 call whoami)
log "answer: $r"
assert_eq -32000 "$(jq -r .error.code <<<"$r")" "JSON-RPC error code"
assert_contains "$(jq -r .error.message <<<"$r")" "mimir-helper login --profile work" "the error says what to do"
assert_eq login_required "$(jq -r .error.data.reason <<<"$r")" "the error's reason"
assert_eq $((fail0 + 1)) "$(mcp_stats .auth_fail)" "requests the server refused (the dead token, once)"
wait_pstate work login_required 10
grep -q "login --profile work" "$MM_TMP/c.err" || fail "nothing on the proxy's stderr: $(cat "$MM_TMP/c.err")"

log "3. sign in again: the same session carries on"
login_profile work
assert_eq '{"text":"alice","isError":false}' "$(repl c 30 call whoami)" "whoami after signing in again"
repl_end c
assert_eq 2 "$(browser_runs)" "browser logins"
log "ok"
