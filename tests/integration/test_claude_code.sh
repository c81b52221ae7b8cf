#!/usr/bin/env bash
# Claude Code's own CLI (tests/clients, pinned in its lockfile) connects to a
# real MCP server (tests/mcp/server.mjs, the official SDK, accepting only
# what the test IdP validates or the API key it was given) through the
# entries `mimir-helper mcp-config claude-code --write` wrote into a
# project's .mcp.json, with a private HOME and no API key for Claude itself:
#  - an api-key profile: headersHelper; `claude mcp list` says Connected,
#    and says so no longer once the key is logged out (so the helper is what
#    connects it);
#  - an OAuth profile: the stdio proxy; Connected, also after the first
#    access token expired; not Connected once logged out;
#  - the `claude mcp add-json --scope user` line mcp-config prints, run as
#    printed, connects from any directory.
. "$(dirname "$0")/../lib.sh"
. "$MM_TOP/tests/lib_oauth.sh"
. "$MM_TOP/tests/lib_refresh.sh"
. "$MM_TOP/tests/mcp/lib.sh"

CLAUDE=$MM_TOP/tests/clients/node_modules/.bin/claude
[[ -x $CLAUDE ]] || fail "Claude Code's CLI is missing: run tests/deps.sh (npm ci in tests/clients)"
# Nothing of Claude's may reach the network, update itself or ask for a login.
export DISABLE_AUTOUPDATER=1 DISABLE_TELEMETRY=1 DISABLE_ERROR_REPORTING=1 \
    CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1
unset ANTHROPIC_API_KEY CLAUDE_CONFIG_DIR

TTL=4
KEY="mk_claude_$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"
start_idp --access-ttl "$TTL"

log "the MCP server: Bearer tokens the IdP accepts, or the X-API-Key of profile key"
start_mcp --issuer "$IDP_ISSUER" --api-key "$KEY"

write_config "$(jq -n --argjson w "$(oauth_profile_json work "{\"server_url\": \"$MCP_URL\"}")" \
    --arg u "$MCP_URL" '{default_profile: "work",
    profiles: {work: $w, key: {kind: "api-key", server_url: $u}}}')"
use_login_browser
start_agent_loaded
assert_exit 0 helper set-api-key --profile key <<<"$KEY"

PROJ=$MM_TMP/proj
mkdir "$PROJ"
cd "$PROJ"

# Claude Code waits for a person to approve a project's .mcp.json servers;
# the test approves them the way that dialog would.
trust_project() {
    local cj=$HOME/.claude.json
    [[ -f $cj ]] || echo '{}' >"$cj"
    jq --arg d "$PROJ" '.projects[$d].hasTrustDialogAccepted = true' "$cj" >"$cj.new"
    mv "$cj.new" "$cj"
    mkdir -p "$PROJ/.claude"
    echo '{"enabledMcpjsonServers": ["mimir"]}' >"$PROJ/.claude/settings.local.json"
}

# claude_list [DIR]: `claude mcp list` there; the line of server mimir in $LINE
LINE=
claude_list() {
    local out
    out=$(cd "${1:-$PROJ}" && timeout 120 "$CLAUDE" mcp list 2>&1) ||
        fail "claude mcp list failed: $out"
    LINE=$(grep '^mimir: ' <<<"$out" || true)
    [[ -n $LINE ]] || fail "claude mcp list does not list mimir: $out"
    log "  claude mcp list: $LINE"
}

assert_connected() {
    claude_list "${2:-}"
    assert_contains "$LINE" "✔ Connected" "$1"
}

assert_not_connected() {
    claude_list
    assert_not_contains "$LINE" "Connected" "$1"
}

log "api-key profile: mcp-config claude-code --write, headersHelper"
assert_exit 0 helper mcp-config claude-code --profile key --write
assert_contains "$OUT" "Created $PROJ/.mcp.json with server \"mimir\""
assert_eq "$MM_BUILD/mimir-helper headers --profile key" \
    "$(jq -r .mcpServers.mimir.headersHelper .mcp.json)" "the entry written"
claude_list
assert_contains "$LINE" "Pending approval" "before the project is trusted"
trust_project
assert_connected "api-key profile through headersHelper"
assert_contains "$LINE" "$MCP_URL (HTTP)"
log "  logged out: no key, no connection"
assert_exit 0 helper logout --profile key
assert_not_connected "api-key profile after logout"
assert_exit 0 helper set-api-key --profile key <<<"$KEY"
assert_connected "api-key profile with the key stored again"

log "OAuth profile: mcp-config claude-code --write replaces the entry with the stdio proxy"
login_profile work
assert_exit 0 helper mcp-config claude-code --write
assert_contains "$OUT" "Replaced server \"mimir\" in $PROJ/.mcp.json"
assert_eq "proxy --profile work" "$(jq -r '.mcpServers.mimir.args | join(" ")' .mcp.json)"
assert_connected "OAuth profile through the stdio proxy"
assert_contains "$LINE" "$MM_BUILD/mimir-helper proxy --profile work"
first=$(pstatus work .access_expires_at)
_expired() { (($(now_s) > first + 1)); }
wait_for "the first access token to expire" $((TTL + 5)) _expired
assert_connected "OAuth profile after the first token expired"
log "  logged out: not connected"
assert_exit 0 helper logout --profile work
assert_not_connected "OAuth profile after logout"
login_profile work

log "the printed 'claude mcp add-json --scope user' line, run as printed, works from anywhere"
assert_exit 0 helper mcp-config claude-code --profile key
line=$(grep '^# or, for every project: claude mcp add-json --scope user mimir ' <<<"$ERR") ||
    fail "no add-json line in: $ERR"
rm -f "$PROJ/.mcp.json"
elsewhere=$MM_TMP/elsewhere
mkdir "$elsewhere"
(cd "$elsewhere" && eval "\"\$CLAUDE\" ${line#\# or, for every project: claude }") >"$MM_TMP/add.out" 2>&1 ||
    fail "the add-json line failed: $(cat "$MM_TMP/add.out")"
assert_connected "the server added with add-json --scope user" "$elsewhere"
log "ok"
