#!/usr/bin/env bash
# mimir-helper doctor against a real setup: the test IdP on https (its own
# self-signed certificate, trusted through the profile's ca_file), a real
# browser login, the real keyring, the test MCP server accepting that IdP's
# tokens, and a Cursor config written by mcp-config.  Healthy: every check
# passes, exit 0, and --json says the same.  Then each thing doctor claims to
# detect is broken for real, one at a time, and its ✗ line (with the fix) is
# shown, exit 1:
#   TLS         the profile without ca_file (the system CAs do not know the cert)
#   clock       this machine's clock 5 minutes ahead of the IdP (faketime on
#               mimir-proxy, which reads the IdP's Date header)
#   identity provider  an issuer where nothing listens
#   credential  logged out (login required)
#   MCP server  the server gone; and one that refuses the credential
#   MCP client  Cursor's entry running 'mimir-helper' by name, a path that does
#               not exist, another helper than this one
. "$(dirname "$0")/../lib.sh"
. "$MM_TOP/tests/lib_oauth.sh"
. "$MM_TOP/tests/lib_refresh.sh"
. "$MM_TOP/tests/mcp/lib.sh"
. "$MM_TOP/tests/lib_doctor.sh"

cert=$MM_TMP/idp-cert.pem
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
    -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 \
    -keyout "$MM_TMP/idp-key.pem" -out "$cert" 2>"$MM_TMP/openssl.log" ||
    fail "openssl could not make a certificate: $(cat "$MM_TMP/openssl.log")"
start_idp --cert "$cert" --key "$MM_TMP/idp-key.pem"
NODE_EXTRA_CA_CERTS=$cert start_mcp --issuer "$IDP_ISSUER"
write_oauth_config work "{\"ca_file\":\"$cert\",\"server_url\":\"$MCP_URL\"}"
use_login_browser
start_agent_loaded
login_profile work
(cd "$MM_TMP" && helper mcp-config cursor --write >/dev/null) || fail "mcp-config cursor --write failed"

log "healthy"
doctor
((RC == 0)) || fail "doctor failed on a healthy setup (exit $RC):"$'\n'"$OUT"$'\n'"$ERR"
for c in config "socket directory" agent store browser; do line ✓ "$c" >/dev/null; done
for c in credential "identity provider" TLS clock "MCP server"; do line ✓ "$c" work >/dev/null; done
assert_contains "$(line ✓ TLS work)" "verified against $cert"
assert_contains "$(line ✓ "MCP server" work)" "answered an authenticated initialize"
assert_contains "$(line ✓ credential work)" "signed in as alice"
assert_contains "$(line ✓ "MCP client")" "$MM_TMP/home/.cursor/mcp.json: server \"mimir\" runs $MM_BUILD/mimir-helper"
assert_not_contains "$OUT" "✗"
assert_contains "$OUT" "All checks passed."
log "$(wc -l <<<"$OUT") lines, all passed"
doctor --json
((RC == 0)) || fail "doctor --json failed on a healthy setup: $OUT"
assert_eq true "$(jqs .ok "$OUT")" "--json ok"
assert_eq 0 "$(jqs '[.checks[] | select(.status == "fail")] | length' "$OUT")" "--json failures"
assert_eq pass "$(jqs '.checks[] | select(.check == "clock" and .profile == "work") | .status' "$OUT")"

log "TLS: the profile without its ca_file"
cfg=$(cat "$MIMIR_CONFIG")
jq 'del(.profiles.work.ca_file)' <<<"$cfg" >"$MIMIR_CONFIG"
doctor --profile work
broken TLS work
assert_contains "$OUT" "--ca-file"
doctor --json --profile work
assert_eq fail "$(jqs '.checks[] | select(.check == "TLS") | .status' "$OUT")" "--json TLS"
assert_eq false "$(jqs .ok "$OUT")"
printf '%s\n' "$cfg" >"$MIMIR_CONFIG"

log "clock: 5 minutes ahead of the identity provider"
if command -v faketime >/dev/null; then
    # Only mimir-proxy, which reads the IdP's Date and our clock, runs 5
    # minutes ahead (an ASan build must be told that faketime is preloaded).
    printf '#!/bin/sh\nASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0 exec faketime -f +300s "%s" "$@"\n' \
        "$MM_BUILD/mimir-proxy" >"$MM_TMP/proxy-ahead"
    chmod +x "$MM_TMP/proxy-ahead"
    DOCTOR_ENV=(MIMIR_PROXY_BIN="$MM_TMP/proxy-ahead")
    doctor --profile work
    DOCTOR_ENV=()
    broken clock work
    assert_contains "$(line ✗ clock work)" "ahead of the identity provider's"
else
    log "faketime is not installed: the clock check is not broken here"
fi

log "identity provider: nothing listens at the issuer"
dead=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
jq --arg i "https://127.0.0.1:$dead" '.profiles.down = (.profiles.work + {issuer: $i})' \
    <<<"$cfg" >"$MIMIR_CONFIG"
helper reload >/dev/null
doctor --profile down
broken "identity provider" down
assert_contains "$(line ✗ "identity provider" down)" "127.0.0.1:$dead"
line - TLS down >/dev/null
broken credential down # never signed in
printf '%s\n' "$cfg" >"$MIMIR_CONFIG"
helper reload >/dev/null

log "MCP server: refuses the credential, then gone"
kill "$MCP_PID"
wait_for "the MCP server to stop" 10 pid_gone "$MCP_PID"
start_mcp --issuer "https://127.0.0.1:$dead" # accepts no token of this IdP
jq --arg u "$MCP_URL" '.profiles.work.server_url = $u' <<<"$cfg" >"$MIMIR_CONFIG"
helper reload >/dev/null
doctor --profile work
broken "MCP server" work
log "    ($(line ✗ "MCP server" work))"
kill "$MCP_PID"
wait_for "the MCP server to stop" 10 pid_gone "$MCP_PID"
doctor --profile work
broken "MCP server" work

log "credential: logged out"
helper logout --profile work >/dev/null
doctor --profile work
broken credential work
assert_contains "$OUT" "fix: mimir-helper login --profile work"
line - "MCP server" work >/dev/null

log "MCP client: Cursor's entry"
cursor=$MM_TMP/home/.cursor/mcp.json
good=$(cat "$cursor")
jq '.mcpServers.mimir.command = "mimir-helper"' <<<"$good" >"$cursor"
doctor --profile none-such
broken "MCP client"
assert_contains "$(line ✗ "MCP client")" "runs 'mimir-helper' by name"
assert_contains "$OUT" "fix: mimir-helper mcp-config cursor --write"
jq --arg p "$MM_TMP/gone/mimir-helper" '.mcpServers.mimir.command = $p' <<<"$good" >"$cursor"
doctor --profile none-such
assert_contains "$(line ✗ "MCP client")" "which does not exist"
mkdir -p "$MM_TMP/other" && cp "$MM_BUILD/mimir-helper" "$MM_TMP/other/"
jq --arg p "$MM_TMP/other/mimir-helper" '.mcpServers.mimir.command = $p' <<<"$good" >"$cursor"
doctor --profile none-such
assert_contains "$(line ✗ "MCP client")" "not this helper"
log "PASS"
