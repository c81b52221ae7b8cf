#!/usr/bin/env bash
# The entries mcp-config --write puts into each client's file work as that
# client runs them, against a real MCP server (tests/mcp/server.mjs, which
# accepts only the profile's API key) and the real agent:
#  - stdio entries (vscode, cursor, windsurf, claude-desktop, generic) are
#    launched the way a desktop client does, with a scrubbed environment
#    (no PATH of the user's, no XDG_RUNTIME_DIR, no D-Bus address): the
#    absolute command and the entry's own "env" must be enough; the SDK's
#    client then initializes and calls a tool over the proxy;
#  - Claude Code's headersHelper entry: the SDK's HTTP client with the
#    headers that command prints.
. "$(dirname "$0")/../lib.sh"
. "$MM_TOP/tests/mcp/lib.sh"

KEY="mk_entries_$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"
start_mcp --api-key "$KEY"
write_config "$(jq -n --arg u "$MCP_URL" '{default_profile: "key",
    profiles: {key: {kind: "api-key", server_url: $u}}}')"
start_agent
assert_exit 0 helper set-api-key <<<"$KEY"
NODE=$(command -v node)
mkdir "$MM_TMP/proj"
cd "$MM_TMP/proj"

# run_entry WHAT ENTRY_JSON: the stdio entry as a client launches it.
run_entry() {
    local what=$1 entry=$2 cmd envs=() out
    cmd=$(jq -r '[.command] + .args | join(" ")' <<<"$entry")
    [[ $cmd == /* ]] || fail "$what: the command is not an absolute path: $cmd"
    mapfile -t envs < <(jq -r '.env // {} | to_entries[] | "\(.key)=\(.value)"' <<<"$entry")
    out=$(env -i HOME="$HOME" "${envs[@]}" "$NODE" "$MM_TOP/tests/mcp/client.mjs" \
        --stdio "$cmd" call echo '{"text": "hello through mimir"}' 2>"$MM_TMP/client.err") ||
        fail "$what: the SDK client through '$cmd' failed: $(cat "$MM_TMP/client.err")"
    jq -e '.text == "hello through mimir" and (.isError | not)' <<<"$out" >/dev/null ||
        fail "$what: unexpected answer through the proxy: $out"
    log "  $what: $out"
}

declare -A FILE=([vscode]=$MM_TMP/proj/.vscode/mcp.json [cursor]=$HOME/.cursor/mcp.json
    [windsurf]=$HOME/.codeium/windsurf/mcp_config.json
    [claude-desktop]=$XDG_CONFIG_HOME/Claude/claude_desktop_config.json)
for c in vscode cursor windsurf claude-desktop; do
    log "$c: the written stdio entry, launched with a scrubbed environment"
    assert_exit 0 helper mcp-config "$c" --write
    run_entry "$c" "$(jq -c '(.servers // .mcpServers).mimir' "${FILE[$c]}")"
done
log "generic: the printed entry"
assert_exit 0 helper mcp-config generic
run_entry generic "$(jq -c '.mcpServers.mimir' <<<"$OUT")"

log "claude-code: the headersHelper entry, headers read once as Claude Code does"
assert_exit 0 helper mcp-config claude-code --write
entry=$(jq -c '.mcpServers.mimir' .mcp.json)
out=$(node "$MM_TOP/tests/mcp/client.mjs" --http "$(jq -r .url <<<"$entry")" \
    --headers-cmd "$(jq -r .headersHelper <<<"$entry")" call echo '{"text": "hi"}') ||
    fail "the SDK client with the headersHelper's headers failed: $out"
jq -e '.text == "hi" and (.isError | not)' <<<"$out" >/dev/null || fail "unexpected answer: $out"
(($(mcp_stats .auth_fail) == 0)) || fail "the server refused a credential: $(mcp_stats)"
log "ok"
