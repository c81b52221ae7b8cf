#!/usr/bin/env bash
# mcp-config prints, for every client and every kind of profile, exactly
# the entry in tests/golden/mcp-config/CLIENT.txt (stdout, then the hints
# on stderr; the helper's path, HOME and the working directory replaced by
# @HELPER@, @HOME@, @CWD@).  Options may come before or after the client.
# Bad command lines and profiles that cannot work are refused with a reason.
#
# MM_GOLDEN_UPDATE=1 rewrites the golden files from what the helper prints.
. "$(dirname "$0")/../lib.sh"

GOLDEN=$MM_TOP/tests/golden/mcp-config
CLIENTS=(claude-code vscode cursor windsurf claude-desktop generic)
write_config '{
  "default_profile": "work",
  "profiles": {
    "work": {"kind": "oauth", "server_url": "https://mimir.example.com/mcp",
             "issuer": "https://id.example.com", "client_id": "mimir-cli"},
    "key":  {"kind": "api-key", "server_url": "http://127.0.0.1:8080/mcp"},
    "open": {"kind": "none", "server_url": "http://127.0.0.1:8081/mcp"},
    "own":  {"kind": "mimir", "server_url": "https://mimir.example.com/mcp"},
    "nourl": {"kind": "oauth", "issuer": "https://id.example.com", "client_id": "mimir-cli"}
  }
}'
mkdir "$MM_TMP/proj"
cd "$MM_TMP/proj"

# The test environment names the config and socket explicitly; those are
# also where the helper looks by default, and an entry carries them only
# when they are set (checked at the end).
mcfg() { env -u MIMIR_CONFIG -u MIMIR_AGENT_SOCK "$MM_BUILD/mimir-helper" mcp-config "$@"; }

placeholders() {
    sed -e "s|$MM_BUILD/mimir-helper|@HELPER@|g" -e "s|$MM_TMP/proj|@CWD@|g" -e "s|$HOME|@HOME@|g"
}

render() { # CLIENT: every kind of profile, as the golden file has it
    local p
    for p in work key open own; do
        echo "## mcp-config $1 --profile $p"
        mcfg "$1" --profile "$p" >"$MM_TMP/o" 2>"$MM_TMP/e" || fail "mcp-config $1 --profile $p failed: $(cat "$MM_TMP/e")"
        jq -e . "$MM_TMP/o" >/dev/null || fail "mcp-config $1 --profile $p printed no JSON: $(cat "$MM_TMP/o")"
        cat "$MM_TMP/o" "$MM_TMP/e"
    done | placeholders
}

for c in "${CLIENTS[@]}"; do
    log "golden: $c"
    render "$c" >"$MM_TMP/$c.txt"
    if [[ ${MM_GOLDEN_UPDATE:-} == 1 ]]; then
        mkdir -p "$GOLDEN"
        cp "$MM_TMP/$c.txt" "$GOLDEN/$c.txt"
    fi
    [[ -f $GOLDEN/$c.txt ]] || fail "no golden file $GOLDEN/$c.txt (MM_GOLDEN_UPDATE=1 writes it)"
    diff -u "$GOLDEN/$c.txt" "$MM_TMP/$c.txt" >&2 || fail "mcp-config $c differs from $GOLDEN/$c.txt"
done

log "the entries are what each kind needs (not only what the golden files say)"
out=$(mcfg claude-code --profile work 2>/dev/null)
assert_eq "$MM_BUILD/mimir-helper" "$(jqs '.mcpServers.mimir.command' "$out")" "oauth: the proxy, by absolute path"
assert_eq "proxy --profile work" "$(jqs '.mcpServers.mimir.args | join(" ")' "$out")"
out=$(mcfg claude-code --profile key 2>/dev/null)
assert_eq "$MM_BUILD/mimir-helper headers --profile key" "$(jqs '.mcpServers.mimir.headersHelper' "$out")"
out=$(mcfg vscode --profile key 2>/dev/null)
assert_eq stdio "$(jqs '.servers.mimir.type' "$out")" "api-key in VS Code: the proxy (no key in a file)"
out=$(mcfg windsurf --profile open 2>/dev/null)
assert_eq "http://127.0.0.1:8081/mcp" "$(jqs '.mcpServers.mimir.serverUrl' "$out")"
out=$(mcfg claude-desktop --profile open 2>/dev/null)
assert_eq "proxy --profile open" "$(jqs '.mcpServers.mimir.args | join(" ")' "$out")" "Claude Desktop: stdio only"
out=$(mcfg claude-code 2>/dev/null)
assert_eq "proxy --profile work" "$(jqs '.mcpServers.mimir.args | join(" ")' "$out")" "the default profile, named"

log "options before or after the client, in any order, POSIXLY_CORRECT or not"
want=$(mcfg claude-code --profile key --name srv 2>&1)
assert_contains "$want" '"srv": {'
for args in "--profile key claude-code --name srv" "--name srv --profile key claude-code" \
    "claude-code --name=srv -p key" "-pkey --name srv claude-code" "--profile=key --name srv -- claude-code"; do
    # shellcheck disable=SC2086
    got=$(mcfg $args 2>&1) || fail "mcp-config $args failed: $got"
    assert_eq "$want" "$got" "mcp-config $args"
    # shellcheck disable=SC2086
    got=$(POSIXLY_CORRECT=1 mcfg $args 2>&1) || fail "POSIXLY_CORRECT=1 mcp-config $args failed: $got"
    assert_eq "$want" "$got" "POSIXLY_CORRECT=1 mcp-config $args"
done
log "  profile add NAME --kind ... still parses its own options"
assert_exit 0 helper profile add later --kind api-key --url http://127.0.0.1:9/mcp
assert_exit 0 helper profile list
assert_contains "$OUT" "later"$'\t'"api-key"
assert_exit 0 helper profile remove later

log "refusals, each with its reason"
assert_exit 2 mcfg
assert_contains "$ERR" "usage: mimir-helper mcp-config CLIENT"
assert_exit 2 mcfg emacs
assert_contains "$ERR" "unknown client 'emacs' (one of claude-code, vscode, cursor, windsurf, claude-desktop, generic)"
assert_exit 2 mcfg claude-code vscode
assert_exit 2 mcfg claude-code --bogus
assert_exit 2 mcfg claude-code --json
assert_exit 2 mcfg claude-code --name 'two words'
assert_contains "$ERR" "--name"
assert_exit 2 mcfg generic --write
assert_contains "$ERR" "no file of its own"
assert_exit 1 mcfg claude-code --profile nope
assert_contains "$ERR" 'no profile named "nope"'
assert_exit 1 mcfg claude-code --profile nourl
assert_contains "$ERR" "profile nourl has no server_url"
assert_eq "" "$OUT" "nothing on stdout when refused"

log "MIMIR_CONFIG and MIMIR_AGENT_SOCK, when set, travel in the stdio entry"
out=$("$MM_BUILD/mimir-helper" mcp-config cursor 2>/dev/null)
assert_eq "$MIMIR_CONFIG" "$(jqs '.mcpServers.mimir.env.MIMIR_CONFIG' "$out")"
assert_eq "$MIMIR_AGENT_SOCK" "$(jqs '.mcpServers.mimir.env.MIMIR_AGENT_SOCK' "$out")"
log "ok"
