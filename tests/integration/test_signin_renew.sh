#!/usr/bin/env bash
# Silent renewal of Mimir's own login with a remembered password: the test
# MCP server issues HS256 JWTs that live 4 s (and refuses them the moment they
# expire, no clock tolerance); the agent renews them with the password from
# the keyring before they expire, while the official SDK client calls tools
# through `mimir-helper proxy` for 5 lifetimes: zero failed calls, several
# distinct tokens seen by the server, status says when the next renewal is.
. "$(dirname "$0")/../lib.sh"
. "$MM_TOP/tests/lib_oauth.sh"
. "$MM_TOP/tests/mcp/lib.sh"
. "$MM_TOP/tests/lib_signin.sh"

TTL=4
start_mimir --users alice:renew-pw --token-ttl $TTL
start_agent
P=$MIMIR_PROFILE
assert_exit 0 helper login --server "$MCP_BASE" --username alice --remember-password <<<"renew-pw"
assert_contains "$OUT" "Signed in as alice (profile $P, token valid until "
assert_contains "$OUT" "The password is kept in the keyring"
TOK=$(helper token)
assert_eq $TTL "$(jwt_claims "$TOK" | jq '.exp - .iat')" "the JWT's lifetime"

log "status: the next renewal"
assert_exit 0 helper status
[[ $OUT =~ next:\ renews\ at\ [0-9]{2}:[0-9]{2}:[0-9]{2} ]] || fail "status without the renewal time: $OUT"
assert_eq true "$(pstatus "$P" .has_credential)" "the remembered password"
at=$(pstatus "$P" .next_refresh_at)
exp=$(pstatus "$P" .access_expires_at)
((at < exp)) || fail "the renewal ($at) is not before the expiry ($exp)"

log "tool calls through the proxy for $((5 * TTL)) s"
mcp_ctl reset >/dev/null
r=$(mcp_client --stdio "$PROXY --profile $P" soak $((5 * TTL)) 50)
log "soak: $(jq -c '{rounds, calls, failures, errors}' <<<"$r")"
assert_eq 0 "$(jq .failures <<<"$r")" "failed tool calls: $(jq -c .errors <<<"$r")"
(($(jq .calls <<<"$r") >= 30)) || fail "too few calls to say anything: $r"
assert_eq '["alice"]' "$(jq -c .who <<<"$r")" "who the server saw"
grants=$(mcp_stats .token_grants)
creds=$(mcp_stats .credentials_ok)
log "password grants during the soak: $grants, distinct tokens accepted: $creds"
((grants >= 4)) || fail "only $grants renewals in $((5 * TTL)) s of $TTL s tokens"
((creds >= 4)) || fail "the server saw only $creds distinct tokens"
assert_eq 0 "$(mcp_stats .auth_fail)" "requests the server refused"
assert_eq 0 "$(mcp_stats .token_refused)" "password grants the server refused"
assert_eq ready "$(pstatus "$P" .state)"
stop_agent
assert_not_in_logs "the password" renew-pw
log "ok"
