#!/usr/bin/env bash
# The proxy verifies the MCP server's certificate (an https SDK test server
# with a self-signed certificate for IP 127.0.0.1, made here with openssl;
# api-key profiles; agent and keyring real):
#  - with the profile's ca_file the session works over TLS;
#  - without it (the system's trust store) nothing is sent: the client is
#    told about the certificate, and the server saw no request at all.
. "$(dirname "$0")/../lib.sh"
. "$MM_TOP/tests/mcp/lib.sh"

log "a self-signed certificate for IP 127.0.0.1"
self_signed_cert "$MM_TMP/key.pem" "$MM_TMP/cert.pem"
apikey_world untrusted --cert "$MM_TMP/cert.pem" --key "$MM_TMP/key.pem"
[[ $MCP_URL == https://127.0.0.1:* ]] || fail "the MCP server is not on https: $MCP_URL"
curl -sS --max-time 5 -o /dev/null -X POST "$MCP_URL" 2>/dev/null &&
    fail "the system trust store accepts the self-signed certificate; the test proves nothing"
jq --arg ca "$MM_TMP/cert.pem" '.profiles.trusted = (.profiles.untrusted + {ca_file: $ca})' \
    "$MIMIR_CONFIG" >"$MM_TMP/cfg" && cp "$MM_TMP/cfg" "$MIMIR_CONFIG"
helper reload >/dev/null
helper set-api-key --profile trusted >/dev/null <<<"$KEY"

log "with the profile's ca_file"
r=$(mcp_client --stdio "$PROXY --profile trusted" smoke)
assert_eq '"api-key" "hello through mimir"' "$(jq -r '"\(.who | tojson) \(.echo | tojson)"' <<<"$r")" \
    "a session over TLS"

log "without it"
requests=$(mcp_stats .requests)
rc=0
mcp_client --stdio "$PROXY --profile untrusted" smoke >"$MM_TMP/u.out" 2>"$MM_TMP/u.err" || rc=$?
assert_eq 1 "$rc" "the client's exit status"
grep -q "certificate.*needs ca_file in profile untrusted" "$MM_TMP/u.err" || fail "the client was not told about the certificate: $(cat "$MM_TMP/u.err")"
assert_eq "$requests" "$(mcp_stats .requests)" "requests that reached the server"
log "ok"
