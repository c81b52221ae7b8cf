#!/usr/bin/env bash
# The stdio proxy keeps MCP clients working across many access-token
# lifetimes, with nothing copied anywhere.  Everything is real: the IdP
# (4 s access tokens, rotating refresh tokens, no clock tolerance), chromium
# for the one login, gnome-keyring, mimir-agent, an MCP server built with the
# official SDK that accepts only tokens the IdP's userinfo endpoint accepts,
# and the SDK's own client speaking stdio to `mimir-helper proxy`.
#
# Two clients at once for 6 token lifetimes, each its own proxy and session:
# one answered over SSE, asking for the SDK's latest protocol; one answered
# with JSON bodies, asking for 2024-11-05 (Mimir's).  Zero failed calls, the
# server never saw a bad credential, and it saw several different tokens.
. "$(dirname "$0")/../lib.sh"
. "$MM_TOP/tests/lib_oauth.sh"
. "$MM_TOP/tests/lib_refresh.sh"
. "$MM_TOP/tests/mcp/lib.sh"

TTL=${TTL:-4}
SOAK=${SOAK:-$((6 * TTL))}
oauth_world --access-ttl "$TTL" --rotate-refresh
rg0=$(idp_stats refresh_grants)

log "two MCP clients through the proxy for ${SOAK}s (access tokens live ${TTL}s)"
repl_start sse --stdio "$PROXY --profile work $MCP_URL"
repl sse 30 list >/dev/null # initialized, in an SSE session
mcp_ctl config '{"json": true}' >/dev/null
repl_start json --protocol 2024-11-05 --stdio "$PROXY --profile work $MCP_URL"
repl json 30 list >/dev/null
repl_send sse soak "$SOAK" 50
repl_send json soak "$SOAK" 50
a=$(repl_answer sse $((SOAK + 30)) 2)
b=$(repl_answer json $((SOAK + 30)) 2)
log "sse:  $(jq -c '{rounds, calls, failures, who}' <<<"$a")"
log "json: $(jq -c '{rounds, calls, failures, who}' <<<"$b")"
for r in "$a" "$b"; do
    assert_eq 0 "$(jq -r .failures <<<"$r")" "failed calls: $(jq -c .errors <<<"$r")"
    (($(jq -r .calls <<<"$r") >= 30)) || fail "too few calls to prove anything: $r"
    assert_eq '["alice"]' "$(jq -c .who <<<"$r")" "whoami through the proxy"
done
repl_end sse
repl_end json

st=$(mcp_stats)
log "server: $(jq -c '{requests, auth_ok, auth_fail, auth_missing, credentials_ok, protocol_versions}' <<<"$st")"
assert_eq 0 "$(jq -r '.auth_fail + .auth_missing' <<<"$st")" "requests with a bad or no credential"
(($(jq -r .credentials_ok <<<"$st") >= 4)) ||
    fail "the server saw $(jq -r .credentials_ok <<<"$st") distinct tokens over $((SOAK / TTL)) lifetimes"
(($(idp_stats refresh_grants) - rg0 >= 4)) || fail "the agent refreshed only $(($(idp_stats refresh_grants) - rg0)) times"
(($(jq -r '.protocol_versions["2024-11-05"] // 0' <<<"$st") > 0)) ||
    fail "no request carried MCP-Protocol-Version 2024-11-05: $(jq -c .protocol_versions <<<"$st")"
(($(jq -r '.protocol_versions["2025-11-25"] // 0' <<<"$st") > 0)) ||
    fail "no request carried MCP-Protocol-Version 2025-11-25: $(jq -c .protocol_versions <<<"$st")"
assert_eq 2 "$(jq -r .sessions_deleted <<<"$st")" "sessions ended with DELETE at the end of input"
assert_eq 1 "$(browser_runs)" "browser logins"
log "ok"
