#!/usr/bin/env bash
# MCP-style discovery (RFC 9728): a profile with only server_url (no issuer).
# The agent calls the server, follows the 401's resource_metadata to the
# protected resource metadata, takes the issuer from authorization_servers and
# logs in there through the real browser.  Without a hint it uses the
# well-known URI; metadata that names no authorization server is idp_error.
. "$(dirname "$0")/../lib.sh"
. "$MM_TOP/tests/lib_oauth.sh"

start_idp

# start_prm NAME ARGS: tests/integration/prm-server.mjs; sets PRM_URL (its /mcp URL).
start_prm() {
    local name=$1
    shift
    node "$MM_TOP/tests/integration/prm-server.mjs" "$@" >"$MM_TMP/$name.json" 2>"$MM_TMP/$name.log" &
    track_pid "$!"
    local pid=$!
    _prm_up() { [[ -s $MM_TMP/$name.json ]] || { pid_gone "$pid" && return 0; return 1; }; }
    wait_for "$name to listen" 15 _prm_up
    PRM_URL=$(jq -r .url "$MM_TMP/$name.json") || fail "$name did not start: $(cat "$MM_TMP/$name.log")"
}
start_prm prm --issuer "$IDP_ISSUER"
URL_OK=$PRM_URL
start_prm prm-nohint --issuer "$IDP_ISSUER" --no-hint
URL_NOHINT=$PRM_URL
start_prm prm-noas
URL_NOAS=$PRM_URL

log "the stand-in server answers 401 with resource_metadata, and serves the metadata"
hdr=$(curl -sS --max-time 5 -o /dev/null -D - "$URL_OK" | tr -d '\r')
assert_contains "$hdr" "HTTP/1.1 401"
assert_contains "$hdr" "WWW-Authenticate: Bearer resource_metadata=\"${URL_OK%/mcp}/.well-known/oauth-protected-resource\""
assert_eq "$IDP_ISSUER" "$(curl -sS --max-time 5 "${URL_OK%/mcp}/.well-known/oauth-protected-resource" | jq -r '.authorization_servers[0]')"

mcp() { jq -cn --arg u "$1" '{kind: "oauth", server_url: $u, client_id: "mimir-cli"}'; }
write_config "$(jq -n --argjson a "$(mcp "$URL_OK")" --argjson b "$(mcp "$URL_NOHINT")" \
    --argjson c "$(mcp "$URL_NOAS")" \
    '{default_profile: "mcp", profiles: {mcp: $a, nohint: $b, noas: $c}}')"
use_login_browser
start_agent_loaded

log "server_url only: login goes through the 401 and the metadata to the IdP"
assert_eq null "$(pstatus mcp .issuer)" "the profile has no issuer"
assert_exit 0 helper login --timeout 60
assert_contains "$OUT" "Signed in as alice (profile mcp"
grep -qx 'GET /mcp' "$MM_TMP/prm.log" || fail "the agent did not call the server: $(cat "$MM_TMP/prm.log")"
grep -qx 'GET /.well-known/oauth-protected-resource' "$MM_TMP/prm.log" ||
    fail "the agent did not read the metadata named by resource_metadata: $(cat "$MM_TMP/prm.log")"
wait_browser_runs 1
[[ $(browser_run 1 | jq -r .url) == "$IDP_ISSUER/auth?"* ]] || fail "the browser did not open the discovered IdP: $(browser_run 1)"
assert_exit 0 helper token
AT=$OUT
token_active "$AT" || fail "the access token is not active: $(introspect "$AT")"
assert_eq alice "$(introspect "$AT" | jq -r .sub)"
doc=$(keyring_doc mcp)
assert_eq refresh_token "$(jqs .kind "$doc")"
token_active "$(jqs .secret "$doc")" || fail "the stored refresh token is not active"
st=$(profile_status mcp)
assert_eq ready "$(jqs .state "$st")"
assert_eq alice "$(jqs .subject "$st")"

log "a restarted agent refreshes through the same discovery"
stop_agent
start_agent_loaded
assert_exit 0 helper token
[[ $OUT != "$AT" ]] && token_active "$OUT" || fail "no fresh active token after the restart"
assert_eq 1 "$(idp_stats refresh_grants)"

log "no resource_metadata hint: the well-known URI of the server is used"
bg_helper nohint login --profile nohint --no-browser --timeout 60
wait_login_url nohint
[[ $LOGIN_URL == "$IDP_ISSUER/auth?"* ]] || fail "not the IdP's authorization URL: $LOGIN_URL"
grep -qx 'GET /.well-known/oauth-protected-resource/mcp' "$MM_TMP/prm-nohint.log" ||
    fail "the well-known URI was not used: $(cat "$MM_TMP/prm-nohint.log")"
assert_exit 0 helper logout --profile nohint # cancels the login
bg_assert_exit nohint 4

log "metadata without authorization_servers: idp_error (exit 5), nothing stored"
assert_exit 5 helper login --profile noas --timeout 30
assert_contains "$ERR" "does not name an authorization server"
assert_eq idp_error "$(pstatus noas .last_error.code)"
[[ -z $(keyring_item noas) ]] || fail "a failed discovery stored something"
assert_eq 1 "$(browser_runs)" "browser runs"
log "ok"
