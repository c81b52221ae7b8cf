#!/usr/bin/env bash
# Calls through the proxy are independent of each other (real IdP, keyring,
# agent, browser, SDK server and client):
#  1. a slow tool call and ten fast calls (ping, echo) in one session: every
#     fast one is answered while the slow one is still running;
#  2. a call the server refuses (401) makes the agent refresh, and the IdP
#     takes 3 s over that refresh: a call made meanwhile is answered at once
#     (the agent serves the still-valid token on another connection; one
#     connection answering in order would hold it behind the refresh), and
#     the refused call then goes through with the new token.
. "$(dirname "$0")/../lib.sh"
. "$MM_TOP/tests/lib_oauth.sh"
. "$MM_TOP/tests/lib_refresh.sh"
. "$MM_TOP/tests/mcp/lib.sh"

oauth_world --access-ttl 300 --rotate-refresh
repl_start c --stdio "$PROXY --profile work $MCP_URL"
repl c 30 ping >/dev/null

log "1. one slow call, ten fast ones"
r=$(repl c 30 parallel 3000 10)
log "parallel: $r"
assert_eq true "$(jq -r .fast_before_slow <<<"$r")" "fast calls answered before the slow one"
(($(jq -r .slow_ms <<<"$r") >= 3000)) || fail "the slow call was not slow: $r"
(($(jq -r .fast_ms_max <<<"$r") < 2000)) || fail "fast calls took too long: $r"

log "2. a refused call waits for a slow refresh; another call does not"
rg0=$(idp_stats refresh_grants)
idp_ctl fault '{"endpoint":"token","mode":"delay","ms":3000,"grant_type":"refresh_token","count":1}' >/dev/null
mcp_ctl reject-next '{"count":1}' >/dev/null
repl c 5 bg refused call whoami >/dev/null
_refreshing() { (($(idp_stats refresh_grants) > rg0)); }
wait_for "the forced refresh to reach the IdP" 10 _refreshing
repl c 5 bg other call echo '{"text":"meanwhile"}' >/dev/null
b=$(repl c 10 wait other)
a=$(repl c 20 wait refused)
log "refused call: $a"
log "other call:   $b"
assert_eq meanwhile "$(jq -r .text <<<"$b")" "the call made during the refresh"
assert_eq alice "$(jq -r .text <<<"$a")" "the refused call, sent again"
(($(jq -r .ms <<<"$b") < 1500)) || fail "the call made during the refresh waited for it: $b"
(($(jq -r .ms <<<"$a") >= 2500)) || fail "the refused call did not wait for the refresh: $a"
assert_eq $((rg0 + 1)) "$(idp_stats refresh_grants)" "refresh grants"
assert_eq 1 "$(mcp_stats .auth_fail)" "requests the server refused"
assert_eq 2 "$(mcp_stats .credentials_ok)" "distinct tokens the server accepted"
repl_end c
log "ok"
