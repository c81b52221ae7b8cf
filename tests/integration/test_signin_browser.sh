#!/usr/bin/env bash
# The helper opens the browser for an OAuth login, with its own environment:
# the agent runs without $BROWSER (as one started earlier, or by systemd,
# would) and is never asked to open one.  Real IdP, chromium, keyring, agent,
# and the test MCP server offering only OAuth (its oauthProviders list the
# IdP):
#  - `BROWSER=... mimir-helper login --server URL --client-id ID` signs in;
#    the browser ran with the helper's environment (MIMIR_TEST_USER=carol
#    only there), the agent started none; a tool call through the proxy is
#    carol's; status says the mode and when it renews;
#  - --no-browser only prints the address; a $BROWSER that cannot run is
#    reported and the address printed, and the login still completes.
. "$(dirname "$0")/../lib.sh"
. "$MM_TOP/tests/lib_oauth.sh"
. "$MM_TOP/tests/mcp/lib.sh"
. "$MM_TOP/tests/lib_signin.sh"

start_idp
start_mimir --issuer "$IDP_ISSUER" --oauth-providers
[[ -z ${BROWSER:-}${DISPLAY:-} ]] || fail "the test environment has \$BROWSER or a display"
start_agent_loaded --verbose # without $BROWSER; logs "started browser" if it ever opens one
[[ $(tr '\0' '\n' <"/proc/$MM_AGENT_PID/environ") != *BROWSER=* ]] || fail "the agent has \$BROWSER"
P=$MIMIR_PROFILE
use_login_browser

log "login --server: the helper opens \$BROWSER from its own environment"
assert_exit 0 env MIMIR_TEST_USER=carol "$MM_BUILD/mimir-helper" login --server "$MCP_BASE" \
    --client-id mimir-cli --timeout 60
assert_contains "$OUT" "Profile $P ($MCP_URL: OAuth sign-in at an identity provider) saved"
assert_contains "$OUT" "Signed in as carol (profile $P, token valid until "
assert_contains "$ERR" "Opening the browser to sign in (profile $P)"
wait_browser_runs 1
assert_eq ok "$(jqs .outcome "$(browser_run 1)")" "the browser's outcome"
assert_eq 1 "$(browser_starts)" "browsers the helper started"
[[ $(head -n1 "$MM_TMP/browser.starts") == "$IDP_ISSUER/auth?"* ]] ||
    fail "the browser got $(head -n1 "$MM_TMP/browser.starts")"
if grep -q 'started browser' "$MM_AGENT_LOG"; then fail "the agent started a browser"; fi
assert_eq "{\"kind\":\"oauth\",\"server_url\":\"$MCP_URL\",\"issuer\":\"$IDP_ISSUER\",\"client_id\":\"mimir-cli\"}" \
    "$(profile_cfg "$P")"
assert_eq carol "$(whoami "$P")" "a tool call through the proxy"
assert_exit 0 helper status
assert_contains "$OUT" "mode: OAuth sign-in at an identity provider (kind oauth)"
[[ $OUT =~ next:\ renews\ at\ [0-9:]{8} ]] || fail "status without the renewal: $OUT"
assert_contains "$OUT" "store: keyring"

log "--no-browser: only the address"
bg_helper nb login --no-browser --timeout 60
wait_login_url nb
assert_contains "$(cat "$MM_TMP/nb.err")" "Open this address in a browser to sign in (profile $P)"
run_login_browser "$LOGIN_URL"
bg_assert_exit nb 0
assert_contains "$OUT" "Signed in as alice"
assert_eq 1 "$(browser_starts)" "browsers started with --no-browser"

log "a \$BROWSER that cannot run: said, and the address is still there"
BROWSER=$MM_TMP/no-such-browser bg_helper bad login --timeout 60
wait_login_url bad
assert_contains "$(cat "$MM_TMP/bad.err")" "cannot start $MM_TMP/no-such-browser: No such file or directory"
assert_contains "$(cat "$MM_TMP/bad.err")" "Open this address in a browser to sign in"
run_login_browser "$LOGIN_URL"
bg_assert_exit bad 0
if grep -q 'started browser' "$MM_AGENT_LOG"; then fail "the agent started a browser"; fi
stop_agent
log "ok"
